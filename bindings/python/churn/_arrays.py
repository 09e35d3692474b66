"""numpy <-> C buffer conversion. Contiguous float64 arrays pass without a copy."""

import numpy as np

from . import _lib


def as_f64(x, name, n=None):
    """A C-contiguous float64 1-D array of `x` (no copy when it already is one).

    Parameters
    ----------
    x : array_like or pandas.Series or scalar
        Numbers (bool, int, unsigned or float dtypes); a scalar becomes length 1.
    name : str
        The argument's name, used in error messages.
    n : int, optional
        The length `x` must have.

    Returns
    -------
    numpy.ndarray
        float64, 1-D, C-contiguous: `x` itself when it already is such an array.

    Raises
    ------
    TypeError
        Non-numeric input (the message names the dtype).
    ValueError
        A wrong shape or length. NaN and range checks are the C library's (its
        message names the row).

    Examples
    --------
    >>> from churn._arrays import as_f64
    >>> as_f64([1, 2, 3], "frequency")
    array([1., 2., 3.])
    >>> a = np.zeros(3)
    >>> as_f64(a, "T") is a
    True
    """
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
    """:func:`as_f64` of `x`, or None when `x` is None (an optional C array).

    Parameters
    ----------
    x : array_like or None
        Numbers, or None for "not given".
    name : str
        The argument's name, used in error messages.
    n : int
        The length `x` must have.

    Returns
    -------
    numpy.ndarray or None
        float64 1-D array of length `n`, or None.

    Examples
    --------
    >>> from churn._arrays import optional_f64
    >>> optional_f64(None, "weights", 3) is None
    True
    """
    return None if x is None else as_f64(x, name, n)


def ptr(a):
    """The ``double *`` of a float64 array for ctypes (NULL for None).

    Parameters
    ----------
    a : numpy.ndarray or None
        A C-contiguous float64 array (from :func:`as_f64` or :func:`empty`), which
        must stay referenced for as long as C uses the pointer.

    Returns
    -------
    ctypes.POINTER(ctypes.c_double) or None

    Examples
    --------
    >>> from churn._arrays import ptr
    >>> ptr(np.array([2.5]))[0]
    2.5
    """
    if a is None:
        return None
    return a.ctypes.data_as(_lib.c_double_p)


def empty(n):
    """An uninitialised float64 array of length `n`: an output buffer for C.

    Parameters
    ----------
    n : int
        The length.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> from churn._arrays import empty
    >>> empty(4).shape
    (4,)
    """
    return np.empty(int(n), dtype=np.float64)
