"""C status codes -> Python exceptions carrying the C message.

Every failing C call returns a negative ``churn_status`` (include/churn/common.h) and
records a message for the calling thread that names the function and the row, column,
unit or parameter at fault. :func:`check` turns that status into the exception of the
matching class below, with the message as its text and the status in ``.code``; out of
memory becomes Python's own ``MemoryError``. Every class derives from
:class:`ChurnError` and from the built-in exception a Python user would catch
(``ValueError``, ``TypeError``, ``OSError``, ``KeyError``, ``RuntimeError``,
``ArithmeticError``), so ``except ValueError`` works as expected.

- ``CHURN_EINVAL``, ``EFORMAT``, ``EVERSION``, ``ERANGE``: :class:`ChurnValueError`
  (a ``ValueError``);
- ``CHURN_EFAMILY``, ``EUNSUPPORTED``: :class:`ChurnTypeError` (a ``TypeError``);
- ``CHURN_EIO``: :class:`ChurnOSError` (an ``OSError``);
- ``CHURN_ENOTFOUND``: :class:`ChurnKeyError` (a ``KeyError``);
- ``CHURN_ENOCONV``: :class:`ConvergenceError` (a ``RuntimeError``);
- ``CHURN_ENUMERIC``, ``ESEPARATION``: :class:`NumericalError` (an ``ArithmeticError``);
- ``CHURN_EUNIT``: :class:`UnitMismatchError` (a :class:`ChurnValueError`);
- ``CHURN_ENOTFITTED``: :class:`ChurnError`;
- ``CHURN_ENOMEM``: Python's ``MemoryError``.
"""
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
    """Base of every error raised by libchurn; ``code`` is the C status.

    Catch it to handle any failure of the C library at once; the subclasses are
    also the matching built-in exceptions (``ValueError``, ``TypeError``, ...).

    Parameters
    ----------
    message : str
        The C library's message: the function, and the row, column, unit or
        parameter at fault.
    code : int
        The C status (a negative ``churn_status``, e.g. -1 for ``CHURN_EINVAL``).

    Attributes
    ----------
    code : int
        The C status code of the failing call.

    Examples
    --------
    >>> try:
    ...     churn.load_model("no_such_model.json")
    ... except churn.ChurnError as e:
    ...     print(type(e).__name__, e.code)
    ChurnOSError -6
    """

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


class ChurnValueError(ChurnError, ValueError):
    """Invalid input: a bad row, NaN, negative recency, a parameter out of range, a
    malformed or newer-version file (``CHURN_EINVAL``, ``EFORMAT``, ``EVERSION``,
    ``ERANGE``).

    Also a ``ValueError``. The message names the row, column or parameter.

    Parameters
    ----------
    message : str
        The C library's message: the function, and the row, column, unit or
        parameter at fault.
    code : int
        The C status (a negative ``churn_status``, e.g. -1 for ``CHURN_EINVAL``).

    Examples
    --------
    >>> try:
    ...     churn.BGNBD.from_params(r=-1.0, alpha=4.4, a=0.79, b=2.4)
    ... except ValueError as e:
    ...     print(type(e).__name__, e.code)
    ...     print(e)
    ChurnValueError -1
    churn_btyd_model_new: parameter 'r' = -1 must be a finite number > 0
    """


class ChurnTypeError(ChurnError, TypeError):
    """A model of another family than the operation needs (``CHURN_EFAMILY``), or an
    operation the family does not support (``CHURN_EUNSUPPORTED``).

    Also a ``TypeError``.

    Parameters
    ----------
    message : str
        The C library's message: the function, and the row, column, unit or
        parameter at fault.
    code : int
        The C status (a negative ``churn_status``, e.g. -1 for ``CHURN_EINVAL``).

    Examples
    --------
    A BG/NBD model where CLV needs a Gamma-Gamma spend model:

    >>> bg = churn.BGNBD.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4)
    >>> table = pd.DataFrame({"frequency": [2.0], "recency": [30.0], "T": [38.0],
    ...                       "monetary_value": [35.0]})
    >>> try:
    ...     churn.clv(bg, bg, table)
    ... except TypeError as e:
    ...     print(type(e).__name__, e.code)
    ChurnTypeError -8
    """


class ChurnOSError(ChurnError, OSError):
    """A file could not be read or written (``CHURN_EIO``).

    Also an ``OSError``; the message names the file and the system's reason.

    Parameters
    ----------
    message : str
        The C library's message: the function, and the row, column, unit or
        parameter at fault.
    code : int
        The C status (a negative ``churn_status``, e.g. -1 for ``CHURN_EINVAL``).

    Examples
    --------
    >>> try:
    ...     churn.load_model("no_such_model.json")
    ... except OSError as e:
    ...     print(e)
    cannot open model file 'no_such_model.json': No such file or directory
    """


class ChurnKeyError(ChurnError, KeyError):
    """A named column, parameter or customer does not exist (``CHURN_ENOTFOUND``).

    Also a ``KeyError``; unlike ``KeyError``, ``str(e)`` is the plain message (not
    its repr in quotes).

    Parameters
    ----------
    message : str
        The C library's message: the function, and the row, column, unit or
        parameter at fault.
    code : int
        The C status (a negative ``churn_status``, e.g. -1 for ``CHURN_EINVAL``).

    Examples
    --------
    >>> bg = churn.BGNBD.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4)
    >>> try:
    ...     bg.param("zzz")
    ... except KeyError as e:
    ...     print(type(e).__name__, e)
    ChurnKeyError churn_model_param: a 'bgnbd' model has no parameter 'zzz'
    """

    def __str__(self):
        return self.args[0]


class ChurnColumnError(ChurnKeyError, ChurnValueError):
    """A bad ``columns=`` option of a customer table: an unknown or empty column
    name, or a holdout column without ``holdout_end``.

    Both a ``KeyError`` (an unknown column, as binding 1.0 raised) and a
    ``ValueError`` (the C library's ``CHURN_EINVAL``).

    Parameters
    ----------
    message : str
        The C library's message: the function, and the row, column, unit or
        parameter at fault.
    code : int
        The C status (a negative ``churn_status``, e.g. -1 for ``CHURN_EINVAL``).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "date": ["2024-01-01", "2024-02-01", "2024-01-05"],
    ...                    "amount": [10.0, 20.0, 5.0]})
    >>> try:
    ...     churn.customer_table(tx, cutoff="2024-03-01", columns=["frequency", "nope"])
    ... except KeyError as e:
    ...     print(type(e).__name__, isinstance(e, ValueError))
    ChurnColumnError True
    """


class UnitMismatchError(ChurnValueError):
    """The time units of a model and of the data it meets differ (``CHURN_EUNIT``).

    Raised when a model fitted in one time unit (its ``time_unit_``) is given a
    customer table in another (``table.attrs["time_unit"]`` or a declared ``unit=``),
    and when a declared ``unit=`` contradicts the table's own unit. The message names
    both units, e.g. "the 'bgnbd' model was fitted in weeks (7 days) but the data are
    in days (1 day)". Rebuild the table in the model's unit, or convert the model on
    purpose with ``model.convert_time_unit(unit)``.

    A subclass of :class:`ChurnValueError` (hence of ``ValueError``).

    Parameters
    ----------
    message : str
        The C library's message: the function, and the row, column, unit or
        parameter at fault.
    code : int
        The C status (a negative ``churn_status``, e.g. -1 for ``CHURN_EINVAL``).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "date": ["2024-01-01", "2024-02-01", "2024-01-05"],
    ...                    "amount": [10.0, 20.0, 5.0]})
    >>> days = churn.customer_table(tx, cutoff="2024-03-01", unit="day")
    >>> weekly = churn.BGNBD.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4, unit="week")
    >>> try:
    ...     weekly.p_alive(days)
    ... except churn.UnitMismatchError as e:
    ...     print(e)
    the 'bgnbd' model was fitted in weeks (7 days) but the data are in days (1 day): ...
    """


class ConvergenceError(ChurnError, RuntimeError):
    """The optimiser did not converge (``CHURN_ENOCONV``).

    Also a ``RuntimeError``. The message gives the iterations and the last
    estimates; ``.model`` holds the partial fit when one is available (else None).

    Parameters
    ----------
    message : str
        The C library's message: the function, and the row, column, unit or
        parameter at fault.
    code : int
        The C status (a negative ``churn_status``, e.g. -1 for ``CHURN_EINVAL``).

    Attributes
    ----------
    model : Model or None
        The not-converged fit, when the raising call provides it.

    Examples
    --------
    Gamma-Gamma on two customers whose spends show no heterogeneity:

    >>> try:
    ...     churn.GammaGamma().fit(frequency=[1, 2], monetary_value=[3.0, 4.0])
    ... except churn.ConvergenceError as e:
    ...     print(type(e).__name__, e.code)
    ConvergenceError -4
    """

    model = None


class NumericalError(ChurnError, ArithmeticError):
    """A numerical failure: a singular matrix, an overflow, complete separation in a
    logistic regression (``CHURN_ENUMERIC``, ``CHURN_ESEPARATION``).

    Also an ``ArithmeticError``; the message names the column at fault and the cure.

    Parameters
    ----------
    message : str
        The C library's message: the function, and the row, column, unit or
        parameter at fault.
    code : int
        The C status (a negative ``churn_status``, e.g. -1 for ``CHURN_EINVAL``).

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> try:
    ...     churn.LogisticRegression().fit(X, np.array([0, 0, 1, 1]))
    ... except ArithmeticError as e:
    ...     print(type(e).__name__, e.code)
    ...     print(str(e)[:60])
    NumericalError -13
    churn_logit_fit: complete separation: column 'x1' predicts t
    """


_CLASSES = {
    EINVAL: ChurnValueError, EFORMAT: ChurnValueError, EVERSION: ChurnValueError,
    ERANGE: ChurnValueError, EFAMILY: ChurnTypeError, EUNSUPPORTED: ChurnTypeError,
    EIO: ChurnOSError, ENOTFOUND: ChurnKeyError, ENOCONV: ConvergenceError,
    ENUMERIC: NumericalError, ESEPARATION: NumericalError, ENOTFITTED: ChurnError,
    EUNIT: UnitMismatchError,
}


def error_for(code):
    """The exception for a failure status, carrying the calling thread's C message.

    Parameters
    ----------
    code : int
        A negative ``churn_status`` just returned by a C call on this thread.

    Returns
    -------
    Exception
        An instance of the class mapped to `code` (module doc), with the message of
        ``churn_last_error_message()`` (``churn_strerror(code)`` when it is empty);
        ``MemoryError`` for ``CHURN_ENOMEM``.

    Examples
    --------
    >>> from churn import _errors
    >>> type(_errors.error_for(_errors.EUNIT)).__name__
    'UnitMismatchError'
    """
    msg = _lib.churn_last_error_message().decode("utf-8", "replace")
    if not msg:
        msg = _lib.churn_strerror(code).decode()
    if code == ENOMEM:
        return MemoryError(msg)
    return _CLASSES.get(code, ChurnError)(msg, code)


def check(code):
    """Raise the matching exception when a C call returned a failure status.

    Parameters
    ----------
    code : int
        The status returned by a C call (``CHURN_OK`` = 0 or a negative
        ``churn_status``).

    Returns
    -------
    int
        `code` itself when it is ``CHURN_OK``.

    Raises
    ------
    ChurnError
        Or the subclass for `code` (see :func:`error_for`); ``MemoryError`` for
        ``CHURN_ENOMEM``.

    Examples
    --------
    >>> from churn import _errors
    >>> _errors.check(0)
    0
    """
    if code != OK:
        raise error_for(code)
    return code
