"""Plots: every function draws and returns its Axes; matplotlib is imported lazily."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import churn

plt = pytest.importorskip("matplotlib.pyplot")
from churn import plotting  # noqa: E402


@pytest.fixture(scope="module")
def models(cdnow_table):
    return churn.BGNBD().fit(cdnow_table)


def _saved(ax, tmp_path, name):
    path = tmp_path / f"{name}.png"
    ax.figure.savefig(path)
    plt.close(ax.figure)
    assert path.stat().st_size > 1000
    return path


def test_btyd_plots(models, cdnow_table, cdnow_log, tmp_path):
    bg = models
    ax = plotting.plot_frequency_recency_matrix(bg, data=cdnow_table, max_frequency=20)
    assert ax.get_title().startswith("Expected purchases")
    img = ax.images[0].get_array()
    assert img.shape == (21, 50)
    # the cell (x = 20, recency = T) is the model's expectation for that customer
    T = float(cdnow_table["T"].max())
    assert img[20, -1] == pytest.approx(bg.expected_purchases(1, frequency=[20], recency=[T],
                                                              T=[T])[0], rel=1e-12)
    _saved(ax, tmp_path, "fr")
    ax = plotting.plot_probability_alive_matrix(bg, T=39, max_frequency=10)
    assert np.nanmax(ax.images[0].get_array()) <= 1.0
    _saved(ax, tmp_path, "alive")
    ax = plotting.plot_calibration_purchases_vs_holdout_purchases(bg, cdnow_table, 39)
    assert len(ax.lines) == 2
    _saved(ax, tmp_path, "holdout")
    ax = plotting.plot_cumulative_transactions(bg, cdnow_log, periods=78, cutoff_period=39)
    y = ax.lines[0].get_ydata()
    assert y[-1] > y[0]
    _saved(ax, tmp_path, "tracking")
    fig, ax0 = plt.subplots()
    assert plotting.plot_cumulative_transactions(bg, cdnow_log, 78, incremental=True,
                                                 ax=ax0) is ax0
    plt.close(fig)


def test_classification_and_km_plots(cdnow_table, tmp_path):
    t = cdnow_table
    lm = churn.LogisticRegression().fit(t[["frequency", "recency", "T"]], t["churned"])
    p = lm.predict_churn(t[["frequency", "recency", "T"]])
    _saved(plotting.plot_lift(t["churned"], p), tmp_path, "lift")
    ax = plotting.plot_gains(t["churned"], p)
    assert ax.lines[0].get_ydata()[-1] == pytest.approx(1.0)
    _saved(ax, tmp_path, "gains")
    _saved(plotting.plot_calibration_curve(t["churned"], p), tmp_path, "calibration")
    km = churn.KaplanMeierFitter().fit(t["duration"], t["event"], groups=t["value_tier"])
    ax = km.plot()
    assert len(ax.lines) == 3 and len(ax.collections) == 3  # curves + CI bands
    _saved(ax, tmp_path, "km")


def test_matplotlib_is_optional_and_lazy():
    code = ("import sys; import churn.plotting as p; "
            "assert 'matplotlib' not in sys.modules, 'imported eagerly'; "
            "sys.modules['matplotlib'] = None; sys.modules['matplotlib.pyplot'] = None\n"
            "try:\n    p.plot_lift([0, 1], [0.1, 0.9])\n"
            "except ImportError as e:\n    print('ERR', e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "churn.plotting needs matplotlib" in r.stdout


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_every_plot_names_its_unit_and_tiers(models, cdnow_table, cdnow_log, tmp_path):
    """Headless (Agg): the time unit on every time axis and title, tier names in the
    legend (issue 21)."""
    bg, t = models, cdnow_table
    assert t.attrs["time_unit"] == 7.0 and bg.time_unit_ == 7.0
    ax = plotting.plot_frequency_recency_matrix(bg, data=t, max_frequency=20, t=4)
    assert ax.get_xlabel() == "recency (weeks from the first to the last purchase)"
    assert ax.get_ylabel() == "frequency (repeat purchases)"
    assert ax.get_title() == ("Expected purchases in the next 4 weeks, customers of age "
                              f"T = {t['T'].max():.4g} weeks")
    assert ax.figure.axes[1].get_ylabel() == "expected purchases in the next 4 weeks"
    assert "unit(s)" not in ax.get_title()
    _saved(ax, tmp_path, "fr_units")
    ax = plotting.plot_probability_alive_matrix(bg, T=39, max_frequency=10)
    assert ax.get_title() == "Probability a customer is alive, customers of age T = 39 weeks"
    assert ax.get_xlabel().startswith("recency (weeks")
    _saved(ax, tmp_path, "alive_units")
    ax = plotting.plot_calibration_purchases_vs_holdout_purchases(bg, t, 39)
    assert ax.get_ylabel() == "mean purchases in the holdout (39 weeks)"
    assert _legend(ax) == ["actual", "model (bgnbd)"]
    _saved(ax, tmp_path, "holdout_units")
    ax = plotting.plot_cumulative_transactions(bg, cdnow_log, 78, cutoff_period=39)
    assert ax.get_xlabel() == "weeks since 1997-01-01"
    assert _legend(ax) == ["actual", "model (bgnbd)", "end of calibration"]
    _saved(ax, tmp_path, "tracking_units")
    km = churn.KaplanMeierFitter().fit(t["duration"], t["event"], groups=t["value_tier"])
    ax = km.plot(unit="week")
    assert ax.get_xlabel() == "weeks since first purchase"
    assert _legend(ax) == ["key", "important", "ordinary"]
    assert ax.get_legend().get_title().get_text() == "value tier"
    _saved(ax, tmp_path, "km_units")
    # a float-coded tier column (the C numbers) with names given
    f = churn.table_to_float(t)
    km2 = churn.KaplanMeierFitter().fit(f["duration"], f["event"], groups=f["value_tier"])
    ax = plotting.plot_km(km2, names={1.0: "key", 2.0: "important", 3.0: "ordinary"},
                          unit=t.attrs["time_unit"])
    assert _legend(ax) == ["key", "important", "ordinary"]
    assert ax.get_xlabel() == "weeks since first purchase"
    plt.close(ax.figure)
    # no unit= anywhere: the fitter takes the table's own unit (attrs), from the frame
    # or from a column of it, and the plot names it
    for km3 in (churn.KaplanMeierFitter().fit("duration", "event", data=t),
                churn.KaplanMeierFitter().fit(t["duration"], t["event"])):
        assert km3.time_unit_ == 7.0
        ax = plotting.plot_km(km3)
        assert ax.get_xlabel() == "weeks since first purchase"
        plt.close(ax.figure)
    assert churn.KaplanMeierFitter().fit([1.0, 2, 3]).time_unit_ is None
    assert churn.KaplanMeierFitter().fit([1.0, 2, 3], unit="day").time_unit_ == 1.0
    ax = plotting.plot_lift(t["churned"], -t["frequency"].to_numpy())
    assert ax.get_xlabel() == "bin of the scores (1 = top 10%)"
    plt.close(ax.figure)
    assert _legend(plotting.plot_gains(t["churned"], -t["frequency"].to_numpy())) == \
        ["model", "random"]
    plt.close("all")
    ax = plotting.plot_calibration_curve(t["churned"], np.full(len(t), 0.5))
    assert _legend(ax) == ["perfectly calibrated", "model"]
    plt.close(ax.figure)


def test_cumulative_transactions_accepts_a_dataframe(models, cdnow_log):
    """plot_cumulative_transactions(bg, df) failed with an AttributeError (issue 21)."""
    bg = models
    df = cdnow_log.to_dataframe()
    a = plotting.plot_cumulative_transactions(bg, cdnow_log, 78)
    b = plotting.plot_cumulative_transactions(bg, df, 78)
    np.testing.assert_array_equal(a.lines[0].get_ydata(), b.lines[0].get_ydata())
    np.testing.assert_array_equal(a.lines[1].get_ydata(), b.lines[1].get_ydata())
    c = plotting.plot_cumulative_transactions(
        bg, df.rename(columns={"customer_id": "cid", "date": "when"}), 78,
        customer="cid", time="when")
    np.testing.assert_array_equal(a.lines[0].get_ydata(), c.lines[0].get_ydata())
    with pytest.raises(TypeError, match="log: expected a churn.TransactionLog or a pandas "
                                        "DataFrame of transactions, got list"):
        plotting.plot_cumulative_transactions(bg, [1, 2], 78)
    plt.close("all")


def test_plot_period_transactions_is_the_expected_count(models, cdnow_table):
    bg, t = models, cdnow_table
    ax = plotting.plot_period_transactions(bg, t)
    actual = [p.get_height() for p in ax.containers[0]]
    model = [p.get_height() for p in ax.containers[1]]
    assert actual == [float((t["frequency"] == k).sum()) for k in range(7)]
    assert actual[0] == 1411  # CDNOW: 1,411 of 2,357 made no repeat purchase by week 39
    # the expected count is the sum of P(X(T_i) = k) over the customers
    for k in (0, 1, 5):
        want = sum(bg.prob_purchases(k, float(T)) for T in t["T"])
        assert model[k] == pytest.approx(want, rel=1e-9)
    # the model's total over all k is the number of customers
    allk = sum(float(np.sum(bg.prob_purchases(k, t["T"].to_numpy()))) for k in range(200))
    assert allk == pytest.approx(len(t), rel=1e-6)
    assert _legend(ax) == ["actual", "model (bgnbd)"]
    assert ax.get_ylabel() == "customers"
    assert ax.get_xlabel() == "repeat purchases in the calibration period (38.86 weeks)"
    plt.close(ax.figure)


def test_plot_history_alive_follows_the_customer(models, cdnow_log, cdnow_table):
    bg = models
    df = cdnow_log.to_dataframe()
    cid = int(cdnow_table["frequency"].idxmax())
    mine = df[df["customer_id"].astype(np.int64) == cid]   # CDNOW's ids are '00001'...
    ax = plotting.plot_history_alive(bg, 273, df, cid)
    assert ax.get_ylabel() == "P(alive)"
    assert ax.get_xlabel() == "date (steps of 1 day)"
    assert ax.get_title() == f"History of P(alive) of customer {cid} (model in weeks)"
    assert _legend(ax) == ["P(alive)", "purchases"]
    x = ax.lines[0].get_xdata()
    p = ax.lines[0].get_ydata()
    assert len(x) == 274 and np.all((p >= 0) & (p <= 1))
    # one dashed line per purchase day
    assert len(ax.lines) - 1 == mine["date"].dt.normalize().nunique()
    # the value at the cutoff (day 273 after the first purchase is past it; compare at
    # the table's own cutoff) is the model's P(alive) of the table's row
    first = mine["date"].min().normalize()
    cut = (pd.Timestamp("1997-09-30") - first).days
    assert p[cut] == pytest.approx(float(bg.p_alive(cdnow_table.loc[[cid]]).iloc[0]),
                                   rel=1e-9)
    # a TransactionLog gives the same curve; an unknown customer is a KeyError
    ax2 = plotting.plot_history_alive(bg, 273, cdnow_log, cid)
    np.testing.assert_array_equal(ax2.lines[0].get_ydata(), p)
    with pytest.raises(KeyError, match="no transaction"):
        plotting.plot_history_alive(bg, 10, df, -5)
    plt.close("all")
