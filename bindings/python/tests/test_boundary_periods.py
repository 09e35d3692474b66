"""Issue 17 items 5 and 6 in Python: calendar periods (`period=`) take a yearly log to
BG/BB, and BGBB.p_alive is the published "alive at the next opportunity"."""
import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

import churn


def yearly_log():
    """Donors giving on January 1 of some of 1995-2001 (and some again on June 30)."""
    rows = []
    for c in range(40):
        for y in range(1995, 2002):
            if y == 1995 or (c * 7 + y * 3) % (2 + c % 4) == 0:
                rows.append((f"d{c}", f"{y}-01-01", 25.0))
                if c % 5 == 0 and y > 1995:
                    rows.append((f"d{c}", f"{y}-06-30", 10.0))
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


def test_unit_year_is_not_whole_period_year_is():
    log = yearly_log()
    days = churn.customer_table(log, cutoff="2002-01-01", unit="year",
                                columns=["frequency", "recency", "T"])
    assert days["T"].iloc[0] == pytest.approx(2557 / 365.25, abs=1e-12)
    with pytest.raises(churn.ChurnValueError, match="not a whole number of transaction"):
        churn.BGBB().fit(days)
    years = churn.customer_table(log, cutoff="2002-01-01", period="year",
                                 columns=["frequency", "recency", "T", "n_orders",
                                          "first_purchase"])
    assert years.attrs["period"] == "year" and years.attrs["time_unit"] == 365.25
    assert (years["T"] == 7).all()
    assert (years["frequency"] == years["n_orders"] - 1).all()  # June gifts merged
    assert (years["first_purchase"] == pd.Timestamp("1995-01-01")).all()  # day 9131
    assert years.loc["d0", "frequency"] == 3 and years.loc["d0", "recency"] == 5
    m = churn.BGBB().fit(years, l2=0.01)
    assert np.isfinite(m.p_alive(years)).all()
    # the stream gives the same table
    with churn.CustomerStream(cutoff="2002-01-01", period="year",
                              columns=["frequency", "recency", "T", "n_orders",
                                       "first_purchase"]) as s:
        s.add(log.iloc[:37])
        s.add(log.iloc[37:])
        streamed = s.finish()
    pd.testing.assert_frame_equal(streamed, years)


def test_period_errors():
    log = yearly_log()
    with pytest.raises(churn.ChurnValueError,
                       match=r"option 'time_unit' \(7 days\) does not match option 'period' "
                             r"\(year\)"):
        churn.customer_table(log, period="year", unit="week")
    with pytest.raises(ValueError, match="'fortnight' is not None, 'week', 'month'"):
        churn.customer_table(log, period="fortnight")
    with pytest.raises(churn.ChurnValueError, match="must fall in a later year than 'cutoff'"):
        churn.customer_table(log, cutoff="2000-02-01", holdout_end="2000-12-31",
                             period="year")
    t = churn.customer_table(log, cutoff="2000-02-01", holdout_end="2001-12-31",
                             period="quarter", unit=91.3125)
    assert t.attrs["period"] == "quarter" and "period" not in churn.customer_table(log).attrs


def test_the_options_struct_grew():
    o = churn._customers.CustomerOptions()
    churn._customers._options_init(o)
    assert o.struct_size == __import__("ctypes").sizeof(o) and o.period == 0


# Fader, Hardie & Shang (2010): the donations fit and P(alive in 2002) at n = 6
PUBLISHED = dict(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
HISTORIES = pd.DataFrame({"frequency": [0, 2, 6], "recency": [0, 4, 6], "T": [6, 6, 6]})


def betaln(a, b):
    from math import lgamma
    return lgamma(a) + lgamma(b) - lgamma(a + b)


def alive_closed_form(p, x, tx, n, m):
    """FHS 2010's P(alive in period n + m), written out from the likelihood."""
    al, be, ga, de = p["alpha"], p["beta"], p["gamma"], p["delta"]
    L = np.exp(betaln(al + x, be + n - x) - betaln(al, be) + betaln(ga, de + n) - betaln(ga, de))
    for i in range(int(n - tx)):
        L += np.exp(betaln(al + x, be + tx - x + i) - betaln(al, be) + betaln(ga + 1, de + tx + i)
                    - betaln(ga, de))
    return np.exp(betaln(al + x, be + n - x) - betaln(al, be) + betaln(ga, de + n + m)
                  - betaln(ga, de)) / L


def test_bgbb_p_alive_published_table():
    m = churn.BGBB.from_params(**PUBLISHED)
    pa = m.p_alive(HISTORIES)
    assert np.abs(pa.to_numpy() - [0.11, 0.59, 0.93]).max() <= 0.005
    through = m.p_alive_through(HISTORIES)
    assert through.name == "p_alive_through" and through.iloc[2] == 1.0
    for i, (x, tx, n) in enumerate(HISTORIES.itertuples(index=False)):
        assert pa.iloc[i] == pytest.approx(alive_closed_form(PUBLISHED, x, tx, n, 1), rel=1e-12)
        assert m.p_alive_at(3, HISTORIES).iloc[i] == pytest.approx(
            alive_closed_form(PUBLISHED, x, tx, n, 3), rel=1e-12)
    np.testing.assert_array_equal(m.p_alive_at(0, HISTORIES), through)
    frame = m.predict_frame(HISTORIES, 5)
    assert list(frame.columns) == ["p_alive", "p_churn", "expected_purchases", "p_alive_through"]
    np.testing.assert_allclose(frame["p_churn"], 1 - pa.to_numpy(), rtol=0, atol=1e-15)
    with pytest.raises(churn.ChurnValueError, match="whole number"):
        m.p_alive_at(0.5, HISTORIES)


def test_bgbb_p_alive_matches_lifetimes(source_root):
    peers = os.path.join(source_root, "..", "shared", "peers")
    if not os.path.isdir(os.path.join(peers, "lifetimes")):
        pytest.skip("../shared/peers/lifetimes is absent")
    path = os.pathsep.join(os.path.join(peers, d) for d in
                           ("lifetimes", "autograd", "dill", "lifelines", "agamma", "formulaic",
                            "imeta"))
    code = ("import json, numpy as np, pandas as pd\n"
            "from lifetimes import BetaGeoBetaBinomFitter as B\n"
            "f = B(); f.params_ = pd.Series(%r)\n"
            "x, tx, n = np.array([0, 2, 6]), np.array([0, 4, 6]), np.array([6, 6, 6])\n"
            "print(json.dumps([list(f.conditional_probability_alive(m, x, tx, n)) "
            "for m in (0, 1, 3)]))\n" % PUBLISHED)
    p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                       timeout=300, env={**os.environ, "PYTHONPATH": path})
    if p.returncode != 0:
        pytest.skip(f"lifetimes does not run here: {p.stderr.strip().splitlines()[-1:]}")
    ref0, ref1, ref3 = json.loads(p.stdout)
    m = churn.BGBB.from_params(**PUBLISHED)
    np.testing.assert_allclose(m.p_alive(HISTORIES), ref1, rtol=1e-10)
    np.testing.assert_allclose(m.p_alive_through(HISTORIES), ref0, rtol=1e-10)
    np.testing.assert_allclose(m.p_alive_at(3, HISTORIES), ref3, rtol=1e-10)
