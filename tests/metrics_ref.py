#!/usr/bin/python3
"""Reference values for tests/test_metrics.c, computed with scikit-learn.

Writes two files next to this script, committed with the tests:
  data/metrics_ref_rows.csv    case,score,prob,label,weight,duration,event,marker
  data/metrics_ref_values.csv  case,metric,value   (value printed with 17 digits)

Run with Debian's python3 (numpy, scikit-learn 1.2):
    /usr/bin/python3 tests/metrics_ref.py

Sources of the values:
  roc_auc*, log_loss*, brier*   sklearn.metrics.roc_auc_score / log_loss /
                                brier_score_loss (sample_weight for the *_w rows)
  cal_*                         sklearn.calibration.calibration_curve(strategy="uniform")
                                plus bin counts from numpy (same bin rule)
  prec_at_k / recall_at_k /     untied cases only: the top-k rows by score,
  lift_*                        counted with numpy
  time_auc_nocens_*             sklearn roc_auc_score of the marker against 1(duration <= t)
                                (with no censoring the IPCW time-dependent AUC is this AUC)
  time_auc_*                    brute force over all (case, control) pairs with a
                                Kaplan-Meier of the censoring times written out below,
                                O(n^2), following Uno et al. (2007)
"""
import csv
import os

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data")

rows = []    # (case, score, prob, label, weight, duration, event, marker)
values = []  # (case, metric, value)


def add_case(name, score, prob, label, weight, duration=None, event=None, marker=None):
    n = len(score)
    duration = np.zeros(n) if duration is None else duration
    event = np.zeros(n) if event is None else event
    marker = np.zeros(n) if marker is None else marker
    for i in range(n):
        rows.append((name, score[i], prob[i], label[i], weight[i], duration[i], event[i],
                     marker[i]))


def put(case, metric, value):
    values.append((case, metric, float(value)))


def classification(name, score, prob, label, weight):
    add_case(name, score, prob, label, weight)
    put(name, "roc_auc", roc_auc_score(label, score))
    put(name, "roc_auc_w", roc_auc_score(label, score, sample_weight=weight))
    put(name, "log_loss", log_loss(label, prob))
    put(name, "log_loss_w", log_loss(label, prob, sample_weight=weight))
    put(name, "brier", brier_score_loss(label, prob))
    put(name, "brier_w", brier_score_loss(label, prob, sample_weight=weight))


def calibration(name, prob, label, nbins):
    prob_true, prob_pred = calibration_curve(label, prob, n_bins=nbins, strategy="uniform")
    # the bin rule of calibration_curve 1.2: edges linspace(0, 1, nbins + 1),
    # bin = searchsorted(inner edges, p, side="left")
    edges = np.linspace(0.0, 1.0, nbins + 1)
    ids = np.searchsorted(edges[1:-1], prob)
    counts = np.bincount(ids, minlength=nbins)
    nonempty = np.nonzero(counts)[0]
    assert len(nonempty) == len(prob_true)
    ece = 0.0
    for j, b in enumerate(nonempty):
        put(name, f"cal{nbins}_count_{b}", counts[b])
        put(name, f"cal{nbins}_pred_{b}", prob_pred[j])
        put(name, f"cal{nbins}_true_{b}", prob_true[j])
        ece += counts[b] / len(prob) * abs(prob_pred[j] - prob_true[j])
    for b in range(nbins):
        if counts[b] == 0:
            put(name, f"cal{nbins}_count_{b}", 0)
    put(name, f"ece{nbins}", ece)


def topk_untied(name, score, label, k_list, nbins):
    assert len(np.unique(score)) == len(score)
    order = np.argsort(-score)
    y = label[order]
    for k in k_list:
        put(name, f"prec_at_{k}", y[:k].mean())
        put(name, f"recall_at_{k}", y[:k].sum() / y.sum())
    n = len(y)
    assert n % nbins == 0
    base = y.mean()
    size = n // nbins
    for b in range(nbins):
        put(name, f"lift{nbins}_{b}", y[b * size:(b + 1) * size].mean() / base)
        put(name, f"gain{nbins}_{b}", y[:(b + 1) * size].sum() / y.sum())


def km_censoring(duration, event):
    """G(t-) and G(t) of the censoring distribution: censorings are the events,
    everyone with duration >= u is at risk at u."""
    times = np.unique(duration)
    G = 1.0
    before, after = {}, {}
    for u in times:
        at_risk = np.sum(duration >= u)
        cens = np.sum((duration == u) & (event == 0))
        before[u] = G
        G *= 1.0 - cens / at_risk
        after[u] = G
    return before, after


def time_auc_bruteforce(duration, event, marker, horizon):
    before, _ = km_censoring(duration, event)
    num = den = 0.0
    for i in range(len(duration)):
        if not (duration[i] <= horizon and event[i] == 1):
            continue
        wi = 1.0 / before[duration[i]]
        for j in range(len(duration)):
            if duration[j] > horizon:
                den += wi
                if marker[i] > marker[j]:
                    num += wi
                elif marker[i] == marker[j]:
                    num += 0.5 * wi
    return num / den


def main():
    rng = np.random.default_rng(20240501)

    # 1. random, untied scores; probabilities from a logistic of the score
    n = 200
    score = rng.normal(size=n)
    label = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-1.5 * score))).astype(float)
    prob = 1.0 / (1.0 + np.exp(-score))
    weight = rng.uniform(0.0, 3.0, size=n)
    weight[::17] = 0.0
    classification("random", score, prob, label, weight)
    calibration("random", prob, label, 10)
    topk_untied("random", score, label, [1, 7, 20, 100, 200], 10)

    # 2. heavy ties: scores on a 0.1 grid including exact 0 and 1 (log loss clipping)
    n = 300
    prob = np.round(rng.uniform(size=n) * 10.0) / 10.0
    label = (rng.uniform(size=n) < 0.2 + 0.6 * prob).astype(float)
    weight = rng.integers(0, 5, size=n).astype(float)
    classification("tied", prob.copy(), prob, label, weight)
    calibration("tied", prob, label, 10)
    calibration("tied", prob, label, 7)

    # 3. all scores equal: AUC 0.5
    n = 50
    prob = np.full(n, 0.3)
    label = (rng.uniform(size=n) < 0.3).astype(float)
    label[0], label[1] = 1.0, 0.0
    weight = rng.uniform(0.5, 2.0, size=n)
    classification("equal", prob.copy(), prob, label, weight)

    # 4. survival: integer durations with ties, about 40% censored, tied markers
    n = 150
    duration = rng.integers(1, 25, size=n).astype(float)
    event = (rng.uniform(size=n) < 0.6).astype(float)
    marker = np.round(rng.normal(size=n) - 0.05 * duration, 1)
    add_case("survival", np.zeros(n), np.zeros(n), np.zeros(n), np.ones(n), duration, event,
             marker)
    for h in (5.0, 10.0, 15.0):
        put("survival", f"time_auc_{int(h)}", time_auc_bruteforce(duration, event, marker, h))

    # 5. survival without censoring: equals the plain AUC of 1(duration <= t)
    n = 120
    duration = rng.exponential(10.0, size=n)
    event = np.ones(n)
    marker = -duration + rng.normal(scale=8.0, size=n)
    add_case("nocens", np.zeros(n), np.zeros(n), np.zeros(n), np.ones(n), duration, event,
             marker)
    for h in (5.0, 10.0):
        put("nocens", f"time_auc_nocens_{int(h)}",
            roc_auc_score((duration <= h).astype(float), marker))

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "metrics_ref_rows.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["case", "score", "prob", "label", "weight", "duration", "event", "marker"])
        for r in rows:
            w.writerow([r[0]] + [repr(float(v)) for v in r[1:]])
    with open(os.path.join(OUT, "metrics_ref_values.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["case", "metric", "value"])
        for c, m, v in values:
            w.writerow([c, m, repr(v)])


if __name__ == "__main__":
    main()
