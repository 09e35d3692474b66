"""Time units travel with the data: where a customer table meets a model, both units are
compared (include/churn/model.h ``churn_model_check_time_unit``).

A customer table built by :func:`churn.customer_table` (or a :class:`CustomerStream`)
carries its unit in ``df.attrs["time_unit"]`` (days per unit); pandas keeps ``attrs``
through slicing, ``.loc``/``.iloc``, column selection, ``copy``, ``merge``, ``concat``
and pickling. A model fitted from such a table records the unit (``model.time_unit_``).
Every prediction, score, CLV, DERT and evaluation path that receives a table of known
unit compares it with the model's unit and raises :class:`churn.UnitMismatchError`
naming both when they differ.

A table written by ``churn features`` and read back with ``pd.read_csv`` carries its unit
in the column ``time_unit_days`` (the same on every row); it counts as the table's unit
when ``attrs`` has none.

Where one side is unknown -- a plain DataFrame without ``attrs`` or ``time_unit_days``
(e.g. a CSV of other origin), numpy arrays, a model built by ``from_params`` or fitted from arrays -- nothing
can be compared and the caller owns the unit. Declare it with ``unit=`` (data) or
``set_time_unit`` / ``from_params(..., unit=...)`` / ``fit(..., unit=...)`` (model)
and the check applies again.
"""
import ctypes

from . import _lib
from ._errors import EUNIT, UnitMismatchError, check

__all__ = ["describe_time_unit"]


def describe_time_unit(unit):
    """Describe a time unit in words, as the C library's messages do.

    Parameters
    ----------
    unit : str or float or None
        'day', 'week', 'month' (30.4375 days), 'year' (365.25 days), a number of
        days, or 0 / None for unknown.

    Returns
    -------
    str
        e.g. ``"weeks (7 days)"``, ``"units of 3 days"``, ``"an unknown unit"``;
        ``"an invalid unit"`` for a negative or non-finite number of days.

    See Also
    --------
    UnitMismatchError : raised with two such descriptions when units differ.

    Examples
    --------
    >>> churn.describe_time_unit("week")
    'weeks (7 days)'
    >>> churn.describe_time_unit("month")
    'months (30.4375 days)'
    >>> churn.describe_time_unit(3)
    'units of 3 days'
    >>> churn.describe_time_unit(None)
    'an unknown unit'
    """
    from ._customers import time_unit_days
    days = 0.0 if unit is None else time_unit_days(unit)
    buf = ctypes.create_string_buffer(96)
    _lib.churn_time_unit_describe(float(days), buf, len(buf))
    return buf.value.decode()


def _column_unit(data):
    """The unit of a ``time_unit_days`` column (the command's declaration), or None.

    Parameters
    ----------
    data : pandas.DataFrame or dict or None
        A customer table, e.g. ``churn features`` output read with ``pd.read_csv``.

    Returns
    -------
    float or None
        Days per unit, or None without such a column (or with no positive value).

    Raises
    ------
    UnitMismatchError
        The column mixes rows in different units.
    """
    import numpy as np
    if isinstance(data, dict):
        present = "time_unit_days" in data
    else:  # a DataFrame; arrays have no named columns
        present = "time_unit_days" in getattr(data, "columns", ())
    if not present:
        return None
    try:
        col = np.asarray(data["time_unit_days"], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    col = col[np.isfinite(col)]
    if col.size == 0:
        return None
    lo, hi = float(col.min()), float(col.max())
    if abs(hi - lo) > 1e-9 * max(abs(hi), 1.0):
        raise UnitMismatchError(
            f"column 'time_unit_days' mixes rows in {describe_time_unit(lo)} and "
            f"{describe_time_unit(hi)}: score each unit separately", EUNIT)
    return lo if lo > 0 else None


def data_unit(data, unit=None):
    """The time unit (days) of `data`, or None when unknown.

    The data's own unit is ``attrs["time_unit"]`` (a customer table), else a
    ``time_unit_days`` column (the command's output read back). A declared `unit` is
    used when the data carry none, and must agree with it when they do.

    Parameters
    ----------
    data : pandas.DataFrame or dict or numpy.ndarray or None
        The data a model meets.
    unit : str or float, optional
        The unit the caller declares (``unit=`` of the public calls).

    Returns
    -------
    float or None
        Days per unit, or None when neither the data nor the caller say.

    Raises
    ------
    UnitMismatchError
        `unit` contradicts the data's own unit.
    ValueError
        `unit` is not a positive number of days or a unit name.

    Examples
    --------
    >>> from churn._units import data_unit
    >>> table = pd.DataFrame({"frequency": [1.0]})
    >>> table.attrs["time_unit"] = 7.0
    >>> data_unit(table), data_unit(table, "week"), data_unit(pd.DataFrame(), "day")
    (7.0, 7.0, 1.0)
    """
    from ._customers import time_unit_days
    attrs = getattr(data, "attrs", None) if data is not None else None
    carried = attrs.get("time_unit") if isinstance(attrs, dict) else None
    try:
        carried = float(carried) if carried else None
    except (TypeError, ValueError):
        carried = None
    if carried is not None and not carried > 0:
        carried = None
    if carried is None:
        carried = _column_unit(data)
    if unit is None:
        return carried
    declared = time_unit_days(unit)
    if not declared > 0:
        raise ValueError(f"unit: {unit!r} must be a positive number of days or a unit name")
    if carried is not None and abs(carried - declared) > 1e-9 * max(carried, declared):
        raise UnitMismatchError(
            f"unit={unit!r} declares the data in {describe_time_unit(declared)} but the "
            f"table says {describe_time_unit(carried)} (attrs['time_unit'] or its "
            "time_unit_days column): drop unit= or rebuild the table in the declared unit",
            EUNIT)
    return declared


def check_model_unit(model, data=None, unit=None):
    """Raise UnitMismatchError when `model` and `data` (or the declared `unit`) are in
    different known time units; do nothing when either side is unknown.

    Parameters
    ----------
    model : Model
        A fitted or ``from_params`` model (its ``time_unit_`` may be unknown).
    data : pandas.DataFrame or dict or numpy.ndarray, optional
        The data the model is about to score.
    unit : str or float, optional
        The unit the caller declares for `data`.

    Returns
    -------
    None

    Raises
    ------
    UnitMismatchError
        Both units are known and differ; the message names both and the two cures.

    Examples
    --------
    >>> from churn._units import check_model_unit
    >>> bg = churn.BGNBD.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4, unit="week")
    >>> check_model_unit(bg, unit="week")
    >>> check_model_unit(bg, unit="day")
    Traceback (most recent call last):
    ...
    churn._errors.UnitMismatchError: the 'bgnbd' model was fitted in weeks (7 days) ...
    """
    days = data_unit(data, unit)
    if days is None:
        return
    h = model._require()
    mu = _lib.churn_model_time_unit(h)
    if not mu > 0:
        return  # the model's unit is unknown: the caller owns it
    try:
        check(_lib.churn_model_check_time_unit(h, days))
    except UnitMismatchError as e:
        msg = str(e)
        cut = msg.find(": rebuild the data")  # the C advice names C functions
        if cut > 0:
            msg = msg[:cut]
        raise UnitMismatchError(
            f"{msg}: build the table with unit={_unit_arg(mu)}, or convert the model on "
            f"purpose with model.convert_time_unit({_unit_arg(days)})", e.code) from None


def _unit_arg(days):
    """The shortest `unit=` argument that names `days` (``'week'``, or ``3.5``)."""
    for name, d in (("day", 1.0), ("week", 7.0), ("month", 30.4375), ("year", 365.25)):
        if abs(days - d) <= 1e-9 * d:
            return repr(name)
    return f"{days:.10g}"


def record_unit(model, data=None, unit=None):
    """After a fit: record the unit of `data` (attrs) or the declared `unit` in the
    model.

    Parameters
    ----------
    model : Model
        The model just fitted.
    data : pandas.DataFrame or dict or numpy.ndarray, optional
        The data it was fitted on.
    unit : str or float, optional
        The unit declared with ``fit(..., unit=...)``.

    Returns
    -------
    Model
        `model`, with its unit set when one is known.

    Examples
    --------
    >>> from churn._units import record_unit
    >>> bg = churn.BGNBD.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4)
    >>> float(record_unit(bg, unit="week").time_unit_)
    7.0
    """
    days = data_unit(data, unit)
    if days is not None:
        check(_lib.churn_model_set_time_unit(model._require(), days))
    return model
