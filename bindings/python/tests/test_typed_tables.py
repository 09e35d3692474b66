"""Typed customer tables (issue 21): categories with the C names, bool flags, dates;
the vectorised DataFrame paths (ids of int64, str, categorical dtype) give the same
table as the C library's own reader and as per-row conversion."""
import numpy as np
import pandas as pd
import pytest

import churn
from churn import _lib

CUTOFF, HOLDOUT = "1998-06-30", "1998-12-31"


@pytest.fixture(scope="module")
def tx():
    return churn.simulate("bgnbd", 600, seed=5, days=546 + 184, as_frame=True)


@pytest.fixture(scope="module")
def typed(tx):
    return churn.customer_table(tx, cutoff=CUTOFF, holdout_end=HOLDOUT, unit="week")


@pytest.fixture(scope="module")
def plain(tx):
    return churn.customer_table(tx, cutoff=CUTOFF, holdout_end=HOLDOUT, unit="week",
                                typed=False)


def test_dtypes_and_names_are_the_c_names(typed, plain):
    assert (plain.dtypes == np.float64).all()
    assert list(typed.columns) == list(plain.columns)
    tiers = typed["value_tier"]
    assert isinstance(tiers.dtype, pd.CategoricalDtype) and tiers.cat.ordered
    assert list(tiers.cat.categories) == [churn.tier_name(k) for k in (1, 2, 3)]
    assert list(tiers.cat.categories) == ["key", "important", "ordinary"]
    seg = typed["rfm_segment"]
    assert list(seg.cat.categories) == [churn.rfm_segment_name(k) for k in range(1, 11)]
    # every row: the name is the C library's name of the C table's code
    assert (tiers.astype(str).to_numpy()
            == np.array([churn.tier_name(int(k)) for k in plain["value_tier"]])).all()
    assert (seg.astype(str).to_numpy()
            == np.array([churn.rfm_segment_name(int(k)) for k in plain["rfm_segment"]])).all()
    for c in ("churned", "event"):
        assert typed[c].dtype == bool
        assert (typed[c].to_numpy() == (plain[c].to_numpy() == 1)).all()
    for c in ("first_purchase", "last_purchase"):
        assert typed[c].dtype == "datetime64[ns]"
        days = (typed[c] - pd.Timestamp("1970-01-01")).dt.days.to_numpy()
        assert (days == plain[c].to_numpy()).all()
    assert typed["first_purchase"].min() == pd.Timestamp("1997-01-01")
    # churned is "no holdout purchase" (customers.h), as a bool
    assert (typed["churned"] == (typed["holdout_purchases"] == 0)).all()


def test_table_to_float_gives_the_c_numbers_back(typed, plain):
    back = churn.table_to_float(typed)
    pd.testing.assert_frame_equal(back, plain)
    assert back.attrs == plain.attrs


def test_missing_values_stay_missing(tx):
    t = churn.customer_table(tx.drop(columns="amount"), cutoff=CUTOFF, unit="week",
                             amount=None)
    assert t["value_tier"].isna().all()           # unknown spend: no tier (NaN category)
    assert t["rfm_segment"].notna().all()          # R and F are known
    back = churn.table_to_float(t)
    assert back["value_tier"].isna().all()
    assert back["rfm_segment"].between(1, 10).all()
    # NaN flags and days: nullable boolean with pd.NA, NaT; never a silent value
    from churn._customers import typed_column
    b = typed_column("churned", np.array([1.0, np.nan, 0.0]))
    assert str(b.dtype) == "boolean" and b[1] is pd.NA and b[0] and not b[2]
    d = typed_column("first_purchase", np.array([0.0, np.nan]))
    assert d[0] == np.datetime64("1970-01-01") and np.isnat(d[1])
    with pytest.raises(churn.ChurnValueError, match="value_tier: row 1 holds 4.0"):
        typed_column("value_tier", np.array([1.0, 4.0]))
    with pytest.raises(churn.ChurnValueError, match="churned: row 0 holds 0.5"):
        typed_column("churned", np.array([0.5]))
    with pytest.raises(churn.ChurnValueError, match="1677 .. 2262"):
        typed_column("last_purchase", np.array([1e6]))


@pytest.mark.parametrize("kind", ["int64", "str", "categorical", "categorical-int",
                                  "non-ascii", "float"])
def test_id_dtypes_give_the_same_table(tx, typed, kind):
    ids = tx["customer_id"]
    text = "c" + ids.astype(str)
    col = {"int64": ids, "str": text, "categorical": text.astype("category"),
           "categorical-int": ids.astype("category"), "non-ascii": "ü€" + text,
           "float": ids.astype(float)}[kind]
    t = churn.customer_table(tx.assign(customer_id=col), cutoff=CUTOFF,
                             holdout_end=HOLDOUT, unit="week")
    pd.testing.assert_frame_equal(t.reset_index(drop=True), typed.reset_index(drop=True))
    if kind in ("int64", "categorical-int", "float"):
        assert t.index.dtype == np.int64 and t.index.equals(typed.index)
    else:
        want = ("ü€c" if kind == "non-ascii" else "c") + typed.index.astype(str)
        assert t.index.dtype == object and list(t.index) == list(want)
    # the log keeps the ids; its ids read in one call equal the per-id C call
    log = churn.TransactionLog.from_dataframe(tx.assign(customer_id=col))
    per_id = [_lib.churn_txlog_customer_id(log._h, i).decode()
              for i in range(log.num_customers)]
    assert log.customer_ids() == per_id


def test_missing_categorical_id_names_its_row(tx):
    col = tx["customer_id"].astype("category").copy()
    col.iloc[7] = np.nan
    with pytest.raises(ValueError, match="row 7: customer id is missing"):
        churn.TransactionLog.from_dataframe(tx.assign(customer_id=col))


def test_index_rule_is_the_per_id_rule():
    from churn._ids import _INT_TEXT, ids_index
    cases = [["1", "22", "-3", "0"], ["01", "2"], ["+1", "2"], [" 1"], ["-0", "5"],
             ["9223372036854775807"], ["9223372036854775808"], ["a", "1"], ["1", "a"],
             ["١٢"], []]
    for ids in cases:
        want_int = bool(ids) and all(_INT_TEXT.match(s) for s in ids)
        if want_int:
            try:
                want = [int(s) for s in ids]
                np.array(want, dtype=np.int64)
            except OverflowError:
                want_int = False
        got = ids_index(ids)
        assert (got.dtype == np.int64) == want_int, ids
        assert list(got) == (want if want_int else ids), ids


def test_ids_packed_buffer_contract(typed):
    import ctypes
    log = churn.TransactionLog.from_arrays(["a", "bb", "ccc"], [1.6e9] * 3, [1.0] * 3)
    need = ctypes.c_size_t(99)
    assert _lib.churn_txlog_customer_ids_packed(log._h, None, 0, ctypes.byref(need)) == \
        churn._errors.ERANGE
    assert need.value == 2 + 3 + 4
    buf = ctypes.create_string_buffer(need.value)
    assert _lib.churn_txlog_customer_ids_packed(log._h, buf, need.value,
                                                ctypes.byref(need)) == 0
    assert buf.raw == b"a\0bb\0ccc\0"
    assert _lib.churn_txlog_customer_ids_packed(None, None, 0, None) == churn._errors.EINVAL
    assert _lib.churn_customers_ids_packed(None, None, 0, None) == churn._errors.EINVAL


def test_progress_argument_is_quiet_or_shown(tx, capsys):
    churn.customer_table(tx, cutoff=CUTOFF, progress=False)
    assert capsys.readouterr().err == ""
    churn.customer_table(tx, cutoff=CUTOFF)          # fast: nothing within 1.5 s
    assert capsys.readouterr().err == ""
    pytest.importorskip("tqdm")
    churn.customer_table(tx, cutoff=CUTOFF, progress=True)
    assert "customer table" in capsys.readouterr().err


def test_zero_copy_and_copy_paths_agree(tx, typed, monkeypatch):
    """customer_table views the C table's column block (freed with the last view);
    when pandas' internals refuse, or the block is not contiguous, it copies: same
    frame either way, and the C memory outlives the table only through its views."""
    import gc
    from churn import _customers
    col = typed["frequency"].to_numpy()
    assert not col.flags.owndata            # a view (of the C block)
    monkeypatch.setattr(_customers, "_frame_of_blocks", lambda *a: None)
    copied = churn.customer_table(tx, cutoff=CUTOFF, holdout_end=HOLDOUT, unit="week")
    pd.testing.assert_frame_equal(copied, typed)
    monkeypatch.setattr(_customers, "_c_block", lambda *a: None)
    copied2 = churn.customer_table(tx, cutoff=CUTOFF, holdout_end=HOLDOUT, unit="week")
    pd.testing.assert_frame_equal(copied2, typed)
    monkeypatch.undo()
    t = churn.customer_table(tx, cutoff=CUTOFF, holdout_end=HOLDOUT, unit="week")
    s = t["T"]
    del t
    gc.collect()
    assert s.sum() == typed["T"].sum()      # the view keeps the C table alive
    # a subset in the caller's order is copied (not the C order)
    sub = churn.customer_table(tx, cutoff=CUTOFF, columns=["T", "frequency"])
    assert list(sub.columns) == ["T", "frequency"]
