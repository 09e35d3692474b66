"""Reference tables and scores for the database extensions' tests (issue 24).

Two references for the same transaction file:
 - the `churn` command: `churn features`, `churn fit`, `churn predict`, `churn score --spend`
   run with `churn --digits 17`, so every number it writes reads back exactly and a
   comparison with it is at 1e-12 relative like the binding's;
 - the Python binding over the same library functions, at full double precision
   (1e-12 relative).
"""
import csv
import math
import os
import subprocess

import churn

CHURN_EXE = os.environ.get("CHURN_EXE", "churn")
CUTOFF = {"cdnow": "1997-09-30", "simulated": "2024-12-31"}
HORIZON = 52.0          # expected purchases in the next 52 weeks
CLV_PERIOD = 4.345      # lifetimes' month in weeks
CLV_PERIODS = 12
DISCOUNT = 0.01
STATE_COLS = ["frequency", "recency", "T", "monetary_value", "n_orders", "total_spend",
              "mean_order_value", "first_purchase", "last_purchase", "time_since_last",
              "gap_mean", "gap_std", "overdue_ratio", "n_returns", "returns_amount", "net_spend"]


def shared_data():
    d = os.environ.get("CHURN_SHARED_DATA", "")
    return d if d and os.path.isdir(d) else None


def cdnow_csv(tmp):
    """CDNOW_sample.txt as customer_id,date,amount (ISO dates), or None without ../shared."""
    d = shared_data()
    src = os.path.join(d, "cdnow", "CDNOW_sample.txt") if d else None
    if not src or not os.path.exists(src):
        return None
    out = os.path.join(tmp, "cdnow.csv")
    with open(src) as f, open(out, "w") as g:
        g.write("customer_id,date,amount\n")
        for line in f:
            p = line.split()
            if len(p) == 5:
                g.write(f"{p[0]},{p[2][:4]}-{p[2][4:6]}-{p[2][6:]},{p[4]}\n")
    return out


def simulated_csv(tmp, customers=1500, seed=11):
    out = os.path.join(tmp, f"sim{customers}_{seed}.csv")
    subprocess.run([CHURN_EXE, "simulate", "--model", "pnbd", "--customers", str(customers),
                    "--seed", str(seed), "--start", "2024-01-01", "--weeks", "78",
                    "--acquisition-weeks", "26", "-o", out], check=True, capture_output=True)
    return out


def read_csv_rows(path):
    with open(path) as f:
        return {r["customer_id"]: r for r in csv.DictReader(f)}


def reference(tx, tmp, name):
    """Run the command and the Python binding on tx; models saved under tmp."""
    cutoff = CUTOFF[name]
    run = lambda *a: subprocess.run([CHURN_EXE, "--digits", "17", *a], check=True,
                                    capture_output=True, text=True)
    feats = os.path.join(tmp, f"{name}_features.csv")
    run("features", tx, "--cutoff", cutoff, "--unit", "week", "-o", feats)
    models = {}
    for fam in ("bgnbd", "pnbd", "gammagamma"):
        models[fam] = os.path.join(tmp, f"{name}_{fam}.json")
        run("fit", fam, feats, "-o", models[fam])
    cli = {"features": read_csv_rows(feats)}
    for fam in ("bgnbd", "pnbd"):
        out = os.path.join(tmp, f"{name}_{fam}_predict.csv")
        run("predict", models[fam], feats, "--horizon", str(HORIZON), "-o", out)
        cli[fam] = read_csv_rows(out)
        out = os.path.join(tmp, f"{name}_{fam}_score.csv")
        run("score", models[fam], tx, "--cutoff", cutoff, "--unit", "week", "--spend",
            models["gammagamma"], "--period", str(CLV_PERIOD), "--clv-periods",
            str(CLV_PERIODS), "--discount", str(DISCOUNT), "--horizon", str(HORIZON),
            "-o", out, "--quiet")
        cli[fam + "_score"] = read_csv_rows(out)
    out = os.path.join(tmp, f"{name}_gg_predict.csv")
    run("predict", models["gammagamma"], feats, "-o", out)
    cli["gammagamma"] = read_csv_rows(out)

    log = churn.TransactionLog.read_csv(tx)
    table = churn.customer_table(log, cutoff=cutoff, unit="week", typed=False)
    table.index = table.index.map(str)   # numeric ids come back as integers
    py = {"features": table}
    gg = churn.load_model(models["gammagamma"])
    py["expected_spend"] = gg.expected_spend(table)
    for fam in ("bgnbd", "pnbd"):
        m = churn.load_model(models[fam])
        py[fam] = {"p_alive": m.p_alive(table),
                   "expected_purchases": m.expected_purchases(HORIZON, table),
                   "clv": churn.clv(m, gg, table, horizon=CLV_PERIODS, period=CLV_PERIOD,
                                    discount=DISCOUNT)}
    return {"models": models, "cli": cli, "py": py, "cutoff": cutoff}


def rel_err(a, b):
    a, b = float(a), float(b)
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def assert_close(got, want, rtol, what, atol=0.0):
    got, want = float(got), float(want)
    if math.isnan(got) and math.isnan(want):
        return
    assert abs(got - want) <= atol or rel_err(got, want) <= rtol, \
        f"{what}: {got!r} vs {want!r} (relative {rel_err(got, want):.3g} > {rtol})"
