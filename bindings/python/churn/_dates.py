"""Dates from Python values, read by the rules of the C CSV reader (lib/data/csv.c).

``date_format="auto"`` (the default), per value:

- datetimes (``datetime64`` columns, ``datetime``, ``pandas.Timestamp``) are instants;
  naive ones are UTC, aware ones are converted to UTC;
- text ``YYYY-MM-DD`` and ISO date-times (``T`` or space, optional seconds, fraction,
  ``Z`` or ``+HH:MM``) are read as ISO;
- a number or numeric text of exactly 8 digits is ``YYYYMMDD`` (``19970101``, as
  ``pd.read_csv`` gives the CDNOW date column); it must be a real calendar date;
- any other number is seconds since 1970-01-01 UTC;
- other text (``01/02/1997``, ``Feb 1 1997``) is parsed by pandas; when its day and
  month could be swapped it is an error unless ``dayfirst=`` says which comes first.

Then, for numbers, plausibility: a date before 1900 or after 2200 is an error that
names what was assumed (e.g. milliseconds read as seconds land in the year 28970), and
so is a column whose values, read as seconds, all fall within a year of 1970 (days,
hours or minutes since 1970 read as seconds). ``date_format`` says what the numbers
are when "auto" guesses wrong: 'epoch' (seconds; no 1970 check), 'epoch_ms',
'epoch_us', 'epoch_ns', 'yyyymmdd', 'iso', or a ``strftime`` pattern such as
``'%d/%m/%Y'`` (strict). A missing date is an error naming its row.
"""
import re
import warnings

import numpy as np

__all__ = ["to_epoch_seconds", "time_arg", "check_date_format", "PY_DATE_FORMATS"]

_EPOCH_SCALE = {"epoch": 1.0, "epoch_s": 1.0, "epoch_ms": 1e-3, "epoch_us": 1e-6,
                "epoch_ns": 1e-9}
PY_DATE_FORMATS = ("auto", "iso", "yyyymmdd") + tuple(_EPOCH_SCALE)
_NAMES = {1.0: "seconds", 1e-3: "milliseconds", 1e-6: "microseconds", 1e-9: "nanoseconds"}

_LOW = -2208988800.0        # 1900-01-01T00:00:00Z
_HIGH = 7289654400.0        # 2201-01-01T00:00:00Z: from here on "after 2200"
_NEAR_1970 = 366 * 86400.0  # a column entirely within a year of 1970 is not a history

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?"
                  r"([Zz]|[+-]\d{2}(:?\d{2})?)?)?$")
_DIGITS8 = re.compile(r"^\d{8}$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def check_date_format(date_format, dayfirst=None):
    """Validate the `date_format` and `dayfirst` arguments.

    Parameters
    ----------
    date_format : str
        One of ``PY_DATE_FORMATS`` ('auto', 'iso', 'yyyymmdd', 'epoch', 'epoch_ms',
        ...) or a strftime pattern (a text with ``%``).
    dayfirst : bool or None, optional
        True, False or None.

    Returns
    -------
    None

    Raises
    ------
    TypeError
        `date_format` is not a string, or `dayfirst` not a bool or None.
    ValueError
        `date_format` is neither a known name nor a pattern.

    Examples
    --------
    >>> from churn._dates import check_date_format
    >>> check_date_format("%d/%m/%Y")
    >>> check_date_format("dmy")
    Traceback (most recent call last):
    ...
    ValueError: date_format: 'dmy' is not one of auto, ... or a strftime pattern such as '%d/%m/%Y'
    """
    if not isinstance(date_format, str):
        raise TypeError(f"date_format: expected a string, got {type(date_format).__name__}")
    if date_format not in PY_DATE_FORMATS and "%" not in date_format:
        raise ValueError(f"date_format: {date_format!r} is not one of "
                         f"{', '.join(PY_DATE_FORMATS)} or a strftime pattern such as "
                         "'%d/%m/%Y'")
    if dayfirst is not None and not isinstance(dayfirst, (bool, np.bool_)):
        raise TypeError(f"dayfirst: expected True, False or None, got {dayfirst!r}")


def _where(name, values, row):
    """"column 'date', row 3" (with the index label when it is not the position)."""
    import pandas as pd
    label = ""
    idx = getattr(values, "index", None)
    if isinstance(idx, pd.Index) and row < len(idx):
        lab = idx[row]
        if not (isinstance(lab, (int, np.integer)) and int(lab) == row):
            label = f" (index {lab!r})"
    return f"column '{name}', row {row}{label}"


def _fmt_seconds(s):
    """Seconds -> '1997-01-01', '1970-01-01 02:50:27', or 'the year 28971' beyond the
    range of pandas timestamps."""
    import pandas as pd
    try:
        ts = pd.Timestamp(float(s), unit="s")
    except (OverflowError, ValueError):  # OutOfBoundsDatetime is a ValueError
        return f"the year {int(np.floor(1970 + float(s) / 31556952.0))}"
    return ts.isoformat(sep=" ") if ts.value % 86400_000_000_000 else str(ts.date())


def _yyyymmdd(v, rows, name, values, how):
    """8-digit whole numbers -> seconds, with the C reader's calendar checks."""
    v = np.asarray(v, dtype=np.int64)
    y, m, d = v // 10000, (v // 100) % 100, v % 100
    bad_m = (m < 1) | (m > 12)
    if bad_m.any():
        k = int(np.flatnonzero(bad_m)[0])
        raise ValueError(f"{_where(name, values, rows[k])}: {v[k]} is not a date YYYYMMDD "
                         f"(month {m[k]} is not in 1..12){how}")
    months = (y - 1970) * 12 + (m - 1)
    start = months.astype("datetime64[M]").astype("datetime64[D]")
    length = (months + 1).astype("datetime64[M]").astype("datetime64[D]") - start
    bad_d = (d < 1) | (d > length.astype(np.int64))
    if bad_d.any():
        k = int(np.flatnonzero(bad_d)[0])
        raise ValueError(f"{_where(name, values, rows[k])}: {v[k]} is not a date YYYYMMDD "
                         f"(day {d[k]} does not exist in {_MONTHS[m[k] - 1]} {y[k]:04d})"
                         f"{how}")
    return (start + (d - 1)).astype(np.int64).astype(np.float64) * 86400.0


def _range_error(name, values, rows, secs, assumed, raw, all_epoch):
    """ValueError for the first value outside 1900..2200, with a hint."""
    bad = (secs < _LOW) | (secs >= _HIGH)
    k = int(np.flatnonzero(bad)[0])
    side = "before 1900" if secs[k] < _LOW else "after 2200"
    hint = ""
    if all_epoch is not None and assumed == "epoch seconds":
        for scale in (1e-3, 1e-6, 1e-9):
            t = all_epoch * scale
            if np.all((t >= _LOW) & (t < _HIGH)):
                unit = {1e-3: "ms", 1e-6: "us", 1e-9: "ns"}[scale]
                hint = (f"; the values look like epoch {_NAMES[scale]}: pass "
                        f"date_format='epoch_{unit}'")
                break
        else:
            hint = "; pass date_format= to say how the numbers encode dates"
    raw_k = raw[k]
    shown = f"{int(raw_k)}" if float(raw_k).is_integer() else f"{raw_k!r}"
    if assumed == "YYYYMMDD":
        v = int(raw_k)
        when = f"{v // 10000:04d}-{v // 100 % 100:02d}-{v % 100:02d}"
    else:
        when = _fmt_seconds(secs[k])
    return ValueError(f"{_where(name, values, rows[k])}: {shown} read as {assumed} is "
                      f"{when}, {side}{hint}")


def _numbers(raw, rows, name, values, fmt, eight_digit):
    """Numbers (float64 array `raw`, their rows) -> seconds, by the numeric rules.

    `eight_digit` marks the values that are 8-digit YYYYMMDD candidates (whole numbers
    of 8 digits, or text of exactly 8 digits)."""
    out = np.empty(raw.shape[0])
    if raw.shape[0] == 0:
        return out
    bad = ~np.isfinite(raw)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{_where(name, values, rows[k])}: missing or not finite date "
                         f"({raw[k]})")
    if fmt == "iso":
        raise ValueError(f"{_where(name, values, rows[0])}: {raw[0]:.10g} is a number, not "
                         "an ISO date text (date_format='iso')")
    if fmt in _EPOCH_SCALE:
        scale = _EPOCH_SCALE[fmt]
        out[:] = raw * scale
        if np.any((out < _LOW) | (out >= _HIGH)):
            raise _range_error(name, values, rows, out, f"epoch {_NAMES[scale]}", raw, None)
        return out
    if fmt == "yyyymmdd" or "%" in fmt:
        whole = raw == np.floor(raw)
        if fmt == "yyyymmdd":
            ok = whole & eight_digit
            if not ok.all():
                k = int(np.flatnonzero(~ok)[0])
                raise ValueError(f"{_where(name, values, rows[k])}: {raw[k]:.10g} is not 8 "
                                 "digits YYYYMMDD (date_format='yyyymmdd')")
            return _yyyymmdd(raw, rows, name, values, "")
        if not whole.all():
            k = int(np.flatnonzero(~whole)[0])
            raise ValueError(f"{_where(name, values, rows[k])}: {raw[k]!r} does not match "
                             f"date_format {fmt!r}")
        return _text([str(int(x)) for x in raw], rows, name, values, fmt, None)
    # auto: the C reader's rule, then plausibility
    ymd = eight_digit & (raw == np.floor(raw))
    if ymd.any():
        how = ("; 8-digit numbers are read as YYYYMMDD, as the CSV reader does: pass "
               "date_format='epoch' if they are seconds since 1970")
        out[ymd] = _yyyymmdd(raw[ymd], rows[ymd], name, values, how)
    ep = ~ymd
    out[ep] = raw[ep]
    if np.any((out < _LOW) | (out >= _HIGH)):
        first_bad = (out < _LOW) | (out >= _HIGH)
        k = int(np.flatnonzero(first_bad)[0])
        assumed = "YYYYMMDD" if ymd[k] else "epoch seconds"
        raise _range_error(name, values, rows, out, assumed, raw,
                           raw[ep] if ep.any() else None)
    if ep.any():
        secs = raw[ep]
        if np.all(np.abs(secs) < _NEAR_1970):
            lo, hi = float(secs.min()), float(secs.max())
            span = max(abs(lo), abs(hi)) / 86400.0
            within = f"{int(np.ceil(span))} day{'s' if np.ceil(span) != 1 else ''}" \
                if span >= 1 else "a day"
            raise ValueError(
                f"column '{name}': all {secs.shape[0]} numeric dates read as epoch seconds "
                f"fall within {within} of 1970-01-01 ({_fmt_seconds(lo)} .. "
                f"{_fmt_seconds(hi)}), which is not a purchase history: numbers other than "
                "8-digit YYYYMMDD are read as seconds since 1970. If they are seconds "
                "indeed, pass date_format='epoch'; if they count days, hours or minutes, "
                "convert them first (e.g. pd.to_datetime(x, unit='D'))")
    return out


def _datetimes_to_seconds(t):
    """A datetime64[ns] Series/array without NaT -> float64 seconds."""
    return np.asarray(t).view("int64").astype(np.float64) / 1e9


def _iso_mask(texts):
    """Vectorised: which texts start YYYY-MM-DD and are a date or a date-time (the
    time part is validated by pandas)."""
    a = np.asarray(texts).astype(str)
    if a.dtype.itemsize // 4 < 10:
        return np.zeros(len(texts), dtype=bool)
    c = a.view(np.uint32).reshape(len(texts), -1)
    n = np.char.str_len(a)
    digit = (c >= ord("0")) & (c <= ord("9"))
    ok = (n >= 10) & (c[:, 4] == ord("-")) & (c[:, 7] == ord("-"))
    for j in (0, 1, 2, 3, 5, 6, 8, 9):
        ok &= digit[:, j]
    if c.shape[1] > 10:
        sep = c[:, 10]
        ok &= (n == 10) | (sep == ord("T")) | (sep == ord("t")) | (sep == ord(" "))
    return ok


def _text(texts, rows, name, values, fmt, dayfirst):
    """Date texts (a list of str) and their rows -> seconds."""
    import pandas as pd
    n = len(texts)
    out = np.empty(n)
    if n == 0:
        return out
    texts = np.array([t.strip() for t in texts], dtype=object)
    rows = np.asarray(rows)
    if "%" in fmt:
        t = pd.to_datetime(pd.Series(texts), format=fmt, utc=True, errors="coerce")
        bad = t.isna().to_numpy()
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{_where(name, values, rows[k])}: {texts[k]!r} does not match "
                             f"date_format {fmt!r}")
        return _datetimes_to_seconds(t.dt.tz_localize(None).astype("datetime64[ns]"))
    iso_fast = _iso_mask(texts)
    kind = np.where(iso_fast, 2, 0).astype(np.int8)
    for i in np.flatnonzero(~iso_fast):  # the rest, one by one (usually none)
        s_ = texts[i]
        kind[i] = 2 if _ISO.match(s_) else 1 if _NUMBER.match(s_) else 0
    if fmt == "iso" and (kind != 2).any():
        k = int(np.flatnonzero(kind != 2)[0])
        raise ValueError(f"{_where(name, values, rows[k])}: {texts[k]!r} is not "
                         "YYYY-MM-DD or an ISO date-time (date_format='iso')")
    if fmt != "auto" and fmt != "iso" and (kind != 1).any():
        k = int(np.flatnonzero(kind != 1)[0])
        what = "8 digits YYYYMMDD" if fmt == "yyyymmdd" else "a number"
        raise ValueError(f"{_where(name, values, rows[k])}: {texts[k]!r} is not {what} "
                         f"(date_format={fmt!r})")
    num = kind == 1
    if num.any():
        idx = np.flatnonzero(num)
        raw = np.array([float(texts[i]) for i in idx])
        eight = np.array([bool(_DIGITS8.match(texts[i])) for i in idx])
        out[idx] = _numbers(raw, rows[idx], name, values, fmt, eight)
    iso = kind == 2
    if iso.any():
        idx = np.flatnonzero(iso)
        t = pd.to_datetime(pd.Series(texts[idx]), utc=True, errors="coerce")
        bad = t.isna().to_numpy()
        if bad.any():
            k = idx[int(np.flatnonzero(bad)[0])]
            raise ValueError(f"{_where(name, values, rows[k])}: {texts[k]!r} is not a valid "
                             "date (YYYY-MM-DD or an ISO date-time)")
        out[idx] = _datetimes_to_seconds(t.dt.tz_localize(None).astype("datetime64[ns]"))
    other = kind == 0
    if other.any():
        idx = np.flatnonzero(other)
        s = pd.Series(texts[idx])
        kw = {"format": "mixed"} if int(pd.__version__.split(".")[0]) >= 2 else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            a = pd.to_datetime(s, dayfirst=False, utc=True, errors="coerce", **kw)
            b = pd.to_datetime(s, dayfirst=True, utc=True, errors="coerce", **kw)
        bad = (a.isna() & b.isna()).to_numpy()
        if bad.any():
            k = idx[int(np.flatnonzero(bad)[0])]
            raise ValueError(f"{_where(name, values, rows[k])}: cannot parse {texts[k]!r} "
                             "as a date (expected YYYY-MM-DD, YYYYMMDD, an ISO date-time, "
                             "epoch seconds, or text pandas reads; see date_format=)")
        if dayfirst is None:
            amb = (a.notna() & b.notna() & (a != b)).to_numpy()
            if amb.any():
                k = int(np.flatnonzero(amb)[0])
                raise ValueError(
                    f"{_where(name, values, rows[idx[k]])}: {texts[idx[k]]!r} is ambiguous: "
                    f"{a.iloc[k].date()} month first or {b.iloc[k].date()} day first; pass "
                    "dayfirst=True or False, or an exact date_format such as '%d/%m/%Y'")
            t = a.where(a.notna(), b)
        else:
            t = b if dayfirst else a
            miss = t.isna().to_numpy()
            if miss.any():
                k = idx[int(np.flatnonzero(miss)[0])]
                raise ValueError(f"{_where(name, values, rows[k])}: cannot parse "
                                 f"{texts[k]!r} as a date with dayfirst={bool(dayfirst)}")
        out[idx] = _datetimes_to_seconds(t.dt.tz_localize(None).astype("datetime64[ns]"))
    return out


def _is_datetime_like(v):
    import datetime
    import pandas as pd
    return isinstance(v, (datetime.date, pd.Timestamp, np.datetime64))


def _objects(values, name, fmt, dayfirst):
    """An object column (text, datetimes, numbers mixed) -> seconds, per distinct value."""
    import pandas as pd
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    n = len(s)
    if n == 0:
        return np.empty(0)
    miss = s.isna().to_numpy()
    if miss.any():
        k = int(np.flatnonzero(miss)[0])
        raise ValueError(f"{_where(name, values, k)}: missing date ({s.iloc[k]!r})")
    obj = s.to_numpy(dtype=object)
    if fmt in ("auto", "iso") and n > 1000 and \
            pd.api.types.infer_dtype(obj, skipna=False) == "string" and \
            len(pd.unique(obj[:1000])) > 500:
        # many distinct date-time texts: when all are ISO, parse them in one call
        # rather than value by value
        iso = _iso_mask(obj)
        if iso.all():
            t = pd.to_datetime(pd.Series(obj), utc=True, errors="coerce")
            if not t.isna().any():
                return _datetimes_to_seconds(t.dt.tz_localize(None).astype("datetime64[ns]"))
    codes, uniq = pd.factorize(obj)
    first = np.full(len(uniq), -1, dtype=np.int64)
    order = np.arange(n)[::-1]
    first[codes[order]] = order  # the first row of each distinct value
    if pd.api.types.infer_dtype(uniq, skipna=False) == "string":  # the usual case
        return _text(list(uniq), first, name, values, fmt, dayfirst)[codes]
    secs = np.empty(len(uniq))
    texts, trows, tpos = [], [], []
    nums, nrows, npos, neight = [], [], [], []
    dts, dpos = [], []
    for j, v in enumerate(uniq):
        if isinstance(v, str):
            texts.append(v)
            trows.append(first[j])
            tpos.append(j)
        elif isinstance(v, (bool, np.bool_)):
            raise ValueError(f"{_where(name, values, first[j])}: {v!r} is not a date")
        elif isinstance(v, (int, float, np.integer, np.floating)):
            f = float(v)
            nums.append(f)
            nrows.append(first[j])
            npos.append(j)
            neight.append(np.isfinite(f) and f == np.floor(f) and 1e7 <= f < 1e8)
        elif _is_datetime_like(v):
            dts.append(v)
            dpos.append(j)
        elif isinstance(v, bytes):
            texts.append(v.decode("utf-8", "replace"))
            trows.append(first[j])
            tpos.append(j)
        else:
            raise ValueError(f"{_where(name, values, first[j])}: cannot read {v!r} "
                             f"({type(v).__name__}) as a date")
    if texts:
        secs[tpos] = _text(texts, np.asarray(trows), name, values, fmt, dayfirst)
    if nums:
        secs[npos] = _numbers(np.asarray(nums), np.asarray(nrows), name, values, fmt,
                              np.asarray(neight, dtype=bool))
    if dts:
        t = pd.to_datetime(pd.Series(dts, dtype=object), utc=True)
        secs[dpos] = _datetimes_to_seconds(t.dt.tz_localize(None).astype("datetime64[ns]"))
    return secs[codes]


def to_epoch_seconds(values, name="time", date_format="auto", dayfirst=None):
    """Dates -> float64 seconds since 1970-01-01 UTC, by the rules of the module doc.

    Parameters
    ----------
    values : array_like, pandas.Series or list
        Datetimes, date texts or numbers.
    name : str
        The column name used in error messages.
    date_format : str, default "auto"
        'auto', 'iso', 'yyyymmdd', 'epoch' (seconds), 'epoch_ms', 'epoch_us',
        'epoch_ns', or a strftime pattern such as '%d/%m/%Y'.
    dayfirst : bool, optional
        For text such as '01/02/1997': True reads the day first, False the month first;
        None (default) makes such an ambiguous text an error.

    Returns
    -------
    numpy.ndarray
        float64 seconds.

    Raises
    ------
    ValueError
        A missing, unparseable, ambiguous or implausible date; the message names the
        column, the row and what was assumed.

    Examples
    --------
    >>> from churn._dates import to_epoch_seconds
    >>> to_epoch_seconds(["1997-01-01", "1997-01-02T12:00:00Z"])
    array([8.520768e+08, 8.522064e+08])
    >>> to_epoch_seconds(pd.Series([19970101, 19970102]), "date")  # YYYYMMDD numbers
    array([8.520768e+08, 8.521632e+08])
    >>> to_epoch_seconds(["01/02/1997"], dayfirst=True)             # 1 February
    array([8.547552e+08])
    >>> pd.to_datetime(to_epoch_seconds(["01/02/1997"], dayfirst=True), unit="s")
    DatetimeIndex(['1997-02-01'], dtype='datetime64[ns]', freq=None)
    >>> to_epoch_seconds([852076800000], "ts")
    Traceback (most recent call last):
    ...
    ValueError: column 'ts', row 0: ... the year 28971, after 2200; ...date_format='epoch_ms'
    """
    import pandas as pd
    check_date_format(date_format, dayfirst)
    dt = getattr(values, "dtype", None)
    if dt is None:
        arr = np.asarray(values) if isinstance(values, (list, tuple)) else None
        if arr is not None and arr.ndim == 1 and arr.dtype.kind in "iuf":
            values, dt = arr, arr.dtype  # numbers in a list: by the numeric rules
    if dt is not None and pd.api.types.is_datetime64_any_dtype(dt):
        s = values if isinstance(values, pd.Series) else pd.Series(values)
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        miss = s.isna().to_numpy()
        if miss.any():
            k = int(np.flatnonzero(miss)[0])
            raise ValueError(f"{_where(name, values, k)}: missing date (NaT)")
        return _datetimes_to_seconds(s.astype("datetime64[ns]"))
    if dt is not None and pd.api.types.is_numeric_dtype(dt) and \
            not pd.api.types.is_bool_dtype(dt):
        a = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
        if a.dtype.kind == "O":  # nullable integer/float with pd.NA
            return _objects(values, name, date_format, dayfirst)
        if a.ndim != 1:
            a = a.reshape(-1) if a.ndim == 0 else a
            if a.ndim != 1:
                raise ValueError(f"{name}: expected a 1-D array, got shape {a.shape}")
        raw = np.ascontiguousarray(a, dtype=np.float64)
        if a.dtype.kind in "iu":
            eight = (a >= 10_000_000) & (a < 100_000_000)
        else:
            eight = (raw >= 1e7) & (raw < 1e8) & (raw == np.floor(raw))
        return _numbers(raw, np.arange(raw.shape[0]), name, values, date_format,
                        np.asarray(eight))
    if dt is not None and pd.api.types.is_bool_dtype(dt):
        raise ValueError(f"column '{name}': booleans are not dates")
    if dt is not None and getattr(values, "ndim", 1) == 0:
        values = [values.item() if hasattr(values, "item") else values]
    return _objects(values, name, date_format, dayfirst)


def time_arg(value, name, date_format="auto", dayfirst=None):
    """One date argument (cutoff, holdout_end, ...) -> seconds; None -> 0 (not given).

    Read like a value of the time column (same `date_format` and `dayfirst`); text that
    the column's format does not fit is read by the "auto" rules, so that an ISO cutoff
    works with any column format.

    Parameters
    ----------
    value : str or datetime or pandas.Timestamp or number or None
        The date.
    name : str
        The argument's name, used in error messages ("cutoff: ...").
    date_format : str, default "auto"
        The time column's format (see :func:`to_epoch_seconds`).
    dayfirst : bool, optional
        As for :func:`to_epoch_seconds`.

    Returns
    -------
    float
        Seconds since 1970-01-01 UTC, or 0.0 for None.

    Raises
    ------
    TypeError
        A bool.
    ValueError
        An unreadable or implausible date, named by `name`.

    Examples
    --------
    >>> from churn._dates import time_arg
    >>> time_arg("1997-09-30", "cutoff")
    875577600.0
    >>> time_arg("1997-09-30", "cutoff", date_format="%d/%m/%Y")   # ISO still works
    875577600.0
    >>> time_arg(None, "holdout_end")
    0.0
    """
    if value is None:
        return 0.0
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a date, got a bool")
    try:
        try:
            return float(to_epoch_seconds([value], name, date_format, dayfirst)[0])
        except ValueError:
            if date_format == "auto" or not isinstance(value, str):
                raise
        return float(to_epoch_seconds([value], name, "auto", dayfirst)[0])
    except ValueError as e:  # "column 'cutoff', row 0: ..." -> "cutoff: ..."
        msg = str(e).replace(f"column '{name}', row 0: ", f"{name}: ", 1)
        msg = msg.replace(f"column '{name}': all 1 numeric dates", f"{name}: the number", 1)
        raise ValueError(msg) from None
