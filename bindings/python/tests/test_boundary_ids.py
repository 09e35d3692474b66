"""Issue 17, item 3: missing ids are errors, whole-number float ids stay integers, and
the index type of a customer table depends on the ids, never on the path they came
through (DataFrame, arrays, TransactionLog.read_csv, CustomerStream, the command's
output read back by pandas)."""
import io

import numpy as np
import pandas as pd
import pytest

import churn

CSV = """customer_id,date,amount
51469,2024-01-02,10.0
51469,2024-01-20,12.5
7,2024-01-05,3.0
120,2024-02-01,8.0
7,2024-02-11,4.0
"""
CUTOFF = "2024-02-29"


@pytest.fixture(scope="module")
def frame():
    return pd.read_csv(io.StringIO(CSV))  # ids int64


def _table(data, **kw):
    return churn.customer_table(data, cutoff=CUTOFF, **kw)


# ---- missing ids ------------------------------------------------------------------------
def test_nan_in_a_float_id_column_is_an_error(frame):
    df = frame.astype({"customer_id": float})
    df.loc[2, "customer_id"] = np.nan
    with pytest.raises(ValueError, match=r"column 'customer_id', row 2: customer id is "
                                         r"missing \(nan\)"):
        _table(df)


def test_none_in_an_object_id_column_is_an_error(frame):
    df = frame.astype({"customer_id": object})
    df.loc[3, "customer_id"] = None
    with pytest.raises(ValueError, match=r"row 3: customer id is missing \(None\)"):
        _table(df)


def test_missing_id_names_the_index_label(frame):
    df = frame.astype({"customer_id": float}).set_axis([100, 101, 102, 103, 104])
    df.loc[104, "customer_id"] = np.nan
    with pytest.raises(ValueError, match=r"row 4 \(index 104\): customer id is missing"):
        _table(df)


def test_pd_na_in_a_nullable_id_column_is_an_error(frame):
    df = frame.astype({"customer_id": "Int64"})
    df.loc[0, "customer_id"] = pd.NA
    with pytest.raises(ValueError, match=r"row 0: customer id is missing"):
        _table(df)


def test_missing_id_in_arrays_and_streams(frame):
    with pytest.raises(ValueError, match=r"column 'customer', row 1: customer id is missing"):
        churn.TransactionLog.from_arrays(["a", None], ["2024-01-01"] * 2, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"customer id is missing"):
        churn.TransactionLog().add(np.nan, "2024-01-01", 1.0)
    with churn.CustomerStream(cutoff=CUTOFF) as s:
        with pytest.raises(ValueError, match=r"column 'customer_id', row 0: customer id is "
                                             r"missing"):
            s.add(frame.assign(customer_id=[None, 1, 2, 3, 4]))


# ---- whole-number floats ----------------------------------------------------------------
def test_whole_number_float_ids_stay_integers(frame):
    as_float = _table(frame.astype({"customer_id": float}))
    as_int = _table(frame)
    assert as_float.index.dtype == np.int64
    pd.testing.assert_frame_equal(as_float, as_int)


def test_float_ids_after_a_merge_join_the_integer_ids(frame):
    # orders whose customer comes from a left merge: one order has no match, so pandas
    # turns the integer ids into float64 with a NaN
    orders = frame.drop(columns="customer_id").assign(order_id=[10, 11, 12, 13, 14])
    owner = pd.DataFrame({"order_id": [10, 11, 12, 14], "customer_id": [51469, 51469, 7, 7]})
    tx = orders.merge(owner, on="order_id", how="left")
    assert tx["customer_id"].dtype == np.float64
    with pytest.raises(ValueError, match=r"row 3: customer id is missing \(nan\)"):
        _table(tx)
    t = _table(tx.dropna(subset=["customer_id"]))
    assert t.index.dtype == np.int64 and list(t.index) == [51469, 7]
    segments = pd.DataFrame({"segment": ["a", "b"]}, index=pd.Index([7, 51469]))
    assert list(t.join(segments)["segment"]) == ["b", "a"]  # '51469.0' would not join


def test_fractional_float_id_is_an_error(frame):
    df = frame.astype({"customer_id": float})
    df.loc[1, "customer_id"] = 51469.5
    with pytest.raises(ValueError, match=r"row 1: customer id 51469.5 is not a whole number"):
        _table(df)


# ---- the index type depends on the ids, not on the path ------------------------------------
def test_read_csv_and_dataframe_give_the_same_index(frame, tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text(CSV)
    from_file = _table(churn.TransactionLog.read_csv(path))
    from_frame = _table(frame)
    from_text_frame = _table(frame.astype({"customer_id": str}))
    from_arrays = _table(churn.TransactionLog.from_arrays(
        frame["customer_id"].tolist(), frame["date"].tolist(), frame["amount"].tolist()))
    for t in (from_file, from_text_frame, from_arrays):
        assert t.index.dtype == np.int64
        pd.testing.assert_frame_equal(t, from_frame)
    assert from_file.loc[51469, "frequency"] == 1


def test_stream_gives_the_same_index(frame, tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text(CSV)
    cols = ["frequency", "recency", "T"]
    a = churn.CustomerStream(cutoff=CUTOFF, columns=cols).read_csv(path).finish()
    b = churn.CustomerStream(cutoff=CUTOFF, columns=cols).add(frame).finish()
    c = _table(frame, columns=cols)
    assert a.index.dtype == b.index.dtype == np.int64
    pd.testing.assert_frame_equal(a, c)
    pd.testing.assert_frame_equal(b, c)


def test_command_output_joins_the_python_table(frame, tmp_path, run_churn):
    path = tmp_path / "tx.csv"
    path.write_text(CSV)
    p = run_churn("features", path, "--cutoff", CUTOFF)
    cmd = pd.read_csv(io.StringIO(p.stdout)).set_index("customer_id")
    py = _table(churn.TransactionLog.read_csv(path))
    assert cmd.index.dtype == py.index.dtype == np.int64
    pd.testing.assert_series_equal(cmd.loc[py.index, "frequency"], py["frequency"],
                                   check_dtype=False)


def test_leading_zeros_keep_text_ids(cdnow_log, cdnow_path):
    t = churn.customer_table(cdnow_log, cutoff="1997-09-30", unit="week")
    assert t.index.dtype == object and t.index[0] == "00004"
    df = pd.read_csv(cdnow_path, sep=r"\s+", header=None, dtype={0: str},
                     names=["customer_id", "sample_id", "date", "cds", "amount"])
    t2 = churn.customer_table(df, cutoff="1997-09-30", unit="week")
    pd.testing.assert_frame_equal(t, t2)


def test_text_and_integer_ids_mixed(frame):
    df = frame.astype({"customer_id": object})
    df.loc[0, "customer_id"] = "51469"  # the same customer as the int 51469
    t = _table(df)
    assert t.index.dtype == np.int64 and t.loc[51469, "frequency"] == 1
    df.loc[2, "customer_id"] = "c7"
    t = _table(df)
    assert t.index.dtype == object and set(t.index) == {"51469", "c7", "120", "7"}


def test_transaction_log_to_dataframe_follows_the_rule(frame, tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text(CSV)
    out = churn.TransactionLog.read_csv(path).to_dataframe()
    assert out["customer_id"].tolist() == frame["customer_id"].tolist()
    log = churn.TransactionLog()
    log.add(7.0, "2024-01-01", 1.0)
    assert log.customer_ids() == ["7"] and log.customer_index(7) == 0


def test_simulated_ids_are_integers():
    t = churn.customer_table(churn.simulate("bgnbd", customers=20, seed=3), unit="week")
    assert t.index.dtype == np.int64
    t = churn.customer_table(churn.simulate("bgnbd", customers=20, seed=3, id_prefix="c"),
                             unit="week")
    assert t.index.dtype == object and t.index[0].startswith("c")


# ---- the index from the caller's str objects (issue 21: customer_table(df) speed) ------
# customer_table(df) with text ids makes its index of the caller's own str objects (in the
# order of the log's customers) when the table has every customer, instead of reading
# the ids back from C; customer_table(TransactionLog.from_dataframe(df)) reads them from
# C as before. The two must give the same table: index values and dtype, row order,
# every column, attrs.
ODD_IDS = ["00042", "42", "-7", "-0", "+1", " 1", "1 ", "1e3", "0x1F", "3.0", "nan", "NaN",
           "None", "null", "NA", "<NA>", " ", "  ", "\t", "é", "日本語", "😀", "a\u0301",
           "Ω", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
           "c1", "C1", "c1 "]


def _random_frame(rng, ids, n, t0="2024-01-01", days=400):
    """`n` transactions of customers drawn from `ids` (str), random dates and amounts."""
    cust = np.asarray(ids, dtype=object)[rng.integers(0, len(ids), n)]
    dates = pd.Timestamp(t0) + pd.to_timedelta(rng.integers(0, days, n), unit="D")
    return pd.DataFrame({"customer_id": cust, "date": dates,
                         "amount": np.round(rng.gamma(2.0, 20.0, n), 2)})


def _both(df, **kw):
    """(customer_table(df) [coded ids], the table through the texts path)."""
    new = churn.customer_table(df, **kw)
    old = churn.customer_table(churn.TransactionLog.from_dataframe(df), **kw)
    return new, old


def _same(new, old):
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    assert new.index.dtype == old.index.dtype
    assert list(new.index) == list(old.index)  # row order and values (not only equal sets)
    assert new.attrs.keys() == old.attrs.keys()
    for k, v in new.attrs.items():  # NaN (e.g. pareto_share of a 4-column table) is NaN
        assert v == old.attrs[k] or (v != v and old.attrs[k] != old.attrs[k]), k


def _spy_kept(monkeypatch):
    """Count the tables whose index came from the caller's str objects."""
    from churn import _customers
    calls = []
    real = _customers._index_of_log_texts

    def spy(*a, **kw):
        out = real(*a, **kw)
        if out is not None:
            calls.append(1)
        return out
    monkeypatch.setattr(_customers, "_index_of_log_texts", spy)
    return calls


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_index_of_the_callers_texts_is_the_c_table_index(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    ids = ODD_IDS + [f"c{v}" for v in rng.integers(0, 10**6, 300)] + \
        [str(v) for v in rng.integers(-10**12, 10**12, 100)]
    df = _random_frame(rng, ids, 3000)
    calls = _spy_kept(monkeypatch)
    # no cutoff: every customer is in the table (the index from the caller's texts);
    # cutoff inside the data: some are excluded (their first order is later)
    for kw in ({"unit": "week"}, {"columns": ["frequency", "recency", "T"], "typed": False},
               {"cutoff": "2024-10-01", "unit": "week"},
               {"cutoff": "2024-10-01", "unit": "week",
                "columns": ["frequency", "recency", "T", "monetary_value"]},
               {"cutoff": "2024-06-01", "holdout_end": "2025-02-01", "typed": False}):
        new, old = _both(df, **kw)
        assert (new.attrs["excluded"] > 0) == ("cutoff" in kw)
        _same(new, old)
        assert new.index.dtype == object
        cat_new, cat_old = _both(df.astype({"customer_id": "category"}), **kw)
        _same(cat_new, cat_old)
        _same(cat_new, new)
    assert len(calls) == 4  # the two cases without a cutoff, str and categorical


def test_callers_texts_integer_literal_texts_keep_the_int64_index(monkeypatch):
    rng = np.random.default_rng(5)
    ids = [str(v) for v in rng.integers(-10**15, 10**15, 500)] + ["0", "9223372036854775807"]
    df = _random_frame(rng, ids, 4000)
    calls = _spy_kept(monkeypatch)
    new, old = _both(df)
    _same(new, old)
    assert new.index.dtype == np.int64 and 9223372036854775807 in new.index
    # as categorical, and as pandas' string dtype
    for col in (df["customer_id"].astype("category"), df["customer_id"].astype("string")):
        n2, o2 = _both(df.assign(customer_id=col))
        _same(n2, o2)
        _same(n2, new)
    assert len(calls) == 3
    # one text with a leading zero (or a sign) makes every id text, as before
    for odd in ("007", "+5", " 5", "5x"):
        df2 = df.copy()
        df2.loc[17, ["customer_id", "date"]] = [odd, pd.Timestamp("2024-03-01")]
        n3, o3 = _both(df2)
        _same(n3, o3)
        assert n3.index.dtype == object and odd in n3.index


def test_callers_texts_categorical_with_unused_and_reordered_categories(monkeypatch):
    rng = np.random.default_rng(9)
    df = _random_frame(rng, [f"u{i}" for i in range(50)], 600)
    cats = [f"u{i}" for i in range(80)][::-1]  # unused ones, and not in appearance order
    df = df.assign(customer_id=pd.Categorical(df["customer_id"], categories=cats))
    calls = _spy_kept(monkeypatch)
    new, old = _both(df)
    _same(new, old)
    assert list(new.index) == list(dict.fromkeys(df["customer_id"].astype(str)))
    assert len(calls) == 1


def test_callers_texts_mixed_objects_merge_as_texts():
    """1, '1' and 1.0 are one customer whatever the path (categories or objects)."""
    df = pd.DataFrame({"customer_id": pd.Series([1, "1", 1.0, "x", 2], dtype=object),
                       "date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-02-01",
                                               "2024-01-02", "2024-01-03"]),
                       "amount": [1.0, 2.0, 3.0, 4.0, 5.0]})
    for col in (df["customer_id"], df["customer_id"].astype("category")):
        new, old = _both(df.assign(customer_id=col))
        _same(new, old)
        assert list(new.index) == ["1", "x", "2"] and new.loc["1", "frequency"] == 2


@pytest.mark.parametrize("kind", ["object", "string", "category"])
def test_callers_texts_missing_id_names_the_row(kind):
    df = pd.DataFrame({"customer_id": ["a", "b", None, "a"],
                       "date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
                       "amount": [1.0, 2.0, 3.0, 4.0]}).astype({"customer_id": kind})
    with pytest.raises(ValueError, match=r"column 'customer_id', row 2: customer id is "
                                         r"missing"):
        _table(df)
    with pytest.raises(ValueError, match=r"column 'customer_id', row 2: customer id is "
                                         r"missing"):
        churn.TransactionLog.from_dataframe(df)


@pytest.mark.parametrize("bad", ["", "\0x"])
def test_callers_texts_empty_id_is_the_c_error_naming_the_row(bad):
    df = pd.DataFrame({"customer_id": ["a", "b", bad, "a"],
                       "date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
                       "amount": [1.0, 2.0, 3.0, 4.0]})
    for col in (df["customer_id"], df["customer_id"].astype("category")):
        with pytest.raises(churn.ChurnValueError, match=r"row 2\): customer id is NULL or "
                                                        r"empty"):
            _table(df.assign(customer_id=col))


def test_callers_texts_nul_inside_an_id_is_cut_as_before():
    df = pd.DataFrame({"customer_id": ["a\0x", "a\0y", "b"],
                       "date": ["2024-01-01", "2024-01-02", "2024-01-03"],
                       "amount": [1.0, 2.0, 3.0]})
    new, old = _both(df)
    _same(new, old)
    assert list(new.index) == ["a", "b"]  # the C string ends at the NUL


def test_callers_texts_overflow_error_names_the_callers_id():
    df = pd.DataFrame({"customer_id": ["alice", "bob", "bob"],
                       "date": ["2024-01-01", "2024-01-02", "2024-01-03"],
                       "amount": [1.0, 1.5e308, 1.5e308]})
    with pytest.raises(churn.ChurnError, match=r"customer 'bob': .* overflows"):
        _table(df, columns=["total_spend"])


@pytest.mark.parametrize("ids", [["0", "-0", "5"], ["12", "12\n", "7"]])
def test_texts_that_read_as_one_integer_stay_two_customers(ids):
    """'0' and '-0', or '12' and '12\\n', are different texts: the index keeps them as
    two str ids (an int64 index would show the same number twice), on every path."""
    df = pd.DataFrame({"customer_id": ids, "date": ["2024-01-01", "2024-02-01", "2024-03-01"],
                       "amount": [1.0, 2.0, 3.0]})
    for data in (df, churn.TransactionLog.from_dataframe(df)):
        t = churn.customer_table(data, cutoff="2024-06-01")
        assert t.index.dtype == object
        assert list(t.index) == ids
