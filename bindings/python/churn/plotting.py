"""Plots of churn models with matplotlib (optional: imported only when a plot is drawn).

Every function draws on `ax` (a new figure's axes when None) and returns the Axes:

- :func:`plot_frequency_recency_matrix`: expected purchases in the next `t` time units
  by frequency and recency (lifetimes' matrix);
- :func:`plot_probability_alive_matrix`: P(alive) by frequency and recency;
- :func:`plot_period_transactions`: customers by number of repeat purchases, actual
  vs the model (lifetimes' plot of the same name);
- :func:`plot_history_alive`: one customer's P(alive) over time with their purchases
  (lifetimes' plot of the same name);
- :func:`plot_calibration_purchases_vs_holdout_purchases`: mean actual vs predicted
  holdout purchases by calibration frequency (Fader, Hardie & Lee 2005, Fig. 4);
- :func:`plot_cumulative_transactions`: tracking of actual vs expected cumulative (or
  incremental) repeat purchases (Figs. 2-3);
- :func:`plot_km`: Kaplan-Meier curves with confidence bands;
- :func:`plot_lift`, :func:`plot_gains`: lift per bin and the cumulative gains curve;
- :func:`plot_calibration_curve`: reliability diagram of churn probabilities.

Axes and legends name the time unit (the model's ``time_unit_``, the table's
``attrs["time_unit"]``, or `unit=`) and the value tiers by the C library's names
(key, important, ordinary). Functions that take transactions accept a
:class:`churn.TransactionLog` or a DataFrame (read by
:meth:`churn.TransactionLog.coerce` with the documented column names).

The numbers come from the C library; these functions only draw them. In a headless
process set ``MPLBACKEND=Agg`` (or call ``matplotlib.use("Agg")``) before plotting.
"""
import numpy as np

_UNIT_NAMES = {1.0: "day", 7.0: "week", 30.4375: "month", 91.3125: "quarter",
               365.25: "year"}


def _unit_days(model=None, data=None, unit=None):
    """The time unit in days: `unit`, else the data's attrs, else the model's; None."""
    from ._customers import time_unit_days
    if unit is not None:
        return time_unit_days(unit)
    attrs = getattr(data, "attrs", None)
    if isinstance(attrs, dict) and attrs.get("time_unit"):
        return float(attrs["time_unit"])
    if model is not None:
        try:
            u = float(model.time_unit_)
        except (AttributeError, RuntimeError, TypeError):
            u = 0.0
        if u > 0:
            return u
    return None


def unit_label(days, plural=True):
    """A time unit in words for axis labels.

    Parameters
    ----------
    days : float or None
        The unit in days; None or 0 for unknown.
    plural : bool, default True
        'weeks' rather than 'week'.

    Returns
    -------
    str
        'days', 'weeks', 'months', 'quarters', 'years', 'units of 3 days', or
        'time units' when unknown.

    Examples
    --------
    >>> from churn import plotting
    >>> plotting.unit_label(7.0), plotting.unit_label(1.0, plural=False)
    ('weeks', 'day')
    >>> plotting.unit_label(3.0), plotting.unit_label(None)
    ('units of 3 days', 'time units')
    """
    if not days:
        return "time units" if plural else "time unit"
    name = _UNIT_NAMES.get(round(float(days), 6))
    if name is None:
        return f"units of {float(days):g} days" if plural else f"unit of {float(days):g} days"
    return name + "s" if plural else name


def _per(t, days):
    """'1 week', '52 weeks', '3 units of 2 days'."""
    return f"{t:.4g} {unit_label(days, plural=(t != 1))}"


def _plt():
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the machine
        raise ImportError("churn.plotting needs matplotlib (Debian: apt install "
                          "python3-matplotlib; pip: pip install matplotlib)") from e
    return plt


def _axes(ax):
    if ax is None:
        _fig, ax = _plt().subplots()
    else:
        _plt()
    return ax


def _grid(model, T, max_frequency, max_recency, data):
    if T is None:
        if data is None:
            raise ValueError("pass T (the calibration age of the grid) or data (a customer "
                             "table, T = its largest T)")
        T = float(np.max(np.asarray(data["T"], dtype=float)))
    if max_frequency is None:
        max_frequency = (int(np.max(np.asarray(data["frequency"], dtype=float)))
                         if data is not None else 20)
    if max_recency is None:
        max_recency = T
    f = np.arange(int(max_frequency) + 1, dtype=float)
    r = np.linspace(0.0, float(max_recency), 50)
    F, R = np.meshgrid(f, r, indexing="ij")
    valid = (R <= T) & ~((F == 0) & (R > 0))
    return f, r, F, R, valid, T


def _matrix_plot(values, f, r, ax, title, label, cmap, days):
    ax = _axes(ax)
    im = ax.imshow(values, aspect="auto", origin="lower", cmap=cmap,
                   extent=[r[0], r[-1], f[0] - 0.5, f[-1] + 0.5], interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, label=label)
    ax.set_xlabel(f"recency ({unit_label(days)} from the first to the last purchase)")
    ax.set_ylabel("frequency (repeat purchases)")
    ax.set_title(title)
    return ax


def plot_frequency_recency_matrix(model, T=None, data=None, max_frequency=None,
                                  max_recency=None, t=1.0, ax=None, cmap="viridis",
                                  unit=None):
    """Expected purchases in the next `t` time units by frequency and recency.

    For customers of age `T` (a BTYD model's conditional expectation; lifetimes'
    matrix). The title, colour bar and x-axis name the time unit.

    Parameters
    ----------
    model : churn.BGNBD, churn.ParetoNBD, churn.MBGNBD or churn.BGBB
        A fitted BTYD model.
    T : float, optional
        Age of the customers in the grid (time units); default: the largest T of
        `data`.
    data : pandas.DataFrame, optional
        A customer table: T, the frequency range and the unit come from it.
    max_frequency : int, optional
        Largest frequency shown (default: the table's largest, or 20).
    max_recency : float, optional
        Largest recency shown (default T).
    t : float, default 1.0
        The horizon, in the model's time unit.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    cmap : str, default "viridis"
        Colour map.
    unit : str or float, optional
        The time unit for the labels when neither `data` nor the model records one.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from churn import plotting
    >>> log = churn.simulate("bgnbd", 300, seed=1, days=365, holdout_days=182)
    >>> table = churn.customer_table(log, cutoff="1997-12-31", holdout_end="1998-07-01",
    ...                              unit="week")
    >>> bg = churn.BGNBD().fit(table)
    >>> ax = plotting.plot_frequency_recency_matrix(bg, data=table, t=4)
    >>> ax.get_title()
    'Expected purchases in the next 4 weeks, customers of age T = 52 weeks'
    >>> ax.get_xlabel()
    'recency (weeks from the first to the last purchase)'
    >>> plt.close(ax.figure)
    """
    _plt()  # fail early with a clear message when matplotlib is missing
    days = _unit_days(model, data, unit)
    f, r, F, R, valid, T = _grid(model, T, max_frequency, max_recency, data)
    z = np.full(F.shape, np.nan)
    z[valid] = np.asarray(model.expected_purchases(t, frequency=F[valid], recency=R[valid],
                                                   T=np.full(valid.sum(), T)))
    return _matrix_plot(z, f, r, ax, f"Expected purchases in the next {_per(t, days)}, "
                        f"customers of age T = {_per(T, days)}",
                        f"expected purchases in the next {_per(t, days)}", cmap, days)


def plot_probability_alive_matrix(model, T=None, data=None, max_frequency=None,
                                  max_recency=None, ax=None, cmap="RdYlGn", unit=None):
    """P(alive) for customers of age `T` by frequency and recency (a BTYD model).

    Parameters
    ----------
    model : churn.BGNBD, churn.ParetoNBD, churn.MBGNBD or churn.BGBB
        A fitted BTYD model.
    T : float, optional
        Age of the customers in the grid; default: the largest T of `data`.
    data : pandas.DataFrame, optional
        A customer table (T, frequency range and unit).
    max_frequency : int, optional
        Largest frequency shown.
    max_recency : float, optional
        Largest recency shown (default T).
    ax : matplotlib.axes.Axes, optional
        Where to draw.
    cmap : str, default "RdYlGn"
        Colour map.
    unit : str or float, optional
        The time unit for the labels when neither `data` nor the model records one.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from churn import plotting
    >>> log = churn.simulate("bgnbd", 300, seed=1, days=365, holdout_days=182)
    >>> table = churn.customer_table(log, cutoff="1997-12-31", holdout_end="1998-07-01",
    ...                              unit="week")
    >>> bg = churn.BGNBD().fit(table)
    >>> ax = plotting.plot_probability_alive_matrix(bg, data=table)
    >>> ax.get_title()
    'Probability a customer is alive, customers of age T = 52 weeks'
    >>> plt.close(ax.figure)
    """
    _plt()  # fail early with a clear message when matplotlib is missing
    days = _unit_days(model, data, unit)
    f, r, F, R, valid, T = _grid(model, T, max_frequency, max_recency, data)
    z = np.full(F.shape, np.nan)
    z[valid] = np.asarray(model.p_alive(frequency=F[valid], recency=R[valid],
                                        T=np.full(valid.sum(), T)))
    return _matrix_plot(z, f, r, ax, "Probability a customer is alive, customers of age "
                        f"T = {_per(T, days)}", "P(alive)", cmap, days)


def plot_period_transactions(model, table, max_frequency=7, ax=None, *,
                             frequency="frequency", T="T"):
    """Customers by number of repeat purchases: actual vs the model (lifetimes' plot).

    The bars are the number of customers of `table` with 0, 1, ...,
    ``max_frequency - 1`` repeat purchases in the calibration period, next to the
    number the model expects: the sum over the customers of P(X(T_i) = k), each at
    their own age T_i (exact, where lifetimes draws one simulated sample).

    Parameters
    ----------
    model : churn.BGNBD, churn.ParetoNBD or churn.MBGNBD
        A fitted BTYD model with ``prob_purchases``.
    table : pandas.DataFrame
        A customer table (its `frequency` and `T` columns).
    max_frequency : int, default 7
        Number of bars (frequencies 0 .. max_frequency - 1), as lifetimes.
    ax : matplotlib.axes.Axes, optional
        Where to draw.
    frequency, T : str
        Column names.

    Returns
    -------
    matplotlib.axes.Axes
        The bars' heights: ``ax.containers[0]`` (actual), ``[1]`` (model).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from churn import plotting
    >>> log = churn.simulate("bgnbd", 300, seed=1, days=365, holdout_days=182)
    >>> table = churn.customer_table(log, cutoff="1997-12-31", holdout_end="1998-07-01",
    ...                              unit="week")
    >>> bg = churn.BGNBD().fit(table)
    >>> ax = plotting.plot_period_transactions(bg, table)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['actual', 'model (bgnbd)']
    >>> ax.get_xlabel()
    'repeat purchases in the calibration period (52 weeks)'
    >>> plt.close(ax.figure)
    """
    _plt()  # fail early with a clear message when matplotlib is missing
    from ._units import check_model_unit
    if not hasattr(model, "prob_purchases"):
        raise TypeError(f"plot_period_transactions: {type(model).__name__} has no "
                        "prob_purchases (a BTYD model: BGNBD, ParetoNBD, MBGNBD)")
    check_model_unit(model, table)
    days = _unit_days(model, table)
    x = np.asarray(table[frequency], dtype=float)
    age = np.asarray(table[T], dtype=float)
    k = int(max_frequency)
    if k < 1:
        raise ValueError(f"max_frequency: {max_frequency} must be at least 1")
    actual = np.array([np.sum(x == i) for i in range(k)], dtype=float)
    ages, counts = np.unique(age, return_counts=True)
    expected = np.array([float(np.dot(counts, np.asarray(model.prob_purchases(i, ages))))
                         for i in range(k)])
    ax = _axes(ax)
    pos = np.arange(k)
    ax.bar(pos - 0.2, actual, width=0.4, label="actual")
    ax.bar(pos + 0.2, expected, width=0.4, label=f"model ({model.family})")
    ax.set_xticks(pos)
    ax.set_xticklabels([str(i) for i in range(k)])
    span = float(np.max(age)) if age.size else 0.0
    ax.set_xlabel(f"repeat purchases in the calibration period ({_per(span, days)})")
    ax.set_ylabel("customers")
    ax.set_title("Frequency of repeat transactions")
    ax.legend()
    return ax


def plot_history_alive(model, t, transactions, customer_id, *, freq="D", start_date=None,
                       ax=None, customer="customer_id", time="date"):
    """One customer's P(alive) over time, with their purchases (lifetimes' plot).

    From the customer's first purchase (or `start_date`) for `t` periods of `freq`,
    P(alive) as of each period is the model's ``p_alive`` of the history up to then
    (purchases on one day count once, as in the customer table); dashed vertical
    lines mark the purchase days.

    Parameters
    ----------
    model : churn.BGNBD, churn.ParetoNBD or churn.MBGNBD
        A fitted BTYD model; its ``time_unit_`` converts days to its unit (when
        unknown, the model is taken to be in units of `freq`, as lifetimes does).
    t : int
        Number of periods of `freq` to draw.
    transactions : churn.TransactionLog or pandas.DataFrame
        The transactions (a DataFrame with the columns `customer` and `time`).
    customer_id : int or str
        The customer to draw (an integer also finds a text id with leading zeros,
        '00004' for 4, when no id is exactly its text).
    freq : {'D', 'W'} or float, default 'D'
        The step: a day, a week or a number of days.
    start_date : date, optional
        First date drawn (default: the first purchase).
    ax : matplotlib.axes.Axes, optional
        Where to draw.
    customer, time : str
        Column names of a DataFrame.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    KeyError
        The customer has no transaction.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from churn import plotting
    >>> tx = pd.DataFrame({"customer_id": [7, 7, 7, 8],
    ...                    "date": pd.to_datetime(["1997-01-01", "1997-02-10",
    ...                                            "1997-03-01", "1997-01-02"])})
    >>> bg = churn.BGNBD.from_params(r=0.24, alpha=4.41, a=0.79, b=2.43)
    >>> _ = bg.set_time_unit("week")
    >>> ax = plotting.plot_history_alive(bg, 120, tx, 7)
    >>> ax.get_ylabel(), [t.get_text() for t in ax.get_legend().get_texts()]
    ('P(alive)', ['P(alive)', 'purchases'])
    >>> ax.get_title()
    'History of P(alive) of customer 7 (model in weeks)'
    >>> plt.close(ax.figure)
    """
    _plt()  # fail early with a clear message when matplotlib is missing
    import pandas as pd
    from ._customers import time_unit_days
    from ._dates import time_arg
    from ._txlog import TransactionLog
    log = TransactionLog.coerce(transactions, customer=customer, time=time, amount=None
                                if hasattr(transactions, "columns") and
                                "amount" not in transactions.columns else "amount")
    df = log.to_dataframe()
    text = df["customer_id"].astype(str)
    mine = df[text == str(customer_id)]
    if mine.empty and isinstance(customer_id, (int, np.integer)):
        # an integer id of text ids with leading zeros ('00004' read as 4 by pandas)
        digits = text.str.fullmatch(r"-?[0-9]+")
        mine = df[digits & (pd.to_numeric(text.where(digits, "0")) == int(customer_id))]
    if mine.empty:
        raise KeyError(f"customer {customer_id!r} has no transaction")
    ns = mine["date"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    days = np.unique(np.floor_divide(ns, 86400 * 10 ** 9)).astype(float)
    step = {"D": 1.0, "W": 7.0}.get(freq) if isinstance(freq, str) else float(freq)
    if step is None or not step > 0:
        raise ValueError(f"freq: {freq!r} is not 'D', 'W' or a positive number of days")
    unit = _unit_days(model) or (time_unit_days("day") * step)
    first = days[0]
    start = first if start_date is None else np.floor(time_arg(start_date, "start_date")
                                                      / 86400.0)
    grid = start + np.arange(int(t) + 1) * step
    grid = grid[grid >= first]
    k = np.searchsorted(days, grid, side="right")
    p = np.asarray(model.p_alive(frequency=(k - 1).astype(float),
                                 recency=(days[k - 1] - first) / unit,
                                 T=(grid - first) / unit), dtype=float)
    ax = _axes(ax)
    when = pd.to_datetime(grid * 86400.0, unit="s")
    ax.plot(when, p, "-", label="P(alive)")
    for i, d in enumerate(days):
        ax.axvline(pd.Timestamp(d * 86400.0, unit="s"), color="red", linestyle="--",
                   alpha=0.5, label="purchases" if i == 0 else None)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("P(alive)")
    ax.set_xlabel(f"date (steps of {_per(step, 1.0)})")
    ax.set_title(f"History of P(alive) of customer {customer_id} "
                 f"(model in {unit_label(unit)})")
    ax.legend()
    return ax


def plot_calibration_purchases_vs_holdout_purchases(model, data, holdout_length,
                                                    actual="holdout_purchases",
                                                    max_frequency=7, ax=None):
    """Mean actual vs model-predicted holdout purchases by calibration frequency.

    Parameters
    ----------
    model : churn.BGNBD, churn.ParetoNBD or churn.MBGNBD
        A fitted BTYD model.
    data : pandas.DataFrame
        A customer table with a holdout.
    holdout_length : float
        Length of the holdout, in the model's time unit.
    actual : str, default "holdout_purchases"
        Column of the actual holdout purchases.
    max_frequency : int, default 7
        Frequencies 0 .. max-1 and 'max+'.
    ax : matplotlib.axes.Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from churn import plotting
    >>> log = churn.simulate("bgnbd", 300, seed=1, days=365, holdout_days=182)
    >>> table = churn.customer_table(log, cutoff="1997-12-31", holdout_end="1998-07-01",
    ...                              unit="week")
    >>> bg = churn.BGNBD().fit(table)
    >>> ax = plotting.plot_calibration_purchases_vs_holdout_purchases(bg, table, 26)
    >>> ax.get_ylabel()
    'mean purchases in the holdout (26 weeks)'
    >>> plt.close(ax.figure)
    """
    _plt()  # fail early with a clear message when matplotlib is missing
    from ._metrics import holdout_by_frequency
    days = _unit_days(model, data)
    tab = holdout_by_frequency(model, holdout_length, data, actual, max_frequency)
    ax = _axes(ax)
    x = np.arange(len(tab))
    ax.plot(x, tab["actual"].to_numpy(), "o-", label="actual")
    ax.plot(x, tab["expected"].to_numpy(), "s--", label=f"model ({model.family})")
    ax.set_xticks(x)
    ax.set_xticklabels(list(tab.index))
    ax.set_xlabel("purchases in the calibration period")
    ax.set_ylabel(f"mean purchases in the holdout ({_per(float(holdout_length), days)})")
    ax.set_title(f"Holdout purchases by calibration frequency (MAE {tab.attrs['mae']:.3f})")
    ax.legend()
    return ax


def plot_cumulative_transactions(model, log, periods=78, period_days=7.0, origin=None,
                                 cutoff_period=None, incremental=False, ax=None, *,
                                 customer="customer_id", time="date"):
    """Actual vs expected repeat purchases per period (cumulative unless incremental).

    Parameters
    ----------
    model : churn.BGNBD, churn.ParetoNBD or churn.MBGNBD
        A fitted BTYD model.
    log : churn.TransactionLog or pandas.DataFrame
        The transactions (a DataFrame is read by :meth:`churn.TransactionLog.coerce`
        with the columns `customer` and `time`).
    periods : int, default 78
        Number of periods drawn.
    period_days : float, default 7.0
        Length of a period in days (7: weeks).
    origin : date, optional
        Start of period 1 (default: the first transaction's day).
    cutoff_period : float, optional
        Draws a vertical line at the end of calibration.
    incremental : bool, default False
        Repeat purchases per period instead of cumulative.
    ax : matplotlib.axes.Axes, optional
        Where to draw.
    customer, time : str
        Column names of a DataFrame.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from churn import plotting
    >>> log = churn.simulate("bgnbd", 300, seed=1, days=365, holdout_days=182)
    >>> table = churn.customer_table(log, cutoff="1997-12-31", holdout_end="1998-07-01",
    ...                              unit="week")
    >>> bg = churn.BGNBD().fit(table)
    >>> ax = plotting.plot_cumulative_transactions(bg, log.to_dataframe(), 78,
    ...                                            cutoff_period=52)
    >>> ax.get_xlabel()
    'weeks since 1997-01-01'
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['actual', 'model (bgnbd)', 'end of calibration']
    >>> plt.close(ax.figure)
    """
    _plt()  # fail early with a clear message when matplotlib is missing
    from ._metrics import repeat_tracking
    from ._txlog import TransactionLog, format_date
    from ._dates import time_arg
    log = TransactionLog.coerce(log, customer=customer, time=time, name="log")
    tr = repeat_tracking(log, model, periods, origin, period_days)
    ax = _axes(ax)
    a, e = ("actual", "expected") if incremental else ("actual_cumulative",
                                                       "expected_cumulative")
    ax.plot(tr.index, tr[a].to_numpy(), "-", label="actual")
    ax.plot(tr.index, tr[e].to_numpy(), "--", label=f"model ({model.family})")
    if cutoff_period is not None:
        ax.axvline(cutoff_period, color="grey", linestyle=":", label="end of calibration")
    start = (log.date_range[0].floor("D").timestamp() if origin is None
             else time_arg(origin, "origin"))
    ax.set_xlabel(f"{unit_label(float(period_days))} since {format_date(start)}")
    ax.set_ylabel("repeat purchases" + ("" if incremental else " (cumulative)"))
    ax.set_title("Tracking " + ("incremental" if incremental else "cumulative") +
                 " repeat purchases")
    ax.legend()
    return ax


def _km_label(lab, names):
    if names is not None and lab in names:
        return str(names[lab])
    if isinstance(lab, (float, np.floating)) and float(lab).is_integer():
        return f"{lab:g}"
    return str(lab)


def plot_km(km, ax=None, ci=True, groups=None, *, unit=None, since="first purchase",
            names=None):
    """Kaplan-Meier step curves with confidence bands (a fitted KaplanMeierFitter).

    Parameters
    ----------
    km : churn.KaplanMeierFitter
        A fitted estimator (one curve per group).
    ax : matplotlib.axes.Axes, optional
        Where to draw.
    ci : bool, default True
        Draw the confidence bands.
    groups : list, optional
        The groups to draw (default all; value tiers in the order key, important,
        ordinary).
    unit : str or float, optional
        Time unit of the durations for the x-axis ('week', ...); default: the
        fitter's ``time_unit_`` when it records one, else "time units".
    since : str, default "first purchase"
        What the durations count from (the customer table's `duration`: from the
        first purchase).
    names : dict, optional
        Legend text per group label, e.g. ``{1.0: "key"}`` for a float-coded tier
        column (a typed table's tiers are named already).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from churn import plotting
    >>> log = churn.simulate("bgnbd", 300, seed=1, days=365, holdout_days=182)
    >>> table = churn.customer_table(log, cutoff="1997-12-31", holdout_end="1998-07-01",
    ...                              unit="week")
    >>> bg = churn.BGNBD().fit(table)
    >>> km = churn.KaplanMeierFitter().fit(table["duration"], table["event"],
    ...                                    groups=table["value_tier"])
    >>> ax = plotting.plot_km(km, unit="week")
    >>> ax.get_xlabel()
    'weeks since first purchase'
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['key', 'important', 'ordinary']
    >>> ax.get_legend().get_title().get_text()
    'value tier'
    >>> plt.close(ax.figure)
    """
    _plt()  # fail early with a clear message when matplotlib is missing
    from ._customers import TIER_NAMES
    ax = _axes(ax)
    labels = km.group_labels_ if groups is None else list(groups)
    tiers = bool(labels) and all(lab in TIER_NAMES for lab in labels)
    if tiers:
        labels = sorted(labels, key=TIER_NAMES.index)
    for lab in labels:
        c = km.curve(lab)
        t = np.concatenate([[0.0], c.index.to_numpy()])
        s = np.concatenate([[1.0], c["survival"].to_numpy()])
        name = km.label if lab is None else _km_label(lab, names)
        line, = ax.step(t, s, where="post", label=name)
        if ci:
            lo = np.concatenate([[1.0], c["lower"].to_numpy()])
            hi = np.concatenate([[1.0], c["upper"].to_numpy()])
            ax.fill_between(t, lo, hi, step="post", alpha=0.25, color=line.get_color())
    days = _unit_days(None, None, unit)
    if days is None:
        try:
            days = float(getattr(km, "time_unit_", 0) or 0) or None
        except (TypeError, ValueError):
            days = None
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"{unit_label(days)} since {since}")
    ax.set_ylabel("retention S(t)")
    ax.set_title(f"Kaplan-Meier retention ({km.conf_level:.0%} CI)" if ci else
                 "Kaplan-Meier retention")
    ax.legend(title="value tier" if tiers else None)
    return ax


def plot_lift(y_true, score, bins=10, sample_weight=None, ax=None):
    """Lift of each score bin (bin 1 = highest scores) against the base rate.

    Parameters
    ----------
    y_true : array_like
        1 = churned (bool or 0/1).
    score : array_like
        Churn scores (higher = more likely).
    bins : int, default 10
        Number of bins.
    sample_weight : array_like, optional
        Weights.
    ax : matplotlib.axes.Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from churn import plotting
    >>> rng = np.random.default_rng(1)
    >>> p = rng.uniform(size=500)
    >>> y = rng.uniform(size=500) < p
    >>> ax = plotting.plot_lift(y, p)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('bin of the scores (1 = top 10%)', 'lift')
    >>> plt.close(ax.figure)
    """
    _plt()  # fail early with a clear message when matplotlib is missing
    from ._metrics import lift_table
    tab = lift_table(y_true, score, bins, sample_weight)
    ax = _axes(ax)
    ax.bar(tab.index.to_numpy(), tab["lift"].to_numpy(), color="tab:blue", label="lift")
    ax.plot(tab.index.to_numpy(), tab["cumulative_lift"].to_numpy(), "o-", color="tab:orange",
            label="cumulative lift")
    ax.axhline(1.0, color="grey", linestyle=":")
    ax.set_xlabel(f"bin of the scores (1 = top {100 / bins:g}%)")
    ax.set_ylabel("lift")
    ax.set_title(f"Lift (top bin {tab['lift'].iloc[0]:.2f})")
    ax.legend()
    return ax


def plot_gains(y_true, score, bins=10, sample_weight=None, ax=None):
    """Cumulative gains: share of all churners caught in the top share of customers.

    Parameters
    ----------
    y_true : array_like
        1 = churned (bool or 0/1).
    score : array_like
        Churn scores.
    bins : int, default 10
        Number of bins.
    sample_weight : array_like, optional
        Weights.
    ax : matplotlib.axes.Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from churn import plotting
    >>> rng = np.random.default_rng(1)
    >>> p = rng.uniform(size=500)
    >>> ax = plotting.plot_gains(rng.uniform(size=500) < p, p)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['model', 'random']
    >>> plt.close(ax.figure)
    """
    _plt()  # fail early with a clear message when matplotlib is missing
    from ._metrics import lift_table
    tab = lift_table(y_true, score, bins, sample_weight)
    ax = _axes(ax)
    share = np.concatenate([[0.0], tab.index.to_numpy() / bins])
    gain = np.concatenate([[0.0], tab["cumulative_gain"].to_numpy()])
    ax.plot(share, gain, "o-", label="model")
    ax.plot([0, 1], [0, 1], ":", color="grey", label="random")
    ax.set_xlabel("share of customers contacted (highest scores first)")
    ax.set_ylabel("share of churners caught")
    ax.set_title("Cumulative gains")
    ax.legend()
    return ax


def plot_calibration_curve(y_true, prob, bins=10, strategy="uniform", sample_weight=None,
                           ax=None):
    """Reliability diagram: observed churn rate vs mean predicted probability per bin.

    Parameters
    ----------
    y_true : array_like
        1 = churned (bool or 0/1).
    prob : array_like
        Predicted churn probabilities.
    bins : int, default 10
        Number of bins.
    strategy : {'uniform', 'quantile'}, default 'uniform'
        Equal-width or equal-count bins.
    sample_weight : array_like, optional
        Weights.
    ax : matplotlib.axes.Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from churn import plotting
    >>> rng = np.random.default_rng(1)
    >>> p = rng.uniform(size=500)
    >>> ax = plotting.plot_calibration_curve(rng.uniform(size=500) < p, p)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('mean predicted probability', 'observed rate')
    >>> plt.close(ax.figure)
    """
    _plt()  # fail early with a clear message when matplotlib is missing
    from ._metrics import calibration_table
    tab = calibration_table(y_true, prob, bins, strategy, sample_weight)
    ax = _axes(ax)
    ok = tab["weight"].to_numpy() > 0
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfectly calibrated")
    ax.plot(tab["mean_predicted"].to_numpy()[ok], tab["observed"].to_numpy()[ok], "o-",
            label="model")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_title(f"Calibration (ECE {tab.attrs['ece']:.3f})")
    ax.legend()
    return ax


__all__ = ["plot_frequency_recency_matrix", "plot_probability_alive_matrix",
           "plot_period_transactions", "plot_history_alive",
           "plot_calibration_purchases_vs_holdout_purchases", "plot_cumulative_transactions",
           "plot_km", "plot_lift", "plot_gains", "plot_calibration_curve", "unit_label"]
