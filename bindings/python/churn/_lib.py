"""Loading libchurn.so.1 and declaring its C functions for ctypes.

Every function used by the package is declared with ``argtypes`` and ``restype``
(here or through :func:`fn` in the module that wraps it); nothing is called through
ctypes' default ``int`` return.

The C library is looked for, in this order:

1. ``CHURN_LIBRARY``: when this environment variable is set, its path and nothing
   else (an explicit choice that fails is an error, not a reason to load another copy);
2. the copy installed with this package: ``pip install`` puts libchurn.so.1 inside the
   package, ``meson install`` into the libdir of the same prefix; ``_build_config.py``,
   written at install time, holds its path relative to the package;
3. in a source checkout (no ``_build_config.py``), ``build/lib/libchurn.so.1`` of the
   checkout, where ``meson setup build`` puts it;
4. ``libchurn.so.1`` through the system's dynamic loader (``ldconfig``'s cache,
   ``LD_LIBRARY_PATH``).

When none loads, ``import churn`` raises ImportError listing each place tried and
why it failed. :data:`churn.library_path` is the path that was loaded.
"""
import ctypes
import os
from ctypes import (POINTER, c_char_p, c_double, c_int, c_int64, c_size_t, c_uint32,
                    c_void_p)

c_double_p = POINTER(c_double)
c_int_p = POINTER(c_int)
c_size_t_p = POINTER(c_size_t)
c_uint32_p = POINTER(c_uint32)
c_int64_p = POINTER(c_int64)

SONAME = "libchurn.so.1"
_HERE = os.path.dirname(os.path.abspath(__file__))


def _installed_library():
    """Path of the library installed with this package, or None (not installed)."""
    try:
        from . import _build_config
    except ImportError:
        return None
    return os.path.normpath(os.path.join(_HERE, _build_config.LIBRARY))


def _candidates():
    """(what, path) in the order tried; `what` says where the path comes from."""
    env = os.environ.get("CHURN_LIBRARY")
    if env:
        yield "CHURN_LIBRARY", env
        return
    installed = _installed_library()
    if installed is not None:
        yield "the copy installed with this package", installed
    else:
        checkout = os.path.normpath(os.path.join(_HERE, "..", "..", ".."))
        if os.path.isfile(os.path.join(checkout, "meson.build")):
            for build in ("build", "build-lead"):
                path = os.path.join(checkout, build, "lib", SONAME)
                if os.path.exists(path) or build == "build":
                    yield "the build folder of this source checkout", path
    yield "the system's library search path (ldconfig, LD_LIBRARY_PATH)", SONAME


def _load():
    tried = []
    for what, path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(f"{what}: {path} does not exist")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:  # pragma: no cover - depends on the machine
            tried.append(f"{what}: {e}")
    if "CHURN_LIBRARY" not in os.environ:
        tried.insert(0, "CHURN_LIBRARY: not set")
    raise ImportError(
        f"cannot load {SONAME}, the C library of the churn package. Tried:\n  - "
        + "\n  - ".join(tried)
        + "\nInstall the package with its library (from the libchurn source tree: "
        "'pip install --no-build-isolation .' or 'meson install -C build'), or set "
        f"CHURN_LIBRARY to the path of {SONAME}.")


lib, library_path = _load()


def fn(name, restype, *argtypes):
    """Declare C function `name` with its result and argument types and return it.

    Parameters
    ----------
    name : str
        The exported C name (``churn_...``).
    restype : ctypes type or None
        The C result type (None for ``void``).
    *argtypes : ctypes types
        The C parameter types, in order.

    Returns
    -------
    ctypes function pointer
        Bound to the loaded library, with ``restype`` and ``argtypes`` set.

    Raises
    ------
    AttributeError
        The library does not export `name` (an older libchurn).

    Examples
    --------
    >>> from churn import _lib
    >>> f = _lib.fn("churn_version_string", _lib.c_char_p)
    >>> f().decode() == churn.__version__
    True
    """
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


# ---- common.h ----
churn_version_string = fn("churn_version_string", c_char_p)
churn_version_number = fn("churn_version_number", c_int)
churn_strerror = fn("churn_strerror", c_char_p, c_int)
churn_last_error_message = fn("churn_last_error_message", c_char_p)
churn_last_error_code = fn("churn_last_error_code", c_int)
churn_clear_error = fn("churn_clear_error", None)

# ---- model.h ----
churn_model_free = fn("churn_model_free", None, c_void_p)
churn_model_family = fn("churn_model_family", c_int, c_void_p)
churn_family_name = fn("churn_family_name", c_char_p, c_int)
churn_family_from_name = fn("churn_family_from_name", c_int, c_char_p, c_int_p)
churn_model_num_params = fn("churn_model_num_params", c_size_t, c_void_p)
churn_model_param_name = fn("churn_model_param_name", c_char_p, c_void_p, c_size_t)
churn_model_params = fn("churn_model_params", c_int, c_void_p, c_double_p, c_size_t)
churn_model_std_errors = fn("churn_model_std_errors", c_int, c_void_p, c_double_p, c_size_t)
churn_model_covariance = fn("churn_model_covariance", c_int, c_void_p, c_double_p, c_size_t)
churn_model_param = fn("churn_model_param", c_int, c_void_p, c_char_p, c_double_p, c_double_p)
churn_model_loglik = fn("churn_model_loglik", c_double, c_void_p)
churn_model_nobs = fn("churn_model_nobs", c_double, c_void_p)
churn_model_converged = fn("churn_model_converged", c_int, c_void_p)
churn_model_iterations = fn("churn_model_iterations", c_int, c_void_p)
churn_model_time_unit = fn("churn_model_time_unit", c_double, c_void_p)
churn_model_set_time_unit = fn("churn_model_set_time_unit", c_int, c_void_p, c_double)
churn_model_check_time_unit = fn("churn_model_check_time_unit", c_int, c_void_p, c_double)
churn_time_unit_describe = fn("churn_time_unit_describe", c_size_t, c_double, c_char_p, c_size_t)
churn_model_num_features = fn("churn_model_num_features", c_size_t, c_void_p)
churn_model_feature_name = fn("churn_model_feature_name", c_char_p, c_void_p, c_size_t)
churn_model_note = fn("churn_model_note", c_char_p, c_void_p)
churn_model_save = fn("churn_model_save", c_int, c_void_p, c_char_p)
churn_model_save_buffer = fn("churn_model_save_buffer", c_int, c_void_p, c_char_p, c_size_t,
                             c_size_t_p)
churn_model_load = fn("churn_model_load", c_int, POINTER(c_void_p), c_char_p)
churn_model_load_buffer = fn("churn_model_load_buffer", c_int, POINTER(c_void_p), c_char_p,
                             c_size_t)

# ---- txlog.h ----
churn_txlog_new = fn("churn_txlog_new", c_int, POINTER(c_void_p))
churn_txlog_free = fn("churn_txlog_free", None, c_void_p)
churn_txlog_append_arrays = fn("churn_txlog_append_arrays", c_int, c_void_p, c_size_t, c_int64_p,
                               c_double_p, c_double_p, c_double_p, c_int64_p)
churn_txlog_append_arrays_str = fn("churn_txlog_append_arrays_str", c_int, c_void_p, c_size_t,
                                   POINTER(c_char_p), c_double_p, c_double_p, c_double_p,
                                   POINTER(c_char_p))
churn_txlog_num_transactions = fn("churn_txlog_num_transactions", c_size_t, c_void_p)
churn_txlog_num_customers = fn("churn_txlog_num_customers", c_size_t, c_void_p)
churn_txlog_customer_id = fn("churn_txlog_customer_id", c_char_p, c_void_p, c_size_t)
# 1.3 (issue 21): every id in one call (buf, cap, needed)
churn_txlog_customer_ids_packed = fn("churn_txlog_customer_ids_packed", c_int, c_void_p,
                                     c_char_p, c_size_t, c_size_t_p)
churn_customers_ids_packed = fn("churn_customers_ids_packed", c_int, c_void_p, c_char_p,
                                c_size_t, c_size_t_p)
churn_txlog_min_time = fn("churn_txlog_min_time", c_double, c_void_p)
churn_txlog_max_time = fn("churn_txlog_max_time", c_double, c_void_p)
churn_txlog_rows_skipped = fn("churn_txlog_rows_skipped", c_size_t, c_void_p)
churn_txlog_rows_read = fn("churn_txlog_rows_read", c_size_t, c_void_p)
churn_txlog_rows_failed = fn("churn_txlog_rows_failed", c_size_t, c_void_p)
churn_txlog_skip_message = fn("churn_txlog_skip_message", c_char_p, c_void_p, c_size_t)
churn_parse_date = fn("churn_parse_date", c_int, c_char_p, c_size_t, c_int, c_double_p)
