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
