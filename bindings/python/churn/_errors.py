"""C status codes -> Python exceptions carrying the C message."""
from . import _lib

OK = 0
EINVAL = -1
ENOMEM = -2
ENOTFITTED = -3
ENOCONV = -4
EUNSUPPORTED = -5
EIO = -6
EFORMAT = -7
EFAMILY = -8
ENUMERIC = -9
EVERSION = -10
ERANGE = -11
ENOTFOUND = -12
ESEPARATION = -13
EUNIT = -14


class ChurnError(Exception):
    """Base of every error raised by libchurn. ``code`` is the C status."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


class ChurnValueError(ChurnError, ValueError):
    """Invalid input (bad row, NaN, negative recency, malformed file, ...)."""


class ChurnTypeError(ChurnError, TypeError):
    """The model is of another family than the operation needs."""


class ChurnOSError(ChurnError, OSError):
    """A file could not be read or written."""


class ChurnKeyError(ChurnError, KeyError):
    """A named column, parameter or customer does not exist."""

    def __str__(self):
        return self.args[0]


class ChurnColumnError(ChurnKeyError, ChurnValueError):
    """A bad `columns` option (unknown or empty name, a holdout column without
    holdout_end): both a KeyError (an unknown column, as binding 1.0 raised) and a
    ValueError (the C library's CHURN_EINVAL)."""


class UnitMismatchError(ChurnValueError):
    """The time units of a model and of the data it meets differ (``CHURN_EUNIT``).

    Raised when a model fitted in one time unit (its ``time_unit_``) is given a
    customer table in another (``table.attrs["time_unit"]`` or a declared ``unit=``),
    and when a declared ``unit=`` contradicts the table's own unit. The message names
    both units, e.g. "the 'bgnbd' model was fitted in weeks (7 days) but the data are
    in days (1 day)". Rebuild the table in the model's unit, or convert the model on
    purpose with ``model.convert_time_unit(unit)``.

    A subclass of :class:`ChurnValueError` (hence of ``ValueError``).
    """


class ConvergenceError(ChurnError, RuntimeError):
    """The optimiser did not converge (the partial fit is in ``.model`` when available)."""

    model = None


class NumericalError(ChurnError, ArithmeticError):
    """A numerical failure (singular matrix, overflow, separation)."""


_CLASSES = {
    EINVAL: ChurnValueError, EFORMAT: ChurnValueError, EVERSION: ChurnValueError,
    ERANGE: ChurnValueError, EFAMILY: ChurnTypeError, EUNSUPPORTED: ChurnTypeError,
    EIO: ChurnOSError, ENOTFOUND: ChurnKeyError, ENOCONV: ConvergenceError,
    ENUMERIC: NumericalError, ESEPARATION: NumericalError, ENOTFITTED: ChurnError,
    EUNIT: UnitMismatchError,
}


def error_for(code):
    msg = _lib.churn_last_error_message().decode("utf-8", "replace")
    if not msg:
        msg = _lib.churn_strerror(code).decode()
    if code == ENOMEM:
        return MemoryError(msg)
    return _CLASSES.get(code, ChurnError)(msg, code)


def check(code):
    """Raise the matching exception when a C call returned a failure status."""
    if code != OK:
        raise error_for(code)
    return code
