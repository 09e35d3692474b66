"""The SQLite extension libchurn_sqlite from Python's sqlite3 module and the sqlite3 shell
(issue 24). The CDNOW sample (../shared/data; skipped with a message when absent) and a
simulated log from `churn simulate` (always) are loaded into an `orders` table; the
summaries and scores must equal `churn score` (10 printed digits) and the Python
binding's values of the same library functions (1e-12 relative)."""
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

import dbref

MODULE = os.environ["CHURN_SQLITE_MODULE"]


def connect():
    con = sqlite3.connect(":memory:")
    if not hasattr(con, "enable_load_extension"):
        pytest.skip("this Python's sqlite3 module cannot load extensions")
    con.enable_load_extension(True)
    con.load_extension(os.path.splitext(MODULE)[0])   # SQLite adds the .so itself
    con.enable_load_extension(False)
    return con


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return str(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="module", params=["cdnow", "simulated"])
def dataset(request, tmp):
    name = request.param
    tx = dbref.cdnow_csv(tmp) if name == "cdnow" else dbref.simulated_csv(tmp)
    if tx is None:
        pytest.skip("../shared/data/cdnow/CDNOW_sample.txt is absent: the CDNOW comparison "
                    "is skipped (the simulated log still runs)")
    ref = dbref.reference(tx, tmp, name)
    con = connect()
    con.execute("CREATE TABLE orders (customer_id TEXT, ordered_at TEXT, amount REAL)")
    with open(tx) as f:
        next(f)
        con.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                        (line.rstrip("\n").split(",") for line in f))
    con.execute("CREATE TABLE models (name TEXT PRIMARY KEY, model TEXT)")
    for fam, path in ref["models"].items():
        with open(path) as f:
            con.execute("INSERT INTO models VALUES (?, ?)", (fam, f.read()))
    con.execute(f"""CREATE TABLE customers AS SELECT customer_id,
                      churn_summary(ordered_at, amount, '{ref['cutoff']}', 'week') AS c
                    FROM orders GROUP BY customer_id""")
    yield name, con, ref
    con.close()


def test_summary_equals_churn_features(dataset):
    name, con, ref = dataset
    rows = {cid: json.loads(c) for cid, c in
            con.execute("SELECT customer_id, c FROM customers WHERE c IS NOT NULL")}
    py, cli = ref["py"]["features"], ref["cli"]["features"]
    assert set(rows) == set(py.index) == set(cli)
    for cid, r in rows.items():
        for col in dbref.STATE_COLS:
            dbref.assert_close(r[col], py.at[cid, col], 1e-12, f"{name} {cid} {col} (Python)")
            dbref.assert_close(r[col], cli[cid][col], 1e-12,
                               f"{name} {cid} {col} (churn features)", atol=1e-12)
        assert r["time_unit_days"] == 7.0 and r["cutoff"] == ref["cutoff"]


@pytest.mark.parametrize("fam", ["bgnbd", "pnbd"])
def test_scores_equal_churn_score(dataset, fam):
    name, con, ref = dataset
    h, P, n = dbref.HORIZON, dbref.CLV_PERIOD, dbref.CLV_PERIODS
    q = f"""SELECT customer_id,
              churn_p_alive(b, c), churn_expected_purchases(b, c, {h}),
              churn_expected_spend(g, c), churn_clv(b, g, c, {n}, {P}),
              churn_value_at_risk(b, g, c, {n}, {P}), churn_score(b, g, c, {n}, {P}),
              churn_p_alive(b, c ->> '$.frequency', c ->> '$.recency', c ->> '$.T'),
              churn_clv(b, g, c ->> '$.frequency', c ->> '$.recency', c ->> '$.T',
                        c ->> '$.monetary_value', {n}, {P})
            FROM customers,
                 (SELECT (SELECT model FROM models WHERE name = '{fam}') AS b,
                         (SELECT model FROM models WHERE name = 'gammagamma') AS g)
            WHERE c IS NOT NULL"""
    py, cli = ref["py"][fam], ref["cli"][fam + "_score"]
    count = 0
    for cid, pa, ep, es, clv, var, score, pa_xt, clv_xt in con.execute(q):
        w = f"{name} {fam} {cid}"
        pc = py["clv"].loc[cid]
        dbref.assert_close(pa, py["p_alive"][cid], 1e-12, w + " p_alive")
        dbref.assert_close(ep, py["expected_purchases"][cid], 1e-12, w + " expected_purchases")
        dbref.assert_close(es, ref["py"]["expected_spend"][cid], 1e-12, w + " expected_spend")
        dbref.assert_close(clv, pc["clv"], 1e-12, w + " clv")
        dbref.assert_close(var, pc["value_at_risk"], 1e-12, w + " value_at_risk", atol=1e-300)
        s = json.loads(score)
        for key in ("p_alive", "p_churn", "expected_purchases", "expected_spend", "clv",
                    "value_at_risk"):
            dbref.assert_close(s[key], pc[key], 1e-12, f"{w} churn_score {key}", atol=1e-300)
        assert pa_xt == pa and clv_xt == clv
        for col, got in (("p_alive", pa), ("expected_purchases", ep), ("expected_spend", es),
                         ("clv", clv)):
            dbref.assert_close(got, cli[cid][col], 1e-12, f"{w} {col} (churn score)", atol=1e-300)
        count += 1
    assert count == len(cli)


def test_bad_input_is_a_clear_error_and_the_connection_goes_on(tmp):
    con = connect()
    sim = dbref.simulated_csv(tmp, customers=300, seed=5)
    ref = dbref.reference(sim, tmp, "simulated")
    bg, gg = (open(ref["models"][f]).read() for f in ("bgnbd", "gammagamma"))
    broken = json.loads(bg)
    del broken["params"]
    cases = [
        ("SELECT churn_summary(d, 1.0, '2024-06-30') FROM (SELECT NULL AS d)",
         "churn_summary: ordered_at is NULL"),
        ("SELECT churn_summary('2024-13-45', 1.0, '2024-06-30')", "churn_summary: "),
        ("SELECT churn_summary('2024-01-01', 'ten', '2024-06-30')",
         "churn_summary: amount is not a number"),
        ("SELECT churn_summary('2024-01-01', 1.0, '2024-06-30', 'fortnight')",
         "churn_summary: unit 'fortnight' is not day"),
        ("SELECT churn_p_alive(?, 1, 1, 2)", "churn_p_alive: model file: field 'params'",
         (json.dumps(broken),)),
        ("SELECT churn_p_alive('{\"x\": ', 1, 1, 2)", "churn_p_alive: "),
        ("SELECT churn_p_alive(?, 1, 1, 2)", "not defined for a 'gammagamma' model", (gg,)),
        ("SELECT churn_expected_spend(?, 2, 30)", "not defined for a 'bgnbd' model", (bg,)),
        ("SELECT churn_p_alive(?, -1, 0, 2)", "column 'frequency'", (bg,)),
        ("SELECT churn_p_alive(?, churn_summary('2024-01-01', 1.0, '2024-06-30', 'day'))",
         "fitted in weeks", (bg,)),
        ("SELECT churn_p_alive(?, '{\"frequency\": 1}')", "has no number 'recency'", (bg,)),
        ("SELECT churn_alerts('bad rule', churn_summary('2024-01-01', 1.0, '2024-06-30'))",
         "churn_alerts: churn_alerts_add_text: rule 'bad rule'"),
    ]
    for sql, msg, *params in cases:
        with pytest.raises(sqlite3.OperationalError) as e:
            con.execute(sql, *params).fetchall()
        assert msg in str(e.value), (sql, str(e.value))
        # the connection still scores
        (p,) = con.execute("SELECT churn_p_alive(?, 2, 5, 30)", (bg,)).fetchone()
        assert 0 < p < 1
    # negative amounts are refunds (the library's rule), NULL amounts unknown spend
    s = json.loads(con.execute(
        "SELECT churn_summary(column1, column2, '2024-03-31', 'week') FROM (VALUES "
        "('2024-01-01', 10.0), ('2024-01-01', 5.0), ('2024-01-15', -4.0), ('2024-02-01', 20.0), "
        "('2024-05-01', 99.0))").fetchone()[0])
    assert (s["n_orders"], s["n_returns"], s["returns_amount"], s["net_spend"],
            s["monetary_value"]) == (2, 1, 4, 31, 20)
    s = json.loads(con.execute("SELECT churn_summary(column1, column2, '2024-03-31') FROM "
                               "(VALUES ('2024-01-01', 1.0), ('2024-02-01', NULL))").fetchone()[0])
    assert s["monetary_value"] is None      # unknown spend: JSON null
    (s,) = con.execute("SELECT churn_summary(column1, column2, '2024-03-31') FROM "
                       "(VALUES ('2024-05-01', 1.0), ('2024-01-01', -3.0))").fetchone()
    assert s is None                        # no order on or before the cutoff
    con.close()


def test_time_values_agree():
    """ISO dates, date-times and epoch seconds give the same summary."""
    con = connect()
    rows = [("2024-01-01", 10), ("2024-02-01", 20), ("2024-03-31", 5)]
    a = con.execute("SELECT churn_summary(column1, column2, '2024-03-31', 'week') FROM "
                    "(VALUES " + ",".join(f"('{d}', {x})" for d, x in rows) + ")").fetchone()[0]
    b = con.execute("SELECT churn_summary(column1 || 'T23:30:00Z', column2, '2024-03-31 12:00', "
                    "'week') FROM (VALUES " + ",".join(f"('{d}', {x})" for d, x in rows) + ")"
                    ).fetchone()[0]
    c = con.execute("SELECT churn_summary(unixepoch(column1), column2, unixepoch('2024-03-31'), "
                    "'week') FROM (VALUES " + ",".join(f"('{d}', {x})" for d, x in rows) + ")"
                    ).fetchone()[0]
    assert a == b == c


def test_alerts():
    con = connect()
    (rules,) = con.execute("SELECT churn_default_alert_rules()").fetchone()
    assert rules == ("p_alive_low: p_alive < 0.3;overdue: overdue_ratio > 2;"
                     "spend_down: spend_trend < -0.3333333333333333")
    (fired,) = con.execute(
        "SELECT churn_alerts(churn_default_alert_rules() || ';big: total_spend >= 30;"
        "quiet: time_since_last > 8', churn_summary(column1, column2, '2024-06-30', 'week'), "
        "json_object('p_alive', 0.2)) FROM (VALUES ('2024-01-01', 10.0), ('2024-01-15', 20.0))"
    ).fetchone()
    assert fired == "p_alive_low;overdue;big;quiet"


def test_sqlite3_shell(tmp):
    shell = shutil.which("sqlite3")
    if not shell:
        pytest.skip("the sqlite3 shell is not installed (apt-get install sqlite3)")
    sim = dbref.simulated_csv(tmp, customers=300, seed=5)
    ref = dbref.reference(sim, tmp, "simulated")
    script = f""".load {os.path.splitext(MODULE)[0]}
.mode csv
.import --csv {sim} orders
.mode list
SELECT customer_id, churn_p_alive(readfile('{ref['models']['bgnbd']}'),
         churn_summary(date, amount, '{ref['cutoff']}', 'week'))
  FROM orders GROUP BY customer_id HAVING churn_summary(date, amount, '{ref['cutoff']}') IS NOT NULL;
"""
    r = subprocess.run([shell, ":memory:"], input=script, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = dict(line.split("|") for line in r.stdout.split())
    py = ref["py"]["bgnbd"]["p_alive"]
    assert set(got) == set(py.index)
    for cid, p in got.items():
        dbref.assert_close(p, py[cid], 1e-12, f"shell {cid}")


_COMMA_CHILD = r"""
import json, locale, os, sqlite3, sys
locale.setlocale(locale.LC_ALL, "de_DE.UTF-8")
assert locale.localeconv()["decimal_point"] == ",", locale.localeconv()["decimal_point"]
con = sqlite3.connect(":memory:")
con.enable_load_extension(True)
con.load_extension(sys.argv[1])
rows = "(VALUES ('2024-01-01', 10.25), ('2024-02-01', 20.5), ('2024-03-31', 5.125))"
out = {
    "rules": con.execute("SELECT churn_default_alert_rules()").fetchone()[0],
    "summary": con.execute("SELECT churn_summary(column1, column2, '2024-06-30', 'week') "
                           "FROM " + rows).fetchone()[0],
    "fired": con.execute("SELECT churn_alerts('low: p_alive < 0.35;big: total_spend >= 35.8', "
                         "churn_summary(column1, column2, '2024-06-30', 'week'), "
                         "json_object('p_alive', 0.3)) FROM " + rows).fetchone()[0],
    "decimal_point": locale.localeconv()["decimal_point"],
}
print(json.dumps(out))
"""


def _comma_locale_env(tmp):
    """Environment for a child process whose locale is de_DE.UTF-8 (decimal comma),
    built with localedef into the test folder when the system lacks it (no system-wide
    change); None when neither works."""
    env = dict(os.environ)
    probe = [sys.executable, "-c", "import locale; locale.setlocale(locale.LC_ALL, "
             "'de_DE.UTF-8'); print(locale.localeconv()['decimal_point'])"]
    if subprocess.run(probe, capture_output=True, text=True, env=env).stdout.strip() == ",":
        return env
    localedef = shutil.which("localedef")
    if not localedef:
        return None
    d = os.path.join(tmp, "locale")
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(os.path.join(d, "de_DE.UTF-8", "LC_NUMERIC")):
        subprocess.run([localedef, "-i", "de_DE", "-f", "UTF-8", os.path.join(d, "de_DE.UTF-8")],
                       capture_output=True)
    env["LOCPATH"] = d
    p = subprocess.run(probe, capture_output=True, text=True, env=env)
    return env if p.stdout.strip() == "," else None


def test_decimal_comma_locale_changes_no_output(tmp):
    """A host process in a decimal-comma locale (de_DE) gets the same text out of the
    extension as one in the C locale: JSON numbers and rule thresholds keep '.', and
    rule text with '.' thresholds is read as written."""
    env = _comma_locale_env(tmp)
    if env is None:
        pytest.skip("no de_DE.UTF-8 locale and localedef could not build one")
    args = [sys.executable, "-c", _COMMA_CHILD, os.path.splitext(MODULE)[0]]
    comma = subprocess.run(args, capture_output=True, text=True, env=env)
    assert comma.returncode == 0, comma.stderr
    plain_env = {k: v for k, v in os.environ.items() if k not in ("LOCPATH",)}
    child_c = _COMMA_CHILD.replace('locale.setlocale(locale.LC_ALL, "de_DE.UTF-8")',
                                   'locale.setlocale(locale.LC_ALL, "C")').replace(
        'assert locale.localeconv()["decimal_point"] == ","', 'assert True')
    plain = subprocess.run([sys.executable, "-c", child_c, os.path.splitext(MODULE)[0]],
                           capture_output=True, text=True, env=plain_env)
    assert plain.returncode == 0, plain.stderr
    a, b = json.loads(comma.stdout), json.loads(plain.stdout)
    assert a["decimal_point"] == "," and b["decimal_point"] == "."
    for key in ("rules", "summary", "fired"):
        assert a[key] == b[key], key
    assert "0.3;" in a["rules"] and "-0.3333333333333333" in a["rules"]
    s = json.loads(a["summary"])               # valid JSON: no decimal commas
    assert s["total_spend"] == 35.875
    assert a["fired"] == "low;big"
