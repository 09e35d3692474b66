"""Issue 17 items 5 and 6 at the command: calendar periods (`churn features --period`,
`churn score --calendar`) take a yearly log to BG/BB, and BG/BB's `p_alive` is the
published "alive at the next opportunity" (Fader, Hardie & Shang 2010)."""
import csv
import math
import os

import pytest


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def yearly_log(tmp_path):
    """Donors giving on January 1 of some of the years 1995-2001; several give twice in
    one year (a second gift on June 30 merges into that year's opportunity)."""
    path = tmp_path / "donations_log.csv"
    rows = ["customer_id,date,amount"]
    for c in range(30):
        for y in range(1995, 2002):
            if y == 1995 or (c * 7 + y * 3) % (2 + c % 4) == 0:
                rows.append(f"d{c},{y}-01-01,25")
                if c % 5 == 0 and y > 1995:
                    rows.append(f"d{c},{y}-06-30,10")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_unit_year_is_refused_with_a_pointer(churn, yearly_log, tmp_path):
    table = tmp_path / "days.csv"
    churn("features", yearly_log, "--cutoff", "2002-01-01", "--unit", "year",
          "--columns", "frequency,recency,T", "-o", table)
    T = float(read_csv(table)[0]["T"])
    assert T == pytest.approx(2557 / 365.25, abs=1e-9)  # 7.000684: 365.25-day years
    p = churn("fit", "bgbb", table, check=False)
    assert p.returncode == 1
    assert "column 'T': 7.00068 is not a whole number of transaction opportunities" in p.stderr
    assert "line 2 of" in p.stderr
    assert "churn features --period year|quarter|month|week" in p.stderr


def test_period_year_goes_to_bgbb(churn, yearly_log, tmp_path):
    table = tmp_path / "years.csv"
    p = churn("features", yearly_log, "--cutoff", "2002-01-01", "--period", "year",
              "--columns", "frequency,recency,T,n_orders,first_purchase,last_purchase",
              "-o", table)
    rows = read_csv(table)
    assert len(rows) == 30
    for r in rows:
        assert r["period"] == "year" and r["time_unit_days"] == "365.25"  # visible
        x, tx, T = float(r["frequency"]), float(r["recency"]), float(r["T"])
        assert T == 7 and x == int(x) and tx == int(tx) and x <= tx <= T
        assert float(r["n_orders"]) == x + 1  # June gifts merged into their year
        assert float(r["first_purchase"]) == 9131  # 1995-01-01, the year's first day
        assert (float(r["last_purchase"]) - 9131) % 365 in (0, 1, 2)  # a January 1
    # d0 gives in 1995 and whenever (3 * y) % 2 == 0: 1996, 1998, 2000
    d0 = next(r for r in rows if r["customer_id"] == "d0")
    assert (float(d0["frequency"]), float(d0["recency"])) == (3, 5)
    model = tmp_path / "bgbb.json"
    fit = churn("fit", "bgbb", table, "--l2", "0.01", "-o", model)
    assert "fitted on 30 customers" in fit.stdout
    # scoring the log directly: --calendar (here --period is the discount period)
    s = churn("score", model, yearly_log, "--cutoff", "2002-01-01", "--calendar", "year",
              "--horizon", "3")
    lines = s.stdout.splitlines()
    assert lines[0] == ("customer_id,frequency,recency,T,p_alive,p_churn,expected_purchases,"
                        "p_alive_through")
    assert all(line.split(",")[3] == "7" for line in lines[1:])


def test_period_and_unit_must_agree(churn, yearly_log):
    p = churn("features", yearly_log, "--period", "year", "--unit", "week", check=False)
    assert p.returncode == 2
    assert "--period year and --unit 7 days disagree" in p.stderr
    ok = churn("features", yearly_log, "--period", "year", "--unit", "year",
               "--columns", "T")
    assert ok.returncode == 0
    p = churn("features", yearly_log, "--period", "fortnight", check=False)
    assert p.returncode == 2 and "'fortnight' is not year, quarter, month or week" in p.stderr
    p = churn("features", yearly_log, "--cutoff", "2000-03-01", "--holdout-end", "2000-12-31",
              "--period", "year", check=False)
    assert p.returncode == 1
    assert "'holdout_end' (day 11322) must fall in a later year than 'cutoff'" in p.stderr
    p = churn("features", yearly_log, "--period", "month", "--no-same-day-merge", check=False)
    assert p.returncode == 1 and "'same_day_once' = 0 cannot be combined" in p.stderr


def test_weeks_quarters_months(churn, tmp_path):
    log = tmp_path / "w.csv"
    # Saturday 2023-06-24, Sunday 06-25 (one week), Monday 06-26 (the next)
    log.write_text("customer_id,date,amount\nb,2023-06-24,5\nb,2023-06-25,5\n"
                   "b,2023-06-26,5\n")
    want = {"week": ("1", "1", "19527", "19534"), "month": ("0", "0", "19509", "19509"),
            "quarter": ("0", "0", "19448", "19448"), "year": ("0", "0", "19358", "19358")}
    for period, (x, T, first, last) in want.items():
        p = churn("features", log, "--cutoff", "2023-06-30", "--period", period, "--columns",
                  "frequency,T,first_purchase,last_purchase")
        r = read_csv_text(p.stdout)[0]
        assert (r["frequency"], r["T"], r["first_purchase"], r["last_purchase"]) == \
            (x, T, first, last), period


def read_csv_text(text):
    return list(csv.DictReader(text.splitlines()))


def test_bgbb_p_alive_is_the_published_one(churn, shared_data, tmp_path):
    src = os.path.join(shared_data, "donations", "donations.csv")
    if not os.path.exists(src):
        pytest.skip("donations/donations.csv is absent")
    model = tmp_path / "bgbb.json"
    churn("fit", "bgbb", src, "-o", model)
    q = tmp_path / "q.csv"
    q.write_text("customer_id,frequency,recency,T\na,0,0,6\nb,2,4,6\nc,6,6,6\n")
    rows = read_csv_text(churn("predict", model, q, "--horizon", "5").stdout)
    # Fader, Hardie & Shang (2010), P(alive in 2002) for the 1995 cohort, n = 6
    for r, pub in zip(rows, (0.11, 0.59, 0.93)):
        pa, through = float(r["p_alive"]), float(r["p_alive_through"])
        assert abs(pa - pub) <= 0.005
        assert float(r["p_churn"]) == pytest.approx(1 - pa, abs=1e-9)
        # one more opportunity survived: (delta + n) / (gamma + delta + n), the fit's
        assert pa < through
    assert float(rows[2]["p_alive_through"]) == 1.0
    assert math.isclose(float(rows[0]["p_alive"]) / float(rows[0]["p_alive_through"]),
                        float(rows[1]["p_alive"]) / float(rows[1]["p_alive_through"]),
                        rel_tol=1e-8)
