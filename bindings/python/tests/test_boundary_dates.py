"""Issue 17, item 2: dates from Python follow the CSV reader's rules.

8-digit integers are YYYYMMDD (pd.read_csv gives CDNOW's dates as int64), other
numbers epoch seconds; implausible numbers (milliseconds, days since 1970) are errors
that say what was assumed; date_format= and dayfirst= say what the values are; a cutoff
before every purchase is an error, not an empty table. References: the `churn` command
on the same file, the C date parser (churn_parse_date), pandas' own datetime
conversion and the published CDNOW counts."""
import ctypes
import io
import os

import numpy as np
import pandas as pd
import pytest

import churn
from churn import _lib
from churn._dates import to_epoch_seconds

CUTOFF = "1997-09-30"


@pytest.fixture(scope="module")
def cdnow_df(cdnow_path):
    # pandas reads the date column 19970101 as int64 (and the ids as int64)
    df = pd.read_csv(cdnow_path, sep=r"\s+", header=None,
                     names=["customer_id", "sample_id", "date", "cds", "amount"])
    assert df["date"].dtype == np.int64
    return df


def _c_parse(text):
    out = ctypes.c_double()
    raw = str(text).encode()
    rc = _lib.churn_parse_date(raw, len(raw), 0, ctypes.byref(out))  # CHURN_DATE_AUTO
    assert rc == 0, _lib.churn_last_error_message()
    return out.value


def _frame(dates, ids=None):
    n = len(dates)
    return pd.DataFrame({"customer_id": ids if ids is not None else [1] * n, "date": dates,
                         "amount": [10.0] * n})


# ---- the case: CDNOW through pd.read_csv -------------------------------------------
def test_read_csv_integer_dates_give_the_commands_table(cdnow_df, cdnow_path, run_churn):
    table = churn.customer_table(cdnow_df, cutoff=CUTOFF, unit="week")
    p = run_churn("features", cdnow_path, "--no-header", "--delim", "space", "--id", 1,
                  "--time", 3, "--amount", 5, "--cutoff", CUTOFF, "--unit", "week")
    ref = pd.read_csv(io.StringIO(p.stdout), dtype={"customer_id": str})
    ref.index = pd.Index(ref.pop("customer_id").astype(np.int64), name="customer_id")
    if "time_unit_days" in ref.columns:  # the command's declarations (newer builds)
        assert (ref.pop("time_unit_days") == table.attrs["time_unit"]).all()
        assert (ref.pop("cutoff") == CUTOFF).all()
    assert len(table) == len(ref) == 2357
    assert table.index.equals(ref.index)  # 00004 in the file, 4 in the frame
    assert list(table.columns) == list(ref.columns)
    # the command prints 10 significant digits
    # (the command writes the C table's numbers: compare with the untyped table)
    np.testing.assert_allclose(churn.table_to_float(table).to_numpy(),
                               ref.to_numpy(dtype=float), rtol=1e-9,
                               atol=1e-9)
    # published: 946 of the 2,357 customers repeat-bought by the cutoff
    assert int((table["frequency"] > 0).sum()) == 946
    assert table.attrs["cutoff"] == pd.Timestamp(CUTOFF)


def test_integer_dates_equal_datetime_dates(cdnow_df):
    as_int = churn.customer_table(cdnow_df, cutoff=CUTOFF, unit="week")
    dt = cdnow_df.assign(date=pd.to_datetime(cdnow_df["date"].astype(str), format="%Y%m%d"))
    as_dt = churn.customer_table(dt, cutoff=CUTOFF, unit="week")
    pd.testing.assert_frame_equal(as_int, as_dt)


def test_integer_cutoff_is_yyyymmdd(cdnow_df):
    a = churn.customer_table(cdnow_df, cutoff=19970930, unit="week")
    b = churn.customer_table(cdnow_df, cutoff=CUTOFF, unit="week")
    pd.testing.assert_frame_equal(a, b)


def test_python_dates_match_the_c_parser():
    values = ["19970101", "1997-01-01", "1997-01-01T12:30:00Z", "1997-01-01 12:30:00+02:00",
              "1997-01-01T12:30:15.25", "852076800", "852076800.5", "20240229"]
    ours = to_epoch_seconds(pd.Series(values, dtype=object))
    np.testing.assert_array_equal(ours, [_c_parse(v) for v in values])
    ints = np.array([19970101, 852076800, 20240229], dtype=np.int64)
    np.testing.assert_array_equal(to_epoch_seconds(ints), [_c_parse(v) for v in ints])


# ---- numbers that cannot be epoch seconds ------------------------------------------------
def test_integer_milliseconds_are_an_error_that_names_the_assumption(cdnow_df):
    ms = pd.to_datetime(cdnow_df["date"].astype(str)).astype("int64") // 1_000_000
    with pytest.raises(ValueError, match=r"column 'date', row 0: 852076800000 read as epoch "
                                         r"seconds is the year 2897\d, after 2200; the values "
                                         r"look like epoch milliseconds: pass "
                                         r"date_format='epoch_ms'"):
        churn.customer_table(cdnow_df.assign(date=ms), cutoff=CUTOFF, unit="week")


def test_epoch_ms_declared_gives_the_datetime_table(cdnow_df):
    dt = pd.to_datetime(cdnow_df["date"].astype(str), format="%Y%m%d")
    ms = dt.astype("int64") // 1_000_000
    a = churn.customer_table(cdnow_df.assign(date=ms), cutoff=CUTOFF, unit="week",
                             date_format="epoch_ms")
    b = churn.customer_table(cdnow_df.assign(date=dt), cutoff=CUTOFF, unit="week")
    pd.testing.assert_frame_equal(a, b)


def test_nanoseconds_suggest_epoch_ns():
    ns = pd.to_datetime(["2024-01-01", "2024-02-01"]).astype("int64")
    with pytest.raises(ValueError, match="date_format='epoch_ns'"):
        churn.customer_table(_frame(ns))


def test_days_since_1970_are_an_error():
    days = np.array([19723, 19754], dtype=np.int64)  # 2024-01-01, 2024-02-01 in days
    with pytest.raises(ValueError, match=r"column 'date': all 2 numeric dates read as epoch "
                                         r"seconds fall within a day of 1970-01-01"):
        churn.customer_table(_frame(days))
    # declared as seconds, they are taken as seconds
    log = churn.TransactionLog.from_dataframe(_frame(days), date_format="epoch")
    assert log.date_range[0] == pd.Timestamp(19723, unit="s")


def test_dates_before_1900_are_an_error():
    with pytest.raises(ValueError, match=r"row 1: 18991231 read as YYYYMMDD is 1899-12-31, "
                                         r"before 1900"):
        churn.customer_table(_frame(np.array([19970101, 18991231])))


def test_invalid_yyyymmdd_names_the_day():
    with pytest.raises(ValueError, match=r"row 1: 19970230 is not a date YYYYMMDD \(day 30 "
                                         r"does not exist in February 1997\)"):
        churn.customer_table(_frame(np.array([19970101, 19970230])))


def test_missing_date_names_the_row():
    with pytest.raises(ValueError, match=r"column 'date', row 1: missing"):
        churn.customer_table(_frame(["1997-01-01", None]))
    with pytest.raises(ValueError, match=r"column 'date', row 1 \(index 11\): missing"):
        churn.customer_table(_frame(pd.Series([19970101.0, np.nan], index=[10, 11])))


# ---- text: day first or month first -------------------------------------------------------
def test_ambiguous_day_month_text_is_an_error():
    with pytest.raises(ValueError, match=r"row 0: '01/02/1997' is ambiguous: 1997-01-02 month "
                                         r"first or 1997-02-01 day first; pass dayfirst"):
        churn.customer_table(_frame(["01/02/1997", "03/04/1997"]))


def test_dayfirst_reads_day_first():
    a = churn.TransactionLog.from_dataframe(_frame(["01/02/1997", "03/04/1997"]),
                                            dayfirst=True).to_dataframe()
    assert list(a["date"]) == [pd.Timestamp("1997-02-01"), pd.Timestamp("1997-04-03")]
    b = churn.TransactionLog.from_dataframe(_frame(["01/02/1997", "03/04/1997"]),
                                            dayfirst=False).to_dataframe()
    assert list(b["date"]) == [pd.Timestamp("1997-01-02"), pd.Timestamp("1997-03-04")]


def test_strftime_date_format_is_strict():
    df = _frame(["01/02/1997", "13/04/1997"])
    log = churn.TransactionLog.from_dataframe(df, date_format="%d/%m/%Y")
    assert list(log.to_dataframe()["date"]) == [pd.Timestamp("1997-02-01"),
                                               pd.Timestamp("1997-04-13")]
    with pytest.raises(ValueError, match=r"row 1: '13/04/1997' does not match date_format "
                                         r"'%m/%d/%Y'"):
        churn.TransactionLog.from_dataframe(df, date_format="%m/%d/%Y")
    # the cutoff may stay ISO whatever the column's format
    t = churn.customer_table(df, cutoff="1997-03-01", date_format="%d/%m/%Y")
    assert len(t) == 1 and t["frequency"].iloc[0] == 0


def test_bad_date_format_argument():
    with pytest.raises(ValueError, match="date_format: 'weekly' is not one of"):
        churn.customer_table(_frame(["1997-01-01"]), date_format="weekly")


# ---- the cutoff --------------------------------------------------------------------------
def test_cutoff_before_every_purchase_is_an_error(cdnow_df):
    with pytest.raises(churn.ChurnValueError,
                       match=r"the cutoff 1996-12-31 is before every purchase \(the first of "
                             r"6919 transactions is on 1997-01-01\)"):
        churn.customer_table(cdnow_df, cutoff="1996-12-31", unit="week")


def test_cutoff_before_every_purchase_in_a_stream(cdnow_df):
    with churn.CustomerStream(cutoff="1996-12-31", unit="week") as s:
        s.add(cdnow_df)
        with pytest.raises(churn.ChurnValueError, match="is before every purchase"):
            s.finish()


def test_stream_reads_integer_dates_like_customer_table(cdnow_df):
    cols = ["frequency", "recency", "T", "monetary_value"]
    with churn.CustomerStream(cutoff=CUTOFF, unit="week", columns=cols) as s:
        for lo in range(0, len(cdnow_df), 2000):
            s.add(cdnow_df.iloc[lo:lo + 2000])
        streamed = s.finish()
    batch = churn.customer_table(cdnow_df, cutoff=CUTOFF, unit="week", columns=cols)
    pd.testing.assert_frame_equal(streamed, batch)


def test_iso_text_and_datetimes_unchanged(shared_data):
    # the same dates as ISO text and as datetime64 give identical tables, as before
    path = os.path.join(shared_data, "cdnow", "CDNOW_sample.txt")
    df = pd.read_csv(path, sep=r"\s+", header=None, dtype={2: str},
                     names=["customer_id", "sample_id", "date", "cds", "amount"])
    iso = df.assign(date=df["date"].str[:4] + "-" + df["date"].str[4:6] + "-" +
                    df["date"].str[6:])
    a = churn.customer_table(iso, cutoff=CUTOFF, unit="week")
    b = churn.customer_table(iso.assign(date=pd.to_datetime(iso["date"])), cutoff=CUTOFF,
                             unit="week")
    c = churn.customer_table(df, cutoff=CUTOFF, unit="week")  # "19970101" text
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
