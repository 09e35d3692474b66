"""Plots of churn models with matplotlib (optional: imported only when a plot is drawn).

Every function draws on `ax` (a new figure's axes when None) and returns the Axes:

- :func:`plot_frequency_recency_matrix`: expected purchases in the next time unit by
  frequency and recency (lifetimes' matrix);
- :func:`plot_probability_alive_matrix`: P(alive) by frequency and recency;
- :func:`plot_calibration_purchases_vs_holdout_purchases`: mean actual vs predicted
  holdout purchases by calibration frequency (Fader, Hardie & Lee 2005, Fig. 4);
- :func:`plot_cumulative_transactions`: tracking of actual vs expected cumulative (or
  incremental) repeat purchases (Figs. 2-3);
- :func:`plot_km`: Kaplan-Meier curves with confidence bands;
- :func:`plot_lift`, :func:`plot_gains`: lift per bin and the cumulative gains curve;
- :func:`plot_calibration_curve`: reliability diagram of churn probabilities.

The numbers come from the C library; these functions only draw them. In a headless
process set ``MPLBACKEND=Agg`` (or call ``matplotlib.use("Agg")``) before plotting.
"""
import numpy as np


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


def _matrix_plot(values, f, r, ax, title, label, cmap):
    ax = _axes(ax)
    im = ax.imshow(values, aspect="auto", origin="lower", cmap=cmap,
                   extent=[r[0], r[-1], f[0] - 0.5, f[-1] + 0.5], interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, label=label)
    ax.set_xlabel("recency (time of the last purchase)")
    ax.set_ylabel("frequency (repeat purchases)")
    ax.set_title(title)
    return ax


def plot_frequency_recency_matrix(model, T=None, data=None, max_frequency=None,
                                  max_recency=None, t=1.0, ax=None, cmap="viridis"):
    """Expected purchases in the next `t` time units for customers of age `T` by
    frequency and recency (a BTYD model)."""
    _plt()  # fail early with a clear message when matplotlib is missing
    f, r, F, R, valid, T = _grid(model, T, max_frequency, max_recency, data)
    z = np.full(F.shape, np.nan)
    z[valid] = np.asarray(model.expected_purchases(t, frequency=F[valid], recency=R[valid],
                                                   T=np.full(valid.sum(), T)))
    return _matrix_plot(z, f, r, ax, f"Expected purchases in the next {t:g} unit(s), T = {T:g}",
                        "expected purchases", cmap)


def plot_probability_alive_matrix(model, T=None, data=None, max_frequency=None,
                                  max_recency=None, ax=None, cmap="RdYlGn"):
    """P(alive) for customers of age `T` by frequency and recency (a BTYD model)."""
    _plt()  # fail early with a clear message when matplotlib is missing
    f, r, F, R, valid, T = _grid(model, T, max_frequency, max_recency, data)
    z = np.full(F.shape, np.nan)
    z[valid] = np.asarray(model.p_alive(frequency=F[valid], recency=R[valid],
                                        T=np.full(valid.sum(), T)))
    ax = _matrix_plot(z, f, r, ax, f"Probability a customer is alive, T = {T:g}", "P(alive)",
                      cmap)
    return ax


def plot_calibration_purchases_vs_holdout_purchases(model, data, holdout_length,
                                                    actual="holdout_purchases",
                                                    max_frequency=7, ax=None):
    """Mean actual vs model-predicted holdout purchases by calibration frequency."""
    _plt()  # fail early with a clear message when matplotlib is missing
    from ._metrics import holdout_by_frequency
    tab = holdout_by_frequency(model, holdout_length, data, actual, max_frequency)
    ax = _axes(ax)
    x = np.arange(len(tab))
    ax.plot(x, tab["actual"].to_numpy(), "o-", label="actual")
    ax.plot(x, tab["expected"].to_numpy(), "s--", label=f"model ({model.family})")
    ax.set_xticks(x)
    ax.set_xticklabels(list(tab.index))
    ax.set_xlabel("purchases in the calibration period")
    ax.set_ylabel("mean purchases in the holdout")
    ax.set_title(f"Holdout purchases by calibration frequency (MAE {tab.attrs['mae']:.3f})")
    ax.legend()
    return ax


def plot_cumulative_transactions(model, log, periods=78, period_days=7.0, origin=None,
                                 cutoff_period=None, incremental=False, ax=None):
    """Actual vs expected repeat purchases per period (cumulative unless incremental);
    `cutoff_period` draws a vertical line at the end of calibration."""
    _plt()  # fail early with a clear message when matplotlib is missing
    from ._metrics import repeat_tracking
    tr = repeat_tracking(log, model, periods, origin, period_days)
    ax = _axes(ax)
    a, e = ("actual", "expected") if incremental else ("actual_cumulative",
                                                       "expected_cumulative")
    ax.plot(tr.index, tr[a].to_numpy(), "-", label="actual")
    ax.plot(tr.index, tr[e].to_numpy(), "--", label=f"model ({model.family})")
    if cutoff_period is not None:
        ax.axvline(cutoff_period, color="grey", linestyle=":", label="end of calibration")
    ax.set_xlabel(f"period ({period_days:g} days)")
    ax.set_ylabel("repeat purchases" + ("" if incremental else " (cumulative)"))
    ax.set_title("Tracking " + ("incremental" if incremental else "cumulative") +
                 " repeat purchases")
    ax.legend()
    return ax


def plot_km(km, ax=None, ci=True, groups=None):
    """Kaplan-Meier step curves with confidence bands (a fitted KaplanMeierFitter)."""
    _plt()  # fail early with a clear message when matplotlib is missing
    ax = _axes(ax)
    labels = km.group_labels_ if groups is None else list(groups)
    for lab in labels:
        c = km.curve(lab)
        t = np.concatenate([[0.0], c.index.to_numpy()])
        s = np.concatenate([[1.0], c["survival"].to_numpy()])
        name = km.label if lab is None else str(lab)
        line, = ax.step(t, s, where="post", label=name)
        if ci:
            lo = np.concatenate([[1.0], c["lower"].to_numpy()])
            hi = np.concatenate([[1.0], c["upper"].to_numpy()])
            ax.fill_between(t, lo, hi, step="post", alpha=0.25, color=line.get_color())
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time")
    ax.set_ylabel("retention S(t)")
    ax.set_title(f"Kaplan-Meier retention ({km.conf_level:.0%} CI)" if ci else
                 "Kaplan-Meier retention")
    ax.legend()
    return ax


def plot_lift(y_true, score, bins=10, sample_weight=None, ax=None):
    """Lift of each score bin (bin 1 = highest scores) against the base rate."""
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
    """Cumulative gains: share of all churners caught in the top share of customers."""
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
    """Reliability diagram: observed churn rate vs mean predicted probability per bin."""
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
           "plot_calibration_purchases_vs_holdout_purchases", "plot_cumulative_transactions",
           "plot_km", "plot_lift", "plot_gains", "plot_calibration_curve"]
