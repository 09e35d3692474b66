"""churn on Dask: customer tables, scoring and fits for data larger than one machine.

Import it explicitly (``import churn.dask``); it needs ``dask`` (and ``distributed`` for
a cluster). What runs where:

- :func:`customer_table` builds the customer table partition by partition. Every
  customer's transactions must sit in one partition: pass ``partitioned=True`` when
  they already do (e.g. the frame is indexed by customer id with known divisions, or
  was written partitioned by customer); otherwise the transactions are shuffled by
  customer id first (one ``DataFrame.shuffle(on=customer)``). The per-customer columns
  equal the single-machine table exactly; the population-relative columns (r_score,
  f_score, m_score, rfm_segment, value_tier: ranks over the whole table) are dropped
  unless ``population_columns=True`` (then they are ranks within each partition).
- :func:`score` scores a customer table with any saved model through
  ``map_partitions``: the model's JSON text (its model file) is shipped to the
  workers, never a C handle; each worker loads it once (cached) and calls the model's
  ``predict_frame``.
- :func:`fit_btyd` and :func:`fit_gammagamma` never gather customer rows: each
  partition collapses its customers to the distinct (frequency, recency, T) or
  (frequency, monetary_value) rows with a count (the sufficient statistics: the
  likelihood depends on the data only through them), a Dask groupby-sum merges the
  partitions, and the driver fits the C model with those counts as weights. The result
  is identical (bit for bit) to ``churn.<Model>().fit(collapse(table), weights=...)``
  on one machine and equal to the unweighted fit on the raw rows up to the optimiser's
  tolerance.
- :func:`fit_logit` fits a logistic regression by Newton's method with distributed
  sums: the C API has no entry point for partial gradients and Hessians, so each
  partition computes its weighted log-likelihood, gradient X'(w (y - p)) and
  Hessian X' diag(w p (1 - p)) X with numpy (on standardised features, p small), the
  driver adds them in partition order and solves the Newton step. The fitted model is
  written in the libchurn model-file format (docs/model-format.md), so it predicts,
  saves and loads as a C-fitted LogisticRegression. Unpenalised and L2 (glmnet's
  scale, ``standardize=False``) fits; no class weights.

Workers import ``churn`` themselves: install the package on every worker, and point
``CHURN_LIBRARY`` at libchurn.so.1 there when it is not on the linker path (worker
processes started by a ``LocalCluster`` inherit the driver's environment).
"""
import functools
import json
import math

import numpy as np
import pandas as pd

import dask

from ._customers import POPULATION_COLUMNS, customer_table as _local_table, time_arg
from ._model import Model
from ._progress import Busy, Steps
from ._txlog import to_epoch_seconds

__all__ = ["customer_table", "score", "collapse", "sufficient_statistics", "fit_btyd",
           "fit_gammagamma", "fit_logit"]


# ---------------------------------------------------------------- customer table
def _is_partitioned_by(ddf, customer):
    return ddf.index.name == customer and ddf.known_divisions


def _max_time(ddf, time, date_format="auto", dayfirst=None):
    def part_max(s):
        t = to_epoch_seconds(s, time, date_format, dayfirst) if len(s) else \
            np.array([-np.inf])
        return pd.Series([float(np.max(t))])
    return float(ddf[time].map_partitions(part_max, meta=(time, "f8")).max().compute())


class _Box:
    """Carries a pandas object into map_partitions without Dask aligning it."""

    def __init__(self, value):
        self.value = value


def _table_partition(pdf, customer, time, amount, quantity, product, options, keep_pop,
                     box):
    meta = box.value
    if customer not in pdf.columns and pdf.index.name == customer:
        pdf = pdf.reset_index()
    if len(pdf) == 0:
        return meta
    t = _local_table(pdf, customer=customer, time=time, amount=amount, quantity=quantity,
                     product=product, **options)
    if not keep_pop:
        t = t.drop(columns=[c for c in POPULATION_COLUMNS if c in t.columns])
    # One index type for every partition, decided from the column's dtype (the ids of
    # other partitions are not seen here): text ids stay text even when a partition's
    # ids all look like integers.
    t.index = t.index.astype(str) if meta.index.dtype == object else \
        t.index.astype(meta.index.dtype)
    t.index.name = meta.index.name
    return t


def _table_meta(ddf, customer, time, amount, quantity, product, options, keep_pop):
    """An empty frame with the columns the C table will have for these options."""
    sample = ddf._meta_nonempty
    if customer not in sample.columns and sample.index.name == customer:
        sample = sample.reset_index()
    id_dtype = sample[customer].dtype
    int_ids = id_dtype.kind in "iuf"  # whole-number float ids are integers
    cutoff = options["cutoff"]
    probe = pd.DataFrame({customer: np.array([1], dtype=id_dtype)
                          if int_ids else ["probe"],
                          time: [pd.Timestamp(cutoff)]})
    if amount is not None:  # None: transactions without amounts
        probe[amount] = 1.0
    if quantity is not None:
        probe[quantity] = 1.0
    if product is not None:
        probe[product] = [1] if sample[product].dtype.kind in "iu" else ["p"]
    t = _local_table(probe, customer=customer, time=time, amount=amount, quantity=quantity,
                     product=product, **options)
    if not keep_pop:
        t = t.drop(columns=[c for c in POPULATION_COLUMNS if c in t.columns])
    meta = t.iloc[:0]
    meta.index = pd.Index([], dtype=np.int64 if int_ids else object,
                          name="customer_id")
    meta.attrs = {"time_unit": t.attrs["time_unit"]}
    return meta


def customer_table(ddf, cutoff=None, holdout_end=None, unit="day", *, customer="customer_id",
                   time="date", amount="amount", quantity=None, product=None,
                   partitioned=None, population_columns=False, **options):
    """The customer table of a Dask DataFrame of transactions, one partition per group of
    customers (a lazy Dask DataFrame indexed by customer id).

    Options are those of :func:`churn.customer_table`. `cutoff` None is the day of the
    last transaction (one pass over the data to find it). ``partitioned=True`` asserts
    that every customer's rows are in one partition; None (default) trusts a frame
    indexed by `customer` with known divisions and shuffles by `customer` otherwise.

    The columns are typed as in :func:`churn.customer_table` (categorical tiers and
    segments with fixed categories, so every partition matches the meta; bool flags;
    datetime64 purchase dates).

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        The transactions.
    cutoff : date, optional
        End of calibration (default: the last transaction's day, one pass).
    holdout_end : date, optional
        End of the holdout.
    unit : str or float, default 'day'
        Time unit of the durations.
    customer, time, amount, quantity, product : str or None
        Column names.
    partitioned : bool, optional
        True: every customer's rows are in one partition already; None: trust a frame
        indexed by `customer` with known divisions, else shuffle.
    population_columns : bool, default False
        Keep r_score, f_score, m_score, rfm_segment, value_tier (ranks within each
        partition).
    **options
        Other options of :func:`churn.customer_table`.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy, indexed by customer id.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import churn.dask
    >>> tx = churn.simulate("bgnbd", 300, seed=1, days=365, holdout_days=182, as_frame=True)
    >>> ddf = dd.from_pandas(tx, npartitions=2)
    >>> table = churn.dask.customer_table(ddf, cutoff="1997-12-31", holdout_end="1998-07-01",
    ...                                   unit="week")
    >>> t = table.compute()
    >>> len(t), t["churned"].dtype, "value_tier" in t.columns
    (300, dtype('bool'), False)
    """
    fmt, dayfirst = options.get("date_format", "auto"), options.get("dayfirst")
    if cutoff is None:
        cutoff = _max_time(ddf, time, fmt, dayfirst)
    opts = dict(options)
    # the cutoff travels as an instant, which every date_format reads the same way
    opts.update(cutoff=pd.Timestamp(time_arg(cutoff, "cutoff", fmt, dayfirst), unit="s"),
                holdout_end=holdout_end, unit=unit)
    if partitioned is None:
        partitioned = _is_partitioned_by(ddf, customer)
    if not partitioned:
        if customer not in ddf.columns and ddf.index.name == customer:
            ddf = ddf.reset_index()
        ddf = ddf.shuffle(on=customer)
    meta = _table_meta(ddf, customer, time, amount, quantity, product, opts,
                       population_columns)
    out = ddf.map_partitions(_table_partition, customer, time, amount, quantity, product,
                             opts, population_columns, _Box(meta), meta=meta,
                             enforce_metadata=False)
    return out


# ---------------------------------------------------------------- scoring
@functools.lru_cache(maxsize=16)
def _model_from_json(text):
    return Model.from_json(text)


def _score_partition(pdf, text, kwargs, box):
    if len(pdf) == 0:
        return box.value
    return _model_from_json(text).predict_frame(pdf, **kwargs)


def score(table, model, **kwargs):
    """Score a Dask DataFrame of customers with a model via ``map_partitions``.

    The model's JSON text (its model file) is shipped to the workers, never a C
    handle; each worker loads it once.

    Parameters
    ----------
    table : dask.dataframe.DataFrame
        Customer rows (e.g. from :func:`customer_table`).
    model : churn.Model or str
        A fitted churn model or the path of a model file.
    **kwargs
        Passed to the model's ``predict_frame`` (e.g. ``horizon=52``).

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy, with the columns ``churn predict`` writes, indexed like `table`.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import churn.dask
    >>> tx = churn.simulate("bgnbd", 300, seed=1, days=365, holdout_days=182, as_frame=True)
    >>> ddf = dd.from_pandas(tx, npartitions=2)
    >>> table = churn.dask.customer_table(ddf, cutoff="1997-12-31", holdout_end="1998-07-01",
    ...                                   unit="week")
    >>> bg = churn.dask.fit_btyd(table, "bgnbd")
    >>> s = churn.dask.score(table, bg, horizon=52).compute()
    >>> len(s), bool(s["p_alive"].between(0, 1).all())
    (300, True)
    """
    if isinstance(model, Model):
        text = model.to_json()
    else:
        with open(model, encoding="utf-8") as f:
            text = f.read()
    local = _model_from_json(text)
    meta = local.predict_frame(table._meta_nonempty, **kwargs).iloc[:0]
    return table.map_partitions(_score_partition, text, kwargs, _Box(meta), meta=meta)


# ---------------------------------------------------------------- BTYD / Gamma-Gamma
def collapse(df, columns, weights=None):
    """The distinct rows of `columns` with their total weight, sorted lexicographically.

    The sufficient statistics of the BTYD and Gamma-Gamma likelihoods, on a pandas
    DataFrame (one machine).

    Parameters
    ----------
    df : pandas.DataFrame
        Customer rows.
    columns : list of str
        The columns to collapse on (read as float64).
    weights : str or array_like, optional
        A column name or per-row weights (default 1).

    Returns
    -------
    pandas.DataFrame
        `columns` + 'weight'.

    Examples
    --------
    >>> df = pd.DataFrame({"frequency": [0.0, 1.0, 0.0], "T": [5.0, 5.0, 5.0]})
    >>> churn.dask.collapse(df, ["frequency", "T"])
       frequency    T  weight
    0        0.0  5.0     2.0
    1        1.0  5.0     1.0
    """
    sub = df[list(columns)].astype(np.float64)
    w = (np.ones(len(sub)) if weights is None else
         np.asarray(df[weights] if isinstance(weights, str) else weights, dtype=np.float64))
    sub = sub.assign(weight=w)
    g = sub.groupby(list(columns), sort=False, as_index=False)["weight"].sum()
    return _sorted(g, columns)


def _sorted(g, columns):
    order = np.lexsort([g[c].to_numpy() for c in reversed(list(columns))])
    return g.iloc[order].reset_index(drop=True)


def _collapse_partition(pdf, columns):
    if len(pdf) == 0:
        return pd.DataFrame({**{c: pd.Series([], dtype="f8") for c in columns},
                             "weight": pd.Series([], dtype="f8")})
    return collapse(pdf, columns)


def sufficient_statistics(table, columns):
    """Distinct rows of `columns` with counts over a Dask DataFrame.

    Computed per partition and merged by a Dask groupby-sum; only these rows reach the
    driver.

    Parameters
    ----------
    table : dask.dataframe.DataFrame
        Customer rows.
    columns : list of str
        The columns.

    Returns
    -------
    pandas.DataFrame
        Sorted, `columns` + 'weight'.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import churn.dask
    >>> tx = churn.simulate("bgnbd", 300, seed=1, days=365, holdout_days=182, as_frame=True)
    >>> ddf = dd.from_pandas(tx, npartitions=2)
    >>> table = churn.dask.customer_table(ddf, cutoff="1997-12-31", holdout_end="1998-07-01",
    ...                                   unit="week")
    >>> st = churn.dask.sufficient_statistics(table, ["frequency", "recency", "T"])
    >>> float(st["weight"].sum())
    300.0
    """
    columns = list(columns)
    meta = pd.DataFrame({**{c: pd.Series([], dtype="f8") for c in columns},
                         "weight": pd.Series([], dtype="f8")})
    parts = table[columns].map_partitions(_collapse_partition, columns, meta=meta)
    merged = parts.groupby(columns)["weight"].sum().reset_index().compute()
    return _sorted(merged, columns)


def _unit_of(table, unit):
    if unit is not None:
        return unit
    return getattr(table, "_meta", pd.DataFrame()).attrs.get("time_unit")


def fit_btyd(table, model="bgnbd", frequency="frequency", recency="recency", T="T", unit=None,
             *, progress=None, **fit_options):
    """Fit a BTYD model to a Dask customer table from its sufficient statistics.

    Parameters
    ----------
    table : dask.dataframe.DataFrame
        Customer rows.
    model : {'bgnbd', 'mbgnbd', 'pnbd', 'bgbb'}, default 'bgnbd'
        The model.
    frequency, recency, T : str
        Column names.
    unit : str or float, optional
        The time unit (default: the table's ``attrs["time_unit"]``).
    progress : bool, optional
        Elapsed-time feedback while the partitions are collapsed and the model is
        fitted: None after 1.5 s, True at once, False never (churn._progress.Busy).
    **fit_options
        l2, max_iter, tol, std_errors, as for the single-machine class.

    Returns
    -------
    churn.Model
        The fitted model; ``stats_`` holds the collapsed rows.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import churn.dask
    >>> tx = churn.simulate("bgnbd", 300, seed=1, days=365, holdout_days=182, as_frame=True)
    >>> ddf = dd.from_pandas(tx, npartitions=2)
    >>> table = churn.dask.customer_table(ddf, cutoff="1997-12-31", holdout_end="1998-07-01",
    ...                                   unit="week")
    >>> bg = churn.dask.fit_btyd(table, "bgnbd")
    >>> local = churn.BGNBD().fit(table.compute())
    >>> bool(np.allclose(bg.params_, local.params_, rtol=1e-4))
    True
    """
    from ._btyd import BGBB, BGNBD, MBGNBD, ParetoNBD
    classes = {"bgnbd": BGNBD, "mbgnbd": MBGNBD, "pnbd": ParetoNBD, "bgbb": BGBB}
    if model not in classes:
        raise ValueError(f"model: '{model}' is not bgnbd, mbgnbd, pnbd or bgbb")
    with Busy(f"churn.dask: fitting {model}", progress):
        stats = sufficient_statistics(table, [frequency, recency, T])
        m = classes[model]().fit(stats, frequency=frequency, recency=recency, T=T,
                                 weights="weight", **fit_options)
    u = _unit_of(table, unit)
    if u:
        m.set_time_unit(u)
    m.stats_ = stats
    return m


def fit_gammagamma(table, frequency="frequency", monetary_value="monetary_value", unit=None,
                   *, progress=None, **fit_options):
    """Fit the Gamma-Gamma spend model to a Dask customer table from its distinct rows.

    Parameters
    ----------
    table : dask.dataframe.DataFrame
        Customer rows.
    frequency, monetary_value : str
        Column names.
    unit : str or float, optional
        The time unit (default: the table's).
    progress : bool, optional
        Elapsed-time feedback, as in :func:`fit_btyd`.
    **fit_options
        As for :class:`churn.GammaGamma`.

    Returns
    -------
    churn.GammaGamma
        ``stats_`` holds the collapsed rows.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import churn.dask
    >>> tx = churn.simulate("bgnbd", 300, seed=1, days=365, holdout_days=182, as_frame=True)
    >>> ddf = dd.from_pandas(tx, npartitions=2)
    >>> table = churn.dask.customer_table(ddf, cutoff="1997-12-31", holdout_end="1998-07-01",
    ...                                   unit="week")
    >>> gg = churn.dask.fit_gammagamma(table[table["frequency"] > 0])
    >>> len(gg.params_)
    3
    """
    from ._spend import GammaGamma
    with Busy("churn.dask: fitting Gamma-Gamma", progress):
        stats = sufficient_statistics(table, [frequency, monetary_value])
        m = GammaGamma().fit(stats, frequency=frequency, monetary_value=monetary_value,
                             weights="weight", **fit_options)
    u = _unit_of(table, unit)
    if u:
        m.set_time_unit(u)
    m.stats_ = stats
    return m


# ---------------------------------------------------------------- logistic regression
def _logit_block(pdf, features, label, weights):
    """Validated (X, y, w) numpy arrays of one partition."""
    X = pdf[features].to_numpy(dtype=np.float64)
    y = pdf[label].to_numpy(dtype=np.float64)
    w = np.ones(len(pdf)) if weights is None else pdf[weights].to_numpy(dtype=np.float64)
    if X.size and not np.all(np.isfinite(X)):
        i, j = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"churn.dask.fit_logit: row '{pdf.index[i]}', column "
                         f"'{features[j]}': value {X[i, j]} is not a finite number")
    bad = ~((y == 0) | (y == 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"churn.dask.fit_logit: row '{pdf.index[i]}', label '{label}': "
                         f"{y[i]} is not 0 or 1")
    badw = ~(np.isfinite(w) & (w >= 0))
    if badw.any():
        i = int(np.flatnonzero(badw)[0])
        raise ValueError(f"churn.dask.fit_logit: row '{pdf.index[i]}', weight '{weights}': "
                         f"{w[i]} is not a finite number >= 0")
    keep = w > 0
    return X[keep], y[keep], w[keep]


def _moments(pdf, features, label, weights):
    """Pass 1: count, sum w, sum w y, sum w x (per feature)."""
    X, y, w = _logit_block(pdf, features, label, weights)
    return {"rows": float(len(w)), "W": float(w.sum()), "Wy": float(w @ y),
            "Wx": w @ X if len(w) else np.zeros(len(features))}


def _second_moments(pdf, features, label, weights, mean, intercept):
    """Pass 2: sum w (x - center)^2 with center = mean (intercept) or 0 (no intercept)."""
    X, y, w = _logit_block(pdf, features, label, weights)
    Z = X - mean if intercept else X
    return {"S2": w @ (Z * Z) if len(w) else np.zeros(len(features))}


def _newton_sums(pdf, features, label, weights, center, scale, beta, intercept):
    """Weighted log-likelihood (plain and with rounded weights), gradient and Hessian of
    the standardised problem at `beta` for one partition."""
    X, y, w = _logit_block(pdf, features, label, weights)
    Z = (X - center) / scale
    if intercept:
        Z = np.column_stack([np.ones(len(w)), Z])
    eta = Z @ beta
    # log(1 + exp(eta)) computed without overflow
    soft = np.logaddexp(0.0, eta)
    ll_i = y * eta - soft
    p = np.exp(eta - soft)
    r = w * (y - p)
    v = w * p * (1.0 - p)
    return {"ll": float(w @ ll_i), "llr": float(np.round(w) @ ll_i), "g": Z.T @ r,
            "H": (Z * v[:, None]).T @ Z}


def _tree_sum(parts):
    out = {}
    for part in parts:
        for k, v in part.items():
            out[k] = v if k not in out else out[k] + v
    return out


def _distributed(table, func, *args):
    """Apply func(partition, *args) to every partition and sum the dicts (in partition
    order, on the driver: only p-sized arrays travel)."""
    parts = [dask.delayed(func)(p, *args) for p in table.to_delayed()]
    return _tree_sum(dask.compute(*parts))


def _null_value(v):
    return None if v is None or not math.isfinite(v) else float(v)


def fit_logit(table, features, label="churned", weights=None, fit_intercept=True, lambda_=0.0,
              max_iter=100, tol=1e-10, *, progress=None):
    """Logistic regression of `label` (0/1) on the `features` columns of a Dask DataFrame
    by Newton's method with per-partition sums; returns a
    :class:`churn.LogisticRegression` (with standard errors when unpenalised) whose
    model file is the C one's. `lambda_` > 0 adds glmnet's L2 penalty lambda/2 ||b||^2
    on the original-scale coefficients (the C fit's ``penalty='l2',
    standardize=False``). Persist the table first (``table.persist()``): every Newton
    iteration reads it once.

    Parameters
    ----------
    table : dask.dataframe.DataFrame
        Rows with the features and the label (a bool label, as the typed table's
        ``churned``, counts as 0/1).
    features : list of str
        Feature columns.
    label : str, default 'churned'
        The 0/1 outcome.
    weights : str, optional
        A weight column.
    fit_intercept : bool, default True
        Fit an intercept.
    lambda_ : float, default 0.0
        L2 penalty.
    max_iter : int, default 100
        Newton iterations at most.
    tol : float, default 1e-10
        Convergence tolerance.
    progress : bool, optional
        A bar over the Newton iterations (each one pass over the table): None after
        1.5 s, True at once, False never.

    Returns
    -------
    churn.LogisticRegression

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import churn.dask
    >>> tx = churn.simulate("bgnbd", 300, seed=1, days=365, holdout_days=182, as_frame=True)
    >>> ddf = dd.from_pandas(tx, npartitions=2)
    >>> table = churn.dask.customer_table(ddf, cutoff="1997-12-31", holdout_end="1998-07-01",
    ...                                   unit="week")
    >>> lr = churn.dask.fit_logit(table, ["frequency", "recency", "T"], "churned")
    >>> len(lr.params_)
    4
    """
    from . import __version__
    from ._logit import LogisticRegression
    features = [str(f) for f in features]
    p = len(features)
    if lambda_ < 0 or not math.isfinite(lambda_):
        raise ValueError(f"lambda_: {lambda_} must be a finite number >= 0")
    cols = features + [label] + ([weights] if weights is not None else [])
    table = table[cols]
    m1 = _distributed(table, _moments, features, label, weights)
    W = m1["W"]
    if m1["rows"] == 0 or not W > 0:
        raise ValueError("churn.dask.fit_logit: no row with a positive weight")
    ybar = m1["Wy"] / W
    if fit_intercept and not 0 < ybar < 1:
        raise ValueError(f"churn.dask.fit_logit: label '{label}' has only one class")
    mean = np.asarray(m1["Wx"], dtype=float) / W
    s2 = np.asarray(_distributed(table, _second_moments, features, label, weights, mean,
                                 fit_intercept)["S2"], dtype=float)
    sd = np.sqrt(s2 / W)
    kept = sd > 0
    dropped = [f for f, k in zip(features, kept) if not k]
    kf = [f for f, k in zip(features, kept) if k]
    center = mean[kept] if fit_intercept else np.zeros(kept.sum())
    scale = sd[kept]
    off = 1 if fit_intercept else 0
    k = off + len(kf)
    # penalty on original-scale b_j = beta_j / scale_j (internal, per unit W)
    pen = np.zeros(k)
    pen[off:] = lambda_ / (scale * scale)
    beta = np.zeros(k)
    if fit_intercept:
        beta[0] = math.log(ybar / (1 - ybar))
    converged, it, s = False, 0, None

    def objective(sums, b):
        return -sums["ll"] / W + 0.5 * float(pen @ (b * b))

    s = _distributed(table, _newton_sums, kf, label, weights, center, scale, beta,
                     fit_intercept)
    bar_ctx = Steps(max_iter, "churn.dask: logit Newton iterations", progress,
                    unit="iteration")
    bar = bar_ctx.__enter__()
    try:
        while it < max_iter:
            it += 1
            bar.update()
            g = s["g"] / W - pen * beta
            H = s["H"] / W + np.diag(pen)
            step = np.linalg.solve(H, g)
            t, f0 = 1.0, objective(s, beta)
            while True:
                nb = beta + t * step
                ns = _distributed(table, _newton_sums, kf, label, weights, center, scale, nb,
                                  fit_intercept)
                if objective(ns, nb) <= f0 + 1e-12 * abs(f0) or t < 1e-10:
                    break
                t *= 0.5
            beta, s = nb, ns
            if np.max(np.abs(t * step)) < tol:
                converged = True
                break
    finally:
        bar_ctx.__exit__(None, None, None)
    if not np.all(np.isfinite(beta)):
        raise ArithmeticError("churn.dask.fit_logit: the Newton iterations diverged "
                              "(separated data?)")
    # back to the original scale: b_j = beta_j / s_j, b0 = beta_0 - sum b_j c_j
    coef = np.zeros(p + 1)
    bj = beta[off:] / scale
    coef[1:][kept] = bj
    coef[0] = (beta[0] if fit_intercept else 0.0) - float(bj @ center)
    # covariance: inverse Fisher information in internal coordinates, mapped by T
    cov = None
    se = np.full(p + 1, np.nan)
    if lambda_ == 0 and converged:
        V = np.linalg.inv(s["H"])
        Tm = np.zeros((p + 1, k))
        if fit_intercept:
            Tm[0, 0] = 1.0
        for c, j in enumerate(np.flatnonzero(kept)):
            Tm[0, off + c] = -center[c] / scale[c]
            Tm[1 + j, off + c] = 1.0 / scale[c]
        cov = Tm @ V @ Tm.T
        est = np.array([fit_intercept] + list(kept), dtype=bool)
        cov[~est, :] = np.nan
        cov[:, ~est] = np.nan
        se = np.sqrt(np.diag(cov))
    ll = s["ll"]
    sy = m1["Wy"]
    y0 = ybar if fit_intercept else 0.5
    nulldev = -2 * (sy * math.log(y0) + (W - sy) * math.log1p(-y0))
    rank = float(k)
    sd_all = np.where(kept, sd, 0.0)  # population SD (intercept) or RMS, as the C fit
    note = ""
    if dropped:
        note = (f"dropped constant column{'s' if len(dropped) > 1 else ''} "
                + ", ".join(f"'{d}'" for d in dropped) + " (coefficient fixed at 0)")
    doc = {
        "format": "libchurn-model", "format_version": 1, "library_version": __version__,
        "family": "logit", "time_unit_days": 0,
        "param_names": ["(Intercept)"] + features,
        "params": [float(v) for v in coef],
        "std_errors": [_null_value(v) for v in se],
        "covariance": None if cov is None else [_null_value(v) for v in cov.ravel()],
        "fit": {"loglik": s["llr"], "nobs": W, "converged": converged, "iterations": it},
        "features": features,
        "arrays": {
            "deviance": [-2 * ll], "null_deviance": [nulldev],
            "aic": [-2 * s["llr"] + 2 * rank if lambda_ == 0 else None],
            "lambda": [float(lambda_)], "alpha": [0.0], "penalty": [0.0 if lambda_ == 0 else 1.0],
            "intercept": [1.0 if fit_intercept else 0.0], "standardize": [0.0],
            "nobs_rows": [m1["rows"]], "sum_weights": [W], "rank": [rank],
            "nonzero": [float(np.count_nonzero(coef[1:]))], "dropped": [float(len(dropped))],
            "separated": [0.0], "feature_mean": [float(v) for v in mean],
            "feature_sd": [float(v) for v in sd_all]},
        "note": note,
    }
    model = LogisticRegression.from_json(json.dumps(doc))
    model.penalty = "none" if lambda_ == 0 else "l2"
    model.lambda_ = lambda_ if lambda_ else None
    model.fit_intercept = bool(fit_intercept)
    return model

