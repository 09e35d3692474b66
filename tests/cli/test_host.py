"""The command as a host of the library (issue 18, docs/abi.md "What the library never
does to its host"): `churn predict` on a Weibull model whose scale is beyond 171.6 used
to abort (exit 134) in GSL's incomplete gamma; and the command's output is the same,
byte for byte, under a comma-decimal locale (de_DE.UTF-8)."""
import math
import os
import subprocess
import sys

import pytest

WEIBULL = ('{"format": "libchurn-model", "format_version": 1, "library_version": "1.0.0", '
           '"family": "weibull", "time_unit_days": 0, "param_names": ["(Intercept)", "x", '
           '"Log(scale)"], "params": [1.0, 0.5, %r], "std_errors": [null, null, null], '
           '"covariance": null, "fit": {"loglik": 0, "nobs": 1, "converged": true, '
           '"iterations": 0}, "features": ["x"], "arrays": {}, "note": ""}')


@pytest.mark.parametrize("log_scale", [5.5, 6.0, 10.0, 50.0, 700.0])
def test_predict_weibull_huge_scale(churn, tmp_path, log_scale):
    model = tmp_path / "w.json"
    model.write_text(WEIBULL % log_scale)
    cust = tmp_path / "c.csv"
    cust.write_text("customer_id,x\na,0.5\nb,-1.25\n")
    p = churn("predict", model, cust, "--horizon", 2, check=False)
    assert p.returncode == 0, p.stderr  # was 134 (SIGABRT from GSL's default handler)
    lines = p.stdout.strip().splitlines()
    assert lines[0] == "customer_id,p_churn,survival,linear_predictor,median,mean_residual_life"
    sigma = math.exp(log_scale)
    for line, x in zip(lines[1:], (0.5, -1.25)):
        f = line.split(",")
        lp = 1.0 + 0.5 * x
        # survreg Weibull: S(h) = exp(-(h / e^lp)^(1/sigma)), median e^lp (log 2)^sigma
        surv = math.exp(-math.exp((math.log(2.0) - lp) / sigma))
        assert abs(float(f[2]) - surv) <= 1e-9 * surv
        assert abs(float(f[3]) - lp) <= 1e-12
        median = math.exp(lp + sigma * math.log(math.log(2.0)))
        assert abs(float(f[4]) - median) <= 1e-9 * median + 1e-300
        # the mean residual life lam sigma Gamma(sigma, u) e^u exceeds a double here
        assert f[5] == "inf"


def _comma_locale_env(tmp_root):
    """An environment with LC_ALL=de_DE.UTF-8 that really gives a decimal comma, building
    the locale with localedef into a folder for LOCPATH when the system lacks it; None when
    that is impossible."""
    probe = ("import locale; locale.setlocale(locale.LC_ALL, 'de_DE.UTF-8'); "
             "assert locale.localeconv()['decimal_point'] == ','")
    env = dict(os.environ, LC_ALL="de_DE.UTF-8")
    if subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True).returncode == 0:
        return env
    locdir = os.environ.get("CHURN_TEST_LOCALE_DIR") or str(tmp_root / "locale")
    os.makedirs(locdir, exist_ok=True)
    target = os.path.join(locdir, "de_DE.UTF-8")
    if not os.path.exists(os.path.join(target, "LC_NUMERIC")):
        try:
            subprocess.run(["localedef", "-i", "de_DE", "-f", "UTF-8", target],
                           capture_output=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired):
            return None
    env["LOCPATH"] = locdir
    if subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True).returncode == 0:
        return env
    return None


def test_output_same_under_comma_locale(churn_exe, tmp_path):
    env_de = _comma_locale_env(tmp_path)
    if env_de is None:
        pytest.skip("de_DE.UTF-8 is neither installed nor buildable with localedef "
                    "(Debian: apt-get install locales)")
    env_c = dict(os.environ, LC_ALL="C")

    def run(env, *args):
        p = subprocess.run([churn_exe, *map(str, args)], env=env, capture_output=True,
                           text=True, timeout=600)
        assert p.returncode == 0, p.stderr
        return p.stdout

    tx = tmp_path / "tx.csv"
    run(env_c, "simulate", "--model", "bgnbd", "--customers", 300, "--seed", 5, "--start",
        "2024-01-01", "--weeks", 40, "-o", tx)
    cust = tmp_path / "cust.csv"
    run(env_c, "features", tx, "--cutoff", "2024-08-01", "-o", cust)
    for name, env in (("c", env_c), ("de", env_de)):
        model = tmp_path / f"m_{name}.json"
        out = {"fit": run(env, "fit", "bgnbd", cust, "-o", model)}
        out["predict"] = run(env, "predict", model, cust, "--horizon", 12.5)
        out["report"] = run(env, "report", tx, "--cutoff", "2024-08-01", "--horizon", 6,
                            "--discount", 0.01, "--margin", 0.3, "--alert",
                            "low: p_alive < 0.35", "--top", 5)
        out["model"] = model.read_text()
        if name == "c":
            ref = out
    for k in ref:
        assert out[k] == ref[k], f"'{k}' differs under de_DE.UTF-8"
    assert "0.35" in ref["report"] or "low" in ref["report"]
