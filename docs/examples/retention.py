#!/usr/bin/env python3
"""From a transaction CSV to the ranked retention list, with plots (libchurn in Python).

    python3 docs/examples/retention.py [tx.csv] [--out DIR] [--cutoff DATE]

Without tx.csv the script simulates one: with the `churn simulate` command when
CHURN_EXE names it, else with churn.simulate (same process, same numbers). The CSV
has the columns customer_id, date, amount (the command's defaults).

Steps: read the transactions; build the customer table at the cutoff with a holdout
window; fit the purchase (BG/NBD) and spend (Gamma-Gamma) models and check them on
the holdout; value every customer (CLV, value at risk, tiers, alerts) and write the
retention list sorted by value at risk (retention_list.csv); compare churn models on
the holdout; save the plots as PNG files in DIR. Runs headless (matplotlib's Agg
backend).
"""
import argparse
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")  # headless: no display needed
import matplotlib.pyplot as plt  # noqa: E402

import churn  # noqa: E402
from churn import plotting  # noqa: E402


def make_transactions(path, customers=2000, seed=1):
    """Simulate 78 weeks of purchases from 1997-01-01 (acquisition over 12 weeks)."""
    exe = os.environ.get("CHURN_EXE")
    if exe and os.path.exists(exe):
        subprocess.run([exe, "simulate", "--model", "pnbd", "--customers", str(customers),
                        "--seed", str(seed), "--acquisition-weeks", "12", "-o", path],
                       check=True)
    else:
        churn.simulate("pnbd", customers=customers, seed=seed, acquisition_days=84,
                       as_frame=True).to_csv(path, index=False)


def save(ax, out, name):
    path = os.path.join(out, name)
    ax.figure.tight_layout()
    ax.figure.savefig(path, dpi=90)
    plt.close(ax.figure)
    print(f"  wrote {path}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("transactions", nargs="?", help="CSV with customer_id,date,amount")
    ap.add_argument("--out", default=".", help="output folder (default: .)")
    ap.add_argument("--cutoff", default="1997-12-31", help="end of calibration")
    ap.add_argument("--holdout-end", default="1998-06-30", help="end of the holdout")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    tx = args.transactions
    if tx is None:
        tx = os.path.join(args.out, "transactions.csv")
        make_transactions(tx)
    log = churn.TransactionLog.read_csv(tx)
    print(log)

    # 1. Customer table at the cutoff, with holdout labels.
    table = churn.customer_table(log, cutoff=args.cutoff, holdout_end=args.holdout_end,
                                 unit="week")
    m = churn.population_metrics(table)
    print(f"{len(table)} customers, repeat rate {m['repeat_rate']:.1%}, "
          f"holdout churn rate {m['churn_rate']:.1%}")
    holdout_weeks = (table.attrs["holdout_end"] - table.attrs["cutoff"]).days / 7

    # 2. Purchase and spend models, checked on the holdout.
    bg = churn.BGNBD().fit(table)
    gg = churn.GammaGamma().fit(table)
    print(bg.summary.round(4))
    print(gg.summary.round(4))
    check = churn.holdout_by_frequency(bg, holdout_weeks, table)
    print("holdout purchases by calibration frequency:")
    print(check.round(3))

    # 3. The retention list: value every customer, rank by value at risk.
    report = churn.retention_report(log, cutoff=args.cutoff, unit="week")
    out_csv = os.path.join(args.out, "retention_list.csv")
    report.to_csv(out_csv)
    print(f"top customers by value at risk (all {len(report)} in {out_csv}):")
    print(report[["p_alive", "clv", "value_at_risk", "tier", "alerts"]].head(10).round(2))

    # 4. Which churn score ranks the holdout churners best?
    cmp = churn.compare_models(log, args.cutoff, args.holdout_end, unit="week",
                               models="bgnbd,pnbd,logit,cox", folds=5)
    print(cmp.table[["auc", "log_loss", "brier", "top_decile_lift"]].round(4))

    # 5. Plots.
    save(plotting.plot_frequency_recency_matrix(bg, data=table, max_frequency=15), args.out,
         "frequency_recency.png")
    save(plotting.plot_probability_alive_matrix(bg, data=table, max_frequency=15), args.out,
         "p_alive.png")
    save(plotting.plot_calibration_purchases_vs_holdout_purchases(bg, table, holdout_weeks),
         args.out, "holdout_calibration.png")
    weeks = int(round((table.attrs["holdout_end"] - log.date_range[0]).days / 7))
    cut_week = (table.attrs["cutoff"] - log.date_range[0]).days / 7
    save(plotting.plot_cumulative_transactions(bg, log, periods=weeks, cutoff_period=cut_week),
         args.out, "tracking.png")
    km = churn.KaplanMeierFitter().fit(table["duration"], table["event"],
                                       groups=table["value_tier"].map(
                                           {1: "key", 2: "important", 3: "ordinary"}))
    save(km.plot(), args.out, "km_by_tier.png")
    p_churn = cmp.scores["p_churn_logit"]
    save(plotting.plot_lift(cmp.customers["churned"], p_churn), args.out, "lift.png")
    save(plotting.plot_gains(cmp.customers["churned"], p_churn), args.out, "gains.png")
    save(plotting.plot_calibration_curve(cmp.customers["churned"], p_churn), args.out,
         "calibration.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
