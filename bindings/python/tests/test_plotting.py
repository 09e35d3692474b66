"""Plots: every function draws and returns its Axes; matplotlib is imported lazily."""
import os
import subprocess
import sys

import numpy as np
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
