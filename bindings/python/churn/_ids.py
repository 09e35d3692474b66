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

_INT_TEXT = re.compile(r"^-?(0|[1-9][0-9]*)$")
_INT64_MAX = np.iinfo(np.int64).max


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
    # object (or anything else): look at the values
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
    literal without leading zeros within int64, otherwise str."""
    import pandas as pd
    ids = list(ids)
    if ids and all(_INT_TEXT.match(s) for s in ids):
        try:
            return pd.Index(np.array([int(s) for s in ids], dtype=np.int64), name=name)
        except OverflowError:
            pass
    return pd.Index(ids, dtype=object, name=name)
