"""Coefficient plot of a fitted regression model (Cox, AFT, logistic), lifelines-style.

matplotlib is imported only when a plot is drawn. Same calling convention as the
functions of :mod:`churn.plotting`: the model first, ``ax=None`` (a new figure's axes)
and the axes returned.
"""
import numpy as np


def _frame(model):
    """(names, estimate, lower, upper, label, scale name) of the model's coefficients."""
    s = model.summary
    fam = getattr(model, "family", "")
    if "coef" in s.columns:  # Cox and AFT
        est, lo, hi = s["coef"], s["coef lower 95%"], s["coef upper 95%"]
        kind = "log(HR)" if fam == "cox" else "coef"
    else:  # logistic regression (and any model with estimate / lower / upper)
        est, lo, hi = s["estimate"], s["lower 95%"], s["upper 95%"]
        kind = "log(OR)" if fam == "logit" else "estimate"
    return (list(map(str, s.index)), est.to_numpy(float), lo.to_numpy(float),
            hi.to_numpy(float), kind)


def plot_coefficients(model, ax=None, columns=None, hazard_ratios=False,
                      include_intercept=None, **errorbar_kwargs):
    """Plot a fitted model's coefficients with 95% confidence intervals (lifelines' plot).

    One row per coefficient, the estimate as a point and its Wald 95% interval as a
    bar, a vertical line at no effect. The x axis says what is plotted: "log(HR) (95%
    CI)" for a Cox model, "coef (95% CI)" for an AFT model, "log(OR) (95% CI)" for a
    logistic regression, or on the ratio scale ("HR (95% CI)", "exp(coef) (95% CI)",
    "OR (95% CI)") with ``hazard_ratios=True``; the y axis names the coefficients.

    Parameters
    ----------
    model : CoxPHFitter, WeibullAFTFitter (any AFT fitter) or LogisticRegression
        A fitted model.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure's).
    columns : list of str, optional
        The coefficients to show, in this order (default: all).
    hazard_ratios : bool, default False
        Plot exp(coefficient) and its interval on a log x axis.
    include_intercept : bool, optional
        Show the intercept; default False for a logistic regression (its intercept is
        on another scale than the effects), True otherwise.
    **errorbar_kwargs
        Passed to ``Axes.errorbar`` (e.g. ``color``, ``capsize``).

    Returns
    -------
    matplotlib.axes.Axes
        The axes, with the labels set.

    Raises
    ------
    KeyError
        A name in `columns` is not a coefficient of the model.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> rng = np.random.default_rng(1)
    >>> X = pd.DataFrame({"tenure": rng.normal(size=200), "tickets": rng.normal(size=200)})
    >>> y = (rng.random(200) < 1 / (1 + np.exp(-X["tenure"]))).astype(int)
    >>> m = churn.LogisticRegression().fit(X, y)
    >>> ax = churn.plot_coefficients(m)
    >>> ax.get_xlabel(), [t.get_text() for t in ax.get_yticklabels()]
    ('log(OR) (95% CI)', ['tenure', 'tickets'])
    """
    import matplotlib.pyplot as plt
    names, est, lo, hi, kind = _frame(model)
    if include_intercept is None:
        include_intercept = kind != "log(OR)"
    keep = list(range(len(names)))
    if not include_intercept:
        keep = [i for i in keep if names[i] not in ("(Intercept)", "Intercept")]
    if columns is not None:
        pos = {n: i for i, n in enumerate(names)}
        missing = [c for c in columns if c not in pos]
        if missing:
            raise KeyError(f"columns: '{missing[0]}' is not a coefficient of the model "
                           f"(it has {', '.join(names)})")
        keep = [pos[c] for c in columns]
    names = [names[i] for i in keep]
    est, lo, hi = est[keep], lo[keep], hi[keep]
    if hazard_ratios:
        est, lo, hi = np.exp(est), np.exp(lo), np.exp(hi)
        kind = {"log(HR)": "HR", "log(OR)": "OR", "coef": "exp(coef)"}.get(kind,
                                                                           f"exp({kind})")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.45 * len(names) + 1.2))
    y = np.arange(len(names))[::-1]
    kw = {"fmt": "s", "color": "k", "capsize": 3, "markersize": 5}
    kw.update(errorbar_kwargs)
    ax.errorbar(est, y, xerr=np.vstack([est - lo, hi - est]), **kw)
    ax.axvline(1.0 if hazard_ratios else 0.0, color="0.6", linestyle="--", linewidth=1)
    if hazard_ratios:
        ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.set_ylim(-0.7, len(names) - 0.3)
    ax.set_xlabel(f"{kind} (95% CI)")
    title = getattr(model, "label_", None)
    if title:
        ax.set_title(str(title))
    return ax


__all__ = ["plot_coefficients"]
