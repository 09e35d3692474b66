"""Customer ids: one rule on the way in and one on the way out, whatever the path.

In (DataFrame columns, arrays, lists, :meth:`TransactionLog.add`, ``CustomerStream.add``):

- a missing id (NaN, None, ``pd.NA``, NaT) is an error naming the row: a transaction
  without a customer cannot be counted, and "nan" must not become a customer;
- integer ids pass as integers; whole-number floats (1.0, as a pandas merge leaves
  integer ids) are those integers (``1.0`` is customer ``1``, never the text "1.0");
  a float with a fraction is an error (ids are integers or text);
- text passes as it is (``"00004"`` keeps its zeros); booleans are an error.

Out (the index of a customer table, ``TransactionLog.to_dataframe``): when every id
is an integer literal without leading zeros (``-?(0|[1-9][0-9]*)``, within int64) the
index is int64, otherwise str. The C reader (:meth:`TransactionLog.read_csv`), a
DataFrame, arrays and a :class:`CustomerStream` therefore give the same index type for
the same ids: '51469' read from a file and 51469 from ``pd.read_csv`` are both 51469.
"""
import re

import numpy as np

__all__ = ["id_column", "id_text", "ids_index"]

_INT_TEXT = re.compile(r"(0|-?[1-9][0-9]*)\Z")  # whole text: no "-0", no trailing newline
_INT64_MAX = np.iinfo(np.int64).max
_POW10 = 10 ** np.arange(19, dtype=np.int64)


def _where(name, ids, row):
    label = ""
    import pandas as pd
    idx = getattr(ids, "index", None)
    if isinstance(idx, pd.Index) and row < len(idx):
        lab = idx[row]
        if not (isinstance(lab, (int, np.integer)) and int(lab) == row):
            label = f" (index {lab!r})"
    return f"column '{name}', row {row}{label}"


def _missing(name, ids, row, value):
    return ValueError(f"{_where(name, ids, row)}: customer id is missing ({value!r}); every "
                      "transaction needs a customer id: drop or fill these rows first "
                      f"(e.g. df.dropna(subset=[{name!r}]))")


def _fraction(name, ids, row, value):
    return ValueError(f"{_where(name, ids, row)}: customer id {value!r} is not a whole "
                      "number; ids are integers or text (a float id column usually comes "
                      "from integer ids with missing values: drop those rows and convert "
                      "with .astype('int64'))")


def _one(v, name, ids, row):
    """The id text of one value (raises for missing, bool, fractional float)."""
    if isinstance(v, str):
        return v
    if v is None:
        raise _missing(name, ids, row, v)
    if isinstance(v, (bool, np.bool_)):
        raise ValueError(f"{_where(name, ids, row)}: customer id {v!r} is a boolean")
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            raise _missing(name, ids, row, v)
        if v != np.floor(v):
            raise _fraction(name, ids, row, v)
        return str(int(v))
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    import pandas as pd
    try:
        missing = bool(pd.isna(v))  # pd.NA, NaT
    except (TypeError, ValueError):  # array-like values: not a scalar missing value
        missing = False
    if missing:
        raise _missing(name, ids, row, v)
    return str(v)


def id_text(v, name="customer"):
    """One customer id (an argument such as ``log.add(customer, ...)``) -> its text."""
    try:
        return _one(v, name, None, 0)
    except ValueError as e:  # "column 'customer', row 0: ..." -> "customer: ..."
        msg = str(e).replace(f"column '{name}', row 0: ", f"{name}: ", 1)
        raise ValueError(msg.split("; every transaction")[0]) from None


def id_column(ids, name="customer_id"):
    """Customer ids -> ``("int", int64 array)`` or ``("text", object array of str)``.

    Raises ValueError naming the row for a missing, boolean or fractional id."""
    import pandas as pd
    a = ids.to_numpy() if hasattr(ids, "to_numpy") else np.asarray(ids)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of ids, got shape {a.shape}")
    k = a.dtype.kind
    if k == "b":
        raise ValueError(f"{_where(name, ids, 0)}: customer ids are booleans")
    if k == "i":
        return "int", np.ascontiguousarray(a, dtype=np.int64)
    if k == "u":
        if a.size and a.max() > _INT64_MAX:
            return "text", np.array([str(int(v)) for v in a], dtype=object)
        return "int", np.ascontiguousarray(a, dtype=np.int64)
    if k == "f":
        bad = ~np.isfinite(a)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise _missing(name, ids, r, a[r])
        frac = a != np.floor(a)
        if frac.any():
            r = int(np.flatnonzero(frac)[0])
            raise _fraction(name, ids, r, a[r])
        if a.size and np.abs(a).max() >= 2.0 ** 63:
            return "text", np.array([str(int(v)) for v in a], dtype=object)
        return "int", np.ascontiguousarray(a, dtype=np.int64)
    if k in "US":
        return "text", a.astype(str).astype(object)
    # object (or anything else): look at the values. All-str columns (the usual ids
    # from pd.read_csv) need no missing-value scan: None/NaN would not infer "string".
    if k == "O" and a.size and pd.api.types.infer_dtype(a, skipna=False) == "string":
        return "text", a
    miss = pd.isna(a) if k == "O" else np.zeros(a.shape[0], dtype=bool)
    if np.any(miss):
        r = int(np.flatnonzero(miss)[0])
        raise _missing(name, ids, r, a[r])
    inferred = pd.api.types.infer_dtype(a, skipna=False) if a.size else "empty"
    if inferred in ("string", "empty"):
        return "text", a.astype(object)
    if inferred == "integer":
        try:
            return "int", np.ascontiguousarray(a.astype(np.int64))
        except OverflowError:
            pass
    return "text", np.array([_one(v, name, ids, i) for i, v in enumerate(a)], dtype=object)


def ids_index(ids, name="customer_id"):
    """pandas Index of customer ids (their texts): int64 when every id is an integer
    literal without leading zeros within int64, otherwise str.

    Vectorised: numpy parses the texts once and a round trip (int -> text equals the
    original) checks the literal rule for every id at once; only when that round trip
    differs somewhere (e.g. '+1', ' 1', '-0') does the exact per-id rule decide."""
    import pandas as pd
    if not (isinstance(ids, np.ndarray) and ids.dtype == object):
        ids = ids if isinstance(ids, list) else list(ids)
    if not len(ids) or not (_INT_TEXT.match(ids[0]) and _INT_TEXT.match(ids[-1])):
        return pd.Index(np.asarray(ids, dtype=object), dtype=object, name=name)
    a = np.array(ids, dtype=str)
    try:
        v = a.astype(np.int64)
    except (ValueError, OverflowError):
        # some text is no integer (or beyond int64): the rule cannot give int64
        return pd.Index(np.array(ids, dtype=object), dtype=object, name=name)
    if (v.astype(a.dtype) == a).all():
        return pd.Index(v, name=name)
    if all(_INT_TEXT.match(s) for s in ids):
        try:
            return pd.Index(np.array([int(s) for s in ids], dtype=np.int64), name=name)
        except OverflowError:
            pass
    return pd.Index(np.array(ids, dtype=object), dtype=object, name=name)


def _packed_raw(func, handle):
    import ctypes
    from ._errors import ERANGE, OK, check
    need = ctypes.c_size_t(0)
    rc = func(handle, None, 0, ctypes.byref(need))
    if rc not in (OK, ERANGE):
        check(rc)
    if need.value == 0:
        return b""
    buf = ctypes.create_string_buffer(need.value)
    check(func(handle, buf, need.value, ctypes.byref(need)))
    return buf.raw[: need.value]


def packed_ids(func, handle):
    """Every id of a C table or log as a list of str, in one C call (the 1.3
    ``churn_customers_ids_packed`` / ``churn_txlog_customer_ids_packed``): no per-id
    Python call, whatever the number of customers."""
    raw = _packed_raw(func, handle)
    return raw[:-1].decode().split("\0") if raw else []


def _int_literals(raw):
    """int64 values of NUL-terminated texts when every one is an integer literal
    without leading zeros and not "-0" (``0|-?[1-9][0-9]*``) of at most 18 digits, else
    None.
    Vectorised: one pass over the bytes for the NULs, then one pass over the ids per
    digit place (at most 18), no per-id Python call."""
    b = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(b == 0)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    neg = b[np.minimum(starts, b.size - 1)] == ord("-")
    first = starts + neg            # first digit
    ndig = ends - first
    if ndig.min() < 1 or ndig.max() > 18:
        return None
    if np.any((b[first] == ord("0")) & ((ndig > 1) | neg)):
        return None                 # a leading zero, or "-0" (a text of its own, not 0)
    out = np.zeros(ends.shape[0], dtype=np.int64)
    for place in range(int(ndig.max())):
        on = ndig > place
        pos = ends - 1 - place
        d = b[np.where(on, pos, 0)].astype(np.int64) - ord("0")
        if np.any(on & ((d < 0) | (d > 9))):
            return None
        out += np.where(on, d, 0) * _POW10[place]
    out[neg] = -out[neg]
    return out


def packed_index(func, handle, name="customer_id"):
    """The ids of a C table or log as the pandas Index of :func:`ids_index` (same rule),
    read in one C call and typed without a per-id Python step."""
    import pandas as pd
    raw = _packed_raw(func, handle)
    if not raw:
        return pd.Index([], dtype=object, name=name)
    head = raw[: raw.index(b"\0")]
    v = _int_literals(raw) if _INT_TEXT.match(head.decode("utf-8", "replace")) else None
    if v is not None:
        return pd.Index(v, name=name)
    return ids_index(raw[:-1].decode().split("\0"), name)
