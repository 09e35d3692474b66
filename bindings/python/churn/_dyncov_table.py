"""Pareto/NBD with time-varying covariates from long-format pandas tables
(docs/models/dyncov.md): transactions (customer id, date) and covariates (customer id,
period start, one column per covariate) in, a fitted ParetoNBD model or a score table out.
The arrays go to churn_pnbd_dyncov_fit / churn_pnbd_dyncov_score (``_dyncov.py``)."""
import numpy as np

from . import _dyncov
from ._covariates import options
from ._errors import error_for

_DAY_NS = 86400 * 10**9


def _units(values, time_unit):
    """datetime-like values -> float time units since 1970-01-01."""
    import pandas as pd
    v = pd.to_datetime(values)
    return np.asarray(v.astype("int64"), dtype=np.float64) / (_DAY_NS * float(time_unit))


def _history(transactions, customer_id, date, cutoff, time_unit):
    """Per customer (sorted ids): birth, repeat-purchase days (calendar units), cutoff."""
    import pandas as pd
    for c in (customer_id, date):
        if c not in transactions:
            raise KeyError(f"transactions: column '{c}' not found")
    d = pd.DataFrame({"id": transactions[customer_id].to_numpy(),
                      "day": pd.to_datetime(transactions[date]).dt.floor("D")})
    cut = pd.Timestamp(cutoff)
    d = d[d["day"] <= cut].drop_duplicates().sort_values(["id", "day"])
    if d.empty:
        raise ValueError("transactions: no purchase on or before the cutoff")
    d["t"] = _units(d["day"], time_unit)
    first = d.groupby("id", sort=True)["t"].first()
    return d, first, float(_units(pd.Series([cut]), time_unit)[0])


def _grid(covariates, customer_id, period_start, names, ids, end, time_unit, what):
    """boundaries (P + 1) and values (k, P, n) of the named columns, NaN where absent."""
    import pandas as pd
    for c in [customer_id, period_start, *names]:
        if c not in covariates:
            raise KeyError(f"covariates: column '{c}' not found")
    starts = np.unique(_units(covariates[period_start], time_unit))
    if len(starts) == 0:
        raise ValueError("covariates: no rows")
    step = np.median(np.diff(starts)) if len(starts) > 1 else 1.0
    last_end = max(end, starts[-1] + step)
    bounds = np.append(starts, last_end)
    P, n = len(starts), len(ids)
    row = pd.Index(ids).get_indexer(covariates[customer_id].to_numpy())
    col = np.searchsorted(starts, _units(covariates[period_start], time_unit))
    keep = row >= 0
    vals = np.full((len(names), P, n), np.nan)
    for j, c in enumerate(names):
        v = np.asarray(covariates[c], dtype=np.float64)
        vals[j, col[keep], row[keep]] = v[keep]
    return bounds, vals


def _arrays(transactions, covariates, trans, life, cutoff, customer_id, date, period_start,
            time_unit, horizon):
    d, first, cut = _history(transactions, customer_id, date, cutoff, time_unit)
    ids = first.index
    n = len(ids)
    bounds, zt = _grid(covariates, customer_id, period_start, list(trans), ids,
                       cut + horizon, time_unit, "trans")
    _, zl = _grid(covariates, customer_id, period_start, list(life), ids, cut + horizon,
                  time_unit, "life")
    if bounds[0] > first.min():
        raise ValueError(f"covariates: the first period starts after the first purchase of "
                         f"customer {first.idxmin()!r}; give covariates from its period on")
    birth = first.to_numpy()
    pos = ids.get_indexer(d["id"].to_numpy())
    t = d["t"].to_numpy()
    repeat = t > birth[pos]
    P = len(bounds) - 1
    counts = np.zeros((P, n))
    per = np.clip(np.searchsorted(bounds, t[repeat], side="right") - 1, 0, P - 1)
    np.add.at(counts, (per, pos[repeat]), 1.0)
    x = counts.sum(axis=0)
    last = np.full(n, -np.inf)
    np.maximum.at(last, pos[repeat], t[repeat])
    tx = np.where(x > 0, last - birth, 0.0)
    T = cut - birth
    return ids, x, tx, T, bounds, birth, counts, zt, zl


def fit_pnbd_dyncov(transactions, covariates, *, trans=(), life=(), cutoff,
                    customer_id="customer_id", date="date", period_start="period_start",
                    time_unit=7.0, l2_trans=0.0, l2_life=0.0, shared=(), max_iter=None,
                    tol=None, std_errors=True):
    """Fit the Pareto/NBD with time-varying covariates (Bachmann, Meierer & Naef 2021).

    Purchases happen at rate lambda * exp(g_trans' z_trans(u)) and dropout with hazard
    mu * exp(g_life' z_life(u)), the covariates constant within each calendar period
    (docs/models/dyncov.md). Purchases are counted per distinct day; a customer's history
    starts at its first purchase day and ends at `cutoff`.

    Parameters
    ----------
    transactions : pandas.DataFrame
        One row per purchase: columns `customer_id` and `date` (datetime-like).
    covariates : pandas.DataFrame
        Long format: one row per customer and period, columns `customer_id`,
        `period_start` (datetime-like; the distinct values define the periods, the last
        one lasting the median period length) and the covariate columns. Each customer
        needs values from the period of its first purchase to the cutoff.
    trans, life : sequence of str
        Keyword only: covariate columns acting on the purchase process and on the
        dropout process (a column may be in both).
    cutoff : datetime-like
        Keyword only: end of the calibration window.
    customer_id, date, period_start : str
        Keyword only: column names.
    time_unit : float
        Keyword only: days per model time unit (default 7, weeks).
    l2_trans, l2_life : float
        Keyword only: L2 penalties of the coefficients (default 0).
    shared : sequence of str
        Keyword only: names in both `trans` and `life` whose coefficient is shared.
    max_iter : int, optional
        Keyword only: Newton iterations (default 200).
    tol : float, optional
        Keyword only: convergence tolerance of the mean gradient (default 1e-9).
    std_errors : bool
        Keyword only: compute standard errors (default True).

    Returns
    -------
    ParetoNBD
        The fitted model: ``params_`` holds r, alpha, s, beta, ``trans.<name>`` and
        ``life.<name>``. Score it with :func:`churn.score_pnbd_dyncov` (the plain
        scoring methods refuse it).

    Raises
    ------
    churn.ConvergenceError
        The fit did not converge (the model is attached as ``err.model``).
    churn.ChurnValueError
        Bad input, naming the row, period and column.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> weeks = pd.date_range("2024-01-01", periods=30, freq="W-MON")
    >>> tx = pd.DataFrame({"customer_id": rng.integers(0, 200, 1500),
    ...                    "date": rng.choice(weeks[:26], 1500)
    ...                    + pd.to_timedelta(rng.integers(0, 7, 1500), "D")})
    >>> cov = pd.DataFrame([(c, w, float(rng.random() < 0.3)) for c in range(200)
    ...                     for w in weeks], columns=["customer_id", "period_start", "promo"])
    >>> m = churn.fit_pnbd_dyncov(tx, cov, trans=["promo"], cutoff="2024-06-30")
    >>> list(m.params_.index)
    ['r', 'alpha', 's', 'beta', 'trans.promo']
    """
    ids, x, tx, T, bounds, birth, counts, zt, zl = _arrays(
        transactions, covariates, trans, life, cutoff, customer_id, date, period_start,
        time_unit, 0.0)
    keep = []
    dc, keep = _dyncov.make(bounds, birth, counts, zt if len(trans) else None, list(trans),
                            zl if len(life) else None, list(life), keep)
    opts = options(l2_trans, l2_life, shared, max_iter, tol, std_errors)
    h, rc = _dyncov.fit(x, tx, T, dc, opts=opts)
    from ._btyd import ParetoNBD
    from ._model import Model
    if rc != 0:
        err = error_for(rc)
        if h.value:
            err.model = Model._wrap(h.value)
        raise err
    m = Model._wrap(h.value)
    assert isinstance(m, ParetoNBD)
    m.set_time_unit(float(time_unit))
    return m


def score_pnbd_dyncov(model, transactions, covariates, *, t, cutoff,
                      customer_id="customer_id", date="date", period_start="period_start"):
    """P(alive) and expected purchases in the next `t` time units of a Pareto/NBD
    fitted with time-varying covariates, using the future periods' covariates.

    Parameters
    ----------
    model : ParetoNBD
        From :func:`churn.fit_pnbd_dyncov` (or a plain ParetoNBD: every coefficient 0).
    transactions : pandas.DataFrame
        The purchases up to `cutoff` (columns `customer_id`, `date`).
    covariates : pandas.DataFrame
        Long format as for :func:`churn.fit_pnbd_dyncov`, covering each customer from
        its first purchase to ``cutoff + t``; columns matched to the model's by name.
    t : float
        Keyword only: horizon in the model's time unit.
    cutoff : datetime-like
        Keyword only: end of the observed history.
    customer_id, date, period_start : str
        Keyword only: column names.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id: ``frequency``, ``recency``, ``T``, ``p_alive``,
        ``expected_purchases``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> weeks = pd.date_range("2024-01-01", periods=30, freq="W-MON")
    >>> tx = pd.DataFrame({"customer_id": rng.integers(0, 200, 1500),
    ...                    "date": rng.choice(weeks[:26], 1500)
    ...                    + pd.to_timedelta(rng.integers(0, 7, 1500), "D")})
    >>> cov = pd.DataFrame([(c, w, float(rng.random() < 0.3)) for c in range(200)
    ...                     for w in weeks], columns=["customer_id", "period_start", "promo"])
    >>> m = churn.fit_pnbd_dyncov(tx, cov, trans=["promo"], cutoff="2024-06-30")
    >>> s = churn.score_pnbd_dyncov(m, tx, cov, t=3, cutoff="2024-06-30")
    >>> bool(((s["p_alive"] > 0) & (s["p_alive"] <= 1)).all())
    True
    """
    import pandas as pd
    from . import _covariates
    unit = model.time_unit_ or 7.0
    trans, life = _covariates.model_names(model)
    ids, x, tx, T, bounds, birth, counts, zt, zl = _arrays(
        transactions, covariates, trans, life, cutoff, customer_id, date, period_start,
        unit, float(t))
    keep = []
    dc, keep = _dyncov.make(bounds, birth, None, zt if trans else None, trans,
                            zl if life else None, life, keep)
    pa, ex = _dyncov.score(model._require(), t, x, tx, T, dc)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T, "p_alive": pa,
                         "expected_purchases": ex}, index=pd.Index(ids, name=customer_id))
