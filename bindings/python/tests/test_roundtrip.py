"""Every model family round-trips C -> file -> Python -> file -> C with identical
predictions.

C is the `churn` command (CHURN_EXE). For each family:
 1. the command fits the model on a customer table and saves it (c.json);
 2. Python loads c.json, predicts, and saves it again (py.json): the file is
    byte-identical and the predictions of the reloaded model are bit-identical;
 3. the command predicts with c.json and with py.json: identical output, equal to
    Python's predictions to the 10 significant digits the command prints;
 4. Python fits the same family on the same CSV: the same parameters as the command's
    fit (same C code, same numbers), and the command scores Python's file identically.
"""
import os

import numpy as np
import pandas as pd
import pytest

import churn

SURV_FEATURES = ["frequency", "recency", "monetary_value"]
LOGIT_FEATURES = ["frequency", "recency", "T", "monetary_value", "overdue_ratio"]


@pytest.fixture(scope="module")
def cdnow_csv(cdnow_path, run_churn, tmp_path_factory):
    out = tmp_path_factory.mktemp("rt") / "customers.csv"
    run_churn("features", cdnow_path, "--id", 1, "--time", 3, "--amount", 5, "--no-header",
              "--date-format", "yyyymmdd", "--cutoff", "1997-09-30", "--holdout-end",
              "1998-06-30", "--unit", "week", "-o", out)
    return out


@pytest.fixture(scope="module")
def sbg_csv(shared_data, tmp_path_factory):
    s = pd.read_csv(os.path.join(shared_data, "sbg", "sbg_paper.csv"))
    s = s[s["cohorts"] == "highend"]
    churned = (s["recency"] < 8).astype(int)
    out = tmp_path_factory.mktemp("rt") / "sbg.csv"
    pd.DataFrame({"customer_id": s["customer_id"], "periods": np.where(churned, s["recency"], 7),
                  "churned": churned}).to_csv(out, index=False)
    return out


def _read(path):
    return pd.read_csv(path, dtype={"customer_id": str}).set_index("customer_id")


def _python_fit(family, table):
    if family in ("bgnbd", "mbgnbd", "pnbd"):
        cls = {"bgnbd": churn.BGNBD, "mbgnbd": churn.MBGNBD, "pnbd": churn.ParetoNBD}[family]
        return cls().fit(table).set_time_unit("week")
    if family == "bgbb":
        return churn.BGBB().fit(table)
    if family == "sbg":
        return churn.SBG().fit(table["periods"], table["churned"])
    if family == "gammagamma":
        return churn.GammaGamma().fit(table)
    if family == "logit":
        return churn.LogisticRegression().fit(table[LOGIT_FEATURES], table["churned"])
    cls = {"cox": churn.CoxPHFitter, "weibull": churn.WeibullAFTFitter,
           "exponential": churn.ExponentialAFTFitter,
           "loglogistic": churn.LogLogisticAFTFitter,
           "lognormal": churn.LogNormalAFTFitter}[family]
    return cls().fit(table, duration_col="duration", event_col="event",
                     features=SURV_FEATURES).set_time_unit("week")


def _python_predict(model, family, table):
    if family in ("bgnbd", "mbgnbd", "pnbd"):
        return model.predict_frame(table, horizon=52)
    if family == "bgbb":
        return model.predict_frame(table, horizon=5)
    if family == "sbg":
        return model.predict_frame(table, horizon=3, discount=0.1)
    if family == "gammagamma":
        return model.predict_frame(table)
    if family == "logit":
        return model.predict_frame(table)
    return model.predict_frame(table, horizon=26)


CASES = {
    "bgnbd": (["--unit", "week"], ["--horizon", 52]),
    "mbgnbd": (["--unit", "week"], ["--horizon", 52]),
    "pnbd": (["--unit", "week"], ["--horizon", 52]),
    "bgbb": ([], ["--horizon", 5]),
    "sbg": ([], ["--horizon", 3, "--discount", 0.1]),
    "gammagamma": ([], []),
    "logit": (["--label", "churned", "--features", ",".join(LOGIT_FEATURES)], []),
    "cox": (["--duration", "duration", "--event", "event", "--features",
             ",".join(SURV_FEATURES), "--unit", "week"], ["--horizon", 26]),
}
for _aft in ("weibull", "exponential", "loglogistic", "lognormal"):
    CASES[_aft] = CASES["cox"]


@pytest.mark.parametrize("family", list(CASES))
def test_round_trip(family, run_churn, cdnow_csv, sbg_csv, shared_data, tmp_path):
    fit_args, pred_args = CASES[family]
    if family == "bgbb":
        data = tmp_path / "donations.csv"
        d = pd.read_csv(os.path.join(shared_data, "donations", "donations.csv"))
        d.insert(0, "customer_id", [f"p{i}" for i in range(len(d))])
        d.to_csv(data, index=False)
    else:
        data = sbg_csv if family == "sbg" else cdnow_csv
    table = _read(data)
    c_json, py_json = tmp_path / "c.json", tmp_path / "py.json"
    run_churn("fit", family, data, *fit_args, "-o", c_json)

    # C -> file -> Python -> file
    m = churn.load_model(c_json)
    assert m.family == family
    ours = _python_predict(m, family, table)
    m.save(py_json)
    assert py_json.read_bytes() == c_json.read_bytes()
    again = churn.load_model(py_json)
    pd.testing.assert_frame_equal(_python_predict(again, family, table), ours, check_exact=True)

    # file -> C: both files score identically; Python agrees to the printed digits
    out_c, out_py = tmp_path / "c.csv", tmp_path / "py.csv"
    run_churn("predict", c_json, data, *pred_args, "-o", out_c)
    run_churn("predict", py_json, data, *pred_args, "-o", out_py)
    assert out_c.read_text() == out_py.read_text()
    c_pred = _read(out_c).loc[table.index]
    cols = [c for c in ours.columns if c in c_pred.columns]
    assert cols, (list(ours.columns), list(c_pred.columns))
    np.testing.assert_allclose(c_pred[cols].to_numpy(dtype=float),
                               ours[cols].to_numpy(dtype=float), rtol=1e-9, atol=1e-300)

    # Python fit on the same CSV = the command's fit; C scores Python's file the same
    mine = _python_fit(family, table)
    np.testing.assert_array_equal(mine.params_.to_numpy(), m.params_.to_numpy())
    mine_json = tmp_path / "mine.json"
    mine.save(mine_json)
    out_mine = tmp_path / "mine.csv"
    run_churn("predict", mine_json, data, *pred_args, "-o", out_mine)
    assert out_mine.read_text() == out_c.read_text()


def test_pickled_models_keep_predictions(cdnow_table):
    import pickle
    models = [churn.BGNBD().fit(cdnow_table), churn.GammaGamma().fit(cdnow_table),
              churn.LogisticRegression().fit(cdnow_table[LOGIT_FEATURES],
                                             cdnow_table["churned"]),
              churn.CoxPHFitter().fit(cdnow_table, "duration", "event", SURV_FEATURES),
              churn.LogNormalAFTFitter().fit(cdnow_table, "duration", "event",
                                             SURV_FEATURES)]
    for m in models:
        clone = pickle.loads(pickle.dumps(m))
        assert type(clone) is type(m) and clone.to_json() == m.to_json()
        kw = {} if m.family in ("gammagamma", "logit") else {"horizon": 26}
        pd.testing.assert_frame_equal(clone.predict_frame(cdnow_table, **kw),
                                      m.predict_frame(cdnow_table, **kw), check_exact=True)
        assert repr(clone) == repr(m)
