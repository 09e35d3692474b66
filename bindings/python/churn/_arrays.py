"""numpy <-> C buffer conversion. Contiguous float64 arrays pass without a copy."""

import numpy as np

from . import _lib


def as_f64(x, name, n=None):
    """Return a C-contiguous float64 1-D view/copy of `x` (no copy when it already is one).

    Raises TypeError for non-numeric input and ValueError for a wrong shape or length;
    NaN and range checks are the C library's (its message names the row)."""
    if hasattr(x, "to_numpy"):  # pandas Series / Index
        x = x.to_numpy()
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numbers, got dtype {a.dtype}")
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {a.shape}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name}: length {a.shape[0]} does not match {n}")
    return a


def optional_f64(x, name, n):
    return None if x is None else as_f64(x, name, n)


def ptr(a):
    """double* of a float64 array (or NULL for None)."""
    if a is None:
        return None
    return a.ctypes.data_as(_lib.c_double_p)


def empty(n):
    return np.empty(int(n), dtype=np.float64)
