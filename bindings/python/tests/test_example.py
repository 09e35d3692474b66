"""docs/examples/retention.py runs headless and writes the ranked list and the plots."""
import os
import subprocess
import sys

import pandas as pd
import pytest

PNGS = ["frequency_recency.png", "p_alive.png", "holdout_calibration.png", "tracking.png",
        "km_by_tier.png", "lift.png", "gains.png", "calibration.png"]


def test_retention_example(source_root, tmp_path):
    pytest.importorskip("matplotlib")
    script = os.path.join(source_root, "docs", "examples", "retention.py")
    env = dict(os.environ, MPLBACKEND="Agg")
    r = subprocess.run([sys.executable, script, "--out", str(tmp_path)], cwd=tmp_path,
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    for name in PNGS:
        p = tmp_path / name
        assert p.exists() and p.stat().st_size > 5000, name
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lst = pd.read_csv(tmp_path / "retention_list.csv")
    assert len(lst) > 1000
    assert lst["value_at_risk"].is_monotonic_decreasing
    assert lst["value_at_risk"].iloc[0] > 0
    assert {"customer_id", "p_alive", "clv", "value_at_risk", "tier", "alerts"} <= set(lst)
    assert "top customers by value at risk" in r.stdout
