#!/usr/bin/python3
"""Writes the golden model files of format version 1 (one per family) and the
predictions they must keep giving (golden_v1_predictions.csv).

Run ONCE per format version, from a build of the release that introduces it:
    CHURN_LIBRARY=build/lib/libchurn.so.1 PYTHONPATH=bindings/python \
        /usr/bin/python3 tests/data/models/make_golden.py tests/data/models
The files are then frozen: tests/test_golden.py (python suite) loads every one
on every build and checks its predictions, so a file written by 1.0 keeps
loading and predicting the same in every later release. Data are synthetic and
seeded; the point is the file format, not the fit.
"""
import os
import sys

import numpy as np
import pandas as pd

import churn

def predictions(m):
    """The numbers a golden file must keep giving: a fixed set of predictions per family."""
    fam = m.family
    x = np.array([0.0, 1.0, 4.0, 12.0])
    tx = np.array([0.0, 5.0, 20.0, 30.0])
    T = np.array([10.0, 20.0, 30.0, 40.0])
    if fam == "bgbb":
        x, tx, T = np.array([0.0, 1.0, 3.0, 6.0]), np.array([0.0, 2.0, 5.0, 6.0]), np.full(4, 6.0)
    if fam in ("bgnbd", "mbgnbd", "pnbd", "bgbb"):
        # C's churn_btyd_p_alive, recorded since 1.0: BG/BB's is Python's p_alive_through
        # since 1.2 (p_alive there is alive at the next opportunity)
        alive = m.p_alive_through if fam == "bgbb" else m.p_alive
        return np.concatenate([alive(frequency=x, recency=tx, T=T),
                               m.expected_purchases(10.0, frequency=x, recency=tx, T=T)])
    if fam == "sbg":
        return m.retention(5)["survival"].to_numpy()
    if fam == "gammagamma":
        return np.asarray(m.expected_spend(frequency=np.array([1.0, 2.0, 5.0, 10.0]),
                                           monetary_value=np.array([10.0, 35.0, 60.0, 5.0])))
    X = pd.DataFrame({"a": [-1.0, 0.0, 0.5, 2.0], "b": [1.0, -0.5, 0.0, 0.3]})
    if fam == "logit":
        return np.asarray(m.predict_proba(X[["a", "b"]].to_numpy()))
    return np.asarray(m.predict_at(X, 30.0))


def main(out):
    rng = np.random.default_rng(20261124)
        # BTYD inputs: simulated BG/NBD customers (the CDNOW fit as truth), weeks
    btyd = churn.simulate_summary(customers=5000, model="bgnbd", seed=11, days=273)
    btyd = btyd[["frequency", "recency", "T"]]
    rep = btyd["frequency"] > 0
    spend = pd.DataFrame({"frequency": btyd["frequency"][rep],
                          "monetary_value": rng.gamma(6.0, 6.0, int(rep.sum())).round(2)})
    bgbb = pd.DataFrame({"frequency": [0, 1, 2, 3, 4, 5, 6, 1, 3, 5], "recency": [0, 1, 2, 3, 4, 5, 6, 6, 6, 6],
                         "T": [6] * 10, "weights": [3500, 1200, 900, 700, 600, 500, 400, 800, 650, 300]})
    X = rng.normal(size=(600, 2))
    eta = 0.3 + 0.8 * X[:, 0] - 0.5 * X[:, 1]
    surv = pd.DataFrame({"a": X[:, 0], "b": X[:, 1],
                         "duration": np.ceil(rng.exponential(np.exp(-eta) * 30)),
                         "event": (rng.uniform(size=600) < 0.7).astype(float)})
    label = (rng.uniform(size=600) < 1 / (1 + np.exp(-eta))).astype(float)

    models = {
        "bgnbd": churn.BGNBD().fit(btyd),
        "mbgnbd": churn.MBGNBD().fit(btyd),
        "pnbd": churn.ParetoNBD().fit(btyd),
        "bgbb": churn.BGBB().fit(bgbb, l2=0.01),
        "sbg": churn.SBG().fit(survivors=[1000, 631, 468, 382, 326, 289, 262, 241]),
        "gammagamma": churn.GammaGamma().fit(spend),
        "logit": churn.LogisticRegression().fit(X, label, feature_names=["a", "b"]),
        "cox": churn.CoxPHFitter().fit(surv, features=["a", "b"]),
        "weibull": churn.WeibullAFTFitter().fit(surv, features=["a", "b"]),
        "exponential": churn.ExponentialAFTFitter().fit(surv, features=["a", "b"]),
        "loglogistic": churn.LogLogisticAFTFitter().fit(surv, features=["a", "b"]),
        "lognormal": churn.LogNormalAFTFitter().fit(surv, features=["a", "b"]),
    }
    for fam, m in models.items():
        m.save(os.path.join(out, f"golden_v1_{fam}.json"))

    rows = ["file,index,value"]
    for fam, m in models.items():
        for i, v in enumerate(np.ravel(predictions(m))):
            rows.append(f"golden_v1_{fam}.json,{i},{float(v)!r}")
    with open(os.path.join(out, "golden_v1_predictions.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
