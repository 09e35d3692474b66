"""Issue 17, item 1 (Python): time units travel with the data.

A model fitted from a customer table records the table's unit; every path that gives it
a table of another known unit raises churn.UnitMismatchError naming both units; the
same flows in matching units keep today's numbers, checked against independent closed
forms (BG/NBD expectation with scipy's 2F1, the Gamma-Gamma posterior mean, the CLV
sum of docs/spend.h)."""
import io
import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

import churn

WEEKS_VS_DAYS = (r"the 'bgnbd' model was fitted in weeks \(7 days\) but the data are in "
                 r"days \(1 day\)")
CUTOFF, HOLDOUT = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def tables(cdnow_log):
    tw = churn.customer_table(cdnow_log, cutoff=CUTOFF, holdout_end=HOLDOUT, unit="week")
    td = churn.customer_table(cdnow_log, cutoff=CUTOFF, holdout_end=HOLDOUT, unit="day")
    return tw, td


@pytest.fixture(scope="module")
def fitted(tables):
    tw, _ = tables
    return churn.BGNBD().fit(tw), churn.GammaGamma().fit(tw)


def _bgnbd_expected(params, x, tx, T, t):
    """Fader, Hardie & Lee (2005) eq. 10, with scipy's 2F1 (independent of the C code)."""
    r, al, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (al + T + t))
    num = (a + b + x - 1) / (a - 1) * (1 - ((al + T) / (al + T + t)) ** (r + x) * hyp)
    den = 1 + (x > 0) * a / (b + x - 1) * ((al + T) / (al + tx)) ** (r + x)
    return num / den


def _gg_expected(params, x, zbar):
    """Gamma-Gamma posterior mean spend (Fader & Hardie 2013, eq. 5)."""
    p, q, g = params["p"], params["q"], params["gamma"]
    return (g + x * zbar) * p / (p * x + q - 1)


def _clv_reference(bparams, gparams, row, horizon, period, discount):
    """The CLV of include/churn/spend.h summed term by term."""
    x, tx, T, z = row["frequency"], row["recency"], row["T"], row["monetary_value"]
    spend = _gg_expected(gparams, x, z)
    e = [_bgnbd_expected(bparams, x, tx, T, i * period) if i else 0.0
         for i in range(horizon + 1)]
    return spend * sum((e[i] - e[i - 1]) / (1 + discount) ** i for i in range(1, horizon + 1))


# ---- the two flows of the issue -------------------------------------------------------
def test_fit_records_the_tables_unit(tables, fitted):
    tw, td = tables
    bg, gg = fitted
    assert tw.attrs["time_unit"] == 7.0 and td.attrs["time_unit"] == 1.0
    assert bg.time_unit_ == 7.0 and gg.time_unit_ == 7.0


def test_expected_purchases_weeks_model_days_table_raises(tables, fitted):
    _, td = tables
    bg, _ = fitted
    with pytest.raises(churn.UnitMismatchError, match=WEEKS_VS_DAYS) as e:
        bg.expected_purchases(52, td)
    assert isinstance(e.value, churn.ChurnValueError) and isinstance(e.value, ValueError)
    assert e.value.code == -14
    assert "convert_time_unit('day')" in str(e.value) and "unit='week'" in str(e.value)


def test_clv_weeks_model_days_table_raises(tables, fitted):
    _, td = tables
    bg, gg = fitted
    with pytest.raises(churn.UnitMismatchError, match=WEEKS_VS_DAYS):
        churn.clv(bg, gg, td, horizon=12)


def test_expected_purchases_same_unit_gives_todays_numbers(tables, fitted):
    tw, _ = tables
    bg, _ = fitted
    e = bg.expected_purchases(52, tw)
    row = tw.loc["00004"]  # the customer of the issue: 1.559 (0.289 when fed days)
    ref = _bgnbd_expected(bg.params_, row["frequency"], row["recency"], row["T"], 52)
    assert e["00004"] == pytest.approx(ref, rel=1e-10)
    assert e["00004"] == pytest.approx(1.5587, abs=5e-5)
    assert bg.loglik_ == pytest.approx(-9582.429, abs=1e-3)  # the published fit


def test_clv_same_unit_gives_todays_numbers(tables, fitted):
    tw, _ = tables
    bg, gg = fitted
    v = churn.clv(bg, gg, tw, horizon=12)
    period = 30.4375 / 7  # the default: one month in the model's unit
    ref = _clv_reference(bg.params_, gg.params_, tw.loc["00004"], 12, period, 0.01)
    assert v.loc["00004", "clv"] == pytest.approx(ref, rel=1e-8)
    assert v.loc["00004", "clv"] == pytest.approx(36.30, abs=5e-3)  # 6.71 when fed days


# ---- converting on purpose ------------------------------------------------------------
def test_convert_time_unit_scores_days_like_weeks(tables, fitted):
    tw, td = tables
    bg, gg = fitted
    bd = bg.convert_time_unit("day")
    assert bd.time_unit_ == 1.0 and bg.time_unit_ == 7.0  # a new model; bg unchanged
    assert bd.params_["alpha"] == pytest.approx(7 * bg.params_["alpha"], rel=1e-15)
    assert bd.params_["r"] == bg.params_["r"] and bd.params_["a"] == bg.params_["a"]
    assert "converted from weeks (7 days) to days (1 day)" in bd.note_
    # the same calendar span: 364 days = 52 weeks
    np.testing.assert_allclose(bd.expected_purchases(364, td), bg.expected_purchases(52, tw),
                               rtol=1e-10)
    np.testing.assert_allclose(churn.clv(bd, gg, td)["clv"], churn.clv(bg, gg, tw)["clv"],
                               rtol=1e-9)
    with pytest.raises(churn.UnitMismatchError, match=r"fitted in days \(1 day\) but the "
                                                      r"data are in weeks \(7 days\)"):
        bd.p_alive(tw)


def test_convert_time_unit_refuses_discrete_and_unknown_units():
    bgbb = churn.BGBB.from_params(alpha=1.2, beta=0.75, gamma=0.66, delta=2.78)
    bgbb.set_time_unit("year")
    with pytest.raises(churn.ChurnTypeError, match="discrete opportunities"):
        bgbb.convert_time_unit("day")
    bare = churn.BGNBD.from_params(r=0.24, alpha=4.41, a=0.79, b=2.43)
    with pytest.raises(churn.UnitMismatchError, match="time unit is unknown"):
        bare.convert_time_unit("day")


# ---- every path that receives a table ---------------------------------------------------
PATHS = {
    "p_alive": lambda bg, gg, t: bg.p_alive(t),
    "p_churn": lambda bg, gg, t: bg.p_churn(t),
    "predict": lambda bg, gg, t: bg.predict(52, t),
    "score": lambda bg, gg, t: bg.score(52, t),
    "predict_frame": lambda bg, gg, t: bg.predict_frame(t, horizon=52),
    "conditional_prob_purchases": lambda bg, gg, t: bg.conditional_prob_purchases(1, 52, t),
    "loglik": lambda bg, gg, t: bg.loglik(t),
    "discounted_purchases": lambda bg, gg, t: churn.discounted_purchases(bg, t),
    "dert": lambda bg, gg, t: churn.dert(bg, 0.01, t),
    "holdout_by_frequency": lambda bg, gg, t: churn.holdout_by_frequency(bg, 39, t),
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_btyd_path_refuses_a_table_in_another_unit(path, tables, fitted):
    _, td = tables
    bg, gg = fitted
    with pytest.raises(churn.UnitMismatchError, match=WEEKS_VS_DAYS):
        PATHS[path](bg, gg, td)


def test_pareto_p_alive_at_refuses_a_table_in_another_unit(tables):
    tw, td = tables
    pn = churn.ParetoNBD().fit(tw)
    with pytest.raises(churn.UnitMismatchError, match=r"the 'pnbd' model was fitted in weeks"):
        pn.p_alive_at(4, td)


def test_logistic_regression_refuses_a_table_in_another_unit(tables):
    tw, td = tables
    feats = ["frequency", "recency", "T"]
    lr = churn.LogisticRegression().fit(tw[feats], tw["churned"])
    assert lr.time_unit_ == 7.0
    with pytest.raises(churn.UnitMismatchError, match=r"'logit' model was fitted in weeks"):
        lr.predict_churn(td[feats])
    assert len(lr.predict_churn(tw[feats])) == len(tw)


def test_cox_refuses_a_table_in_another_unit(tables):
    tw, td = tables
    cols = ["frequency", "recency", "duration", "event"]
    cox = churn.CoxPHFitter().fit(tw[cols], "duration", "event")
    assert cox.time_unit_ == 7.0
    with pytest.raises(churn.UnitMismatchError, match=r"'cox' model was fitted in weeks"):
        cox.predict_churn(td[cols], 52)


def test_spend_has_no_time_unit(tables, fitted):
    tw, td = tables
    _, gg = fitted
    # spend per purchase does not depend on the unit: the same values from either table
    np.testing.assert_array_equal(gg.expected_spend(td), gg.expected_spend(tw))


def test_customer_state_check_model(fitted):
    bg, _ = fitted
    assert churn.CustomerState(unit="week").check_model(bg) is not None
    with pytest.raises(churn.UnitMismatchError, match=WEEKS_VS_DAYS):
        churn.CustomerState(unit="day").check_model(bg)


def test_model_file_keeps_the_unit(tables, fitted, tmp_path):
    _, td = tables
    bg, _ = fitted
    path = tmp_path / "bg.json"
    bg.save(path)
    for m in (churn.load_model(path), pickle.loads(pickle.dumps(bg))):
        with pytest.raises(churn.UnitMismatchError, match=WEEKS_VS_DAYS):
            m.p_alive(td)


# ---- the unit survives pandas operations ------------------------------------------------
OPS = {
    "iloc": lambda t: t.iloc[:100],
    "loc_mask": lambda t: t.loc[t["frequency"] > 0],
    "loc_labels": lambda t: t.loc[["00004", "00021"]],
    "columns": lambda t: t[["frequency", "recency", "T"]],
    "boolean": lambda t: t[t["frequency"] > 0],
    "copy": lambda t: t.copy(),
    "query": lambda t: t.query("frequency > 1"),
    "sort": lambda t: t.sort_values("T"),
    "assign": lambda t: t.assign(z=1.0),
    "concat": lambda t: pd.concat([t.iloc[:10], t.iloc[10:20]]),
    "merge": lambda t: t[["frequency", "recency", "T"]].merge(
        t[["monetary_value"]], left_index=True, right_index=True),
    "pickle": lambda t: pickle.loads(pickle.dumps(t)),
}


@pytest.mark.parametrize("op", sorted(OPS))
def test_attrs_survive_pandas_operations(op, tables, fitted):
    _, td = tables
    bg, _ = fitted
    sub = OPS[op](td)
    assert sub.attrs["time_unit"] == 1.0
    with pytest.raises(churn.UnitMismatchError, match=WEEKS_VS_DAYS):
        bg.p_alive(sub)


# ---- one side unknown: the caller owns the unit, and may declare it -----------------------
def test_plain_frame_without_attrs_can_declare_its_unit(tables, fitted):
    tw, td = tables
    bg, _ = fitted
    plain_days = pd.read_csv(io.StringIO(td[["frequency", "recency", "T"]].to_csv()))
    assert not plain_days.attrs
    with pytest.raises(churn.UnitMismatchError, match=WEEKS_VS_DAYS):
        bg.expected_purchases(52, plain_days, unit="day")
    plain_weeks = pd.read_csv(io.StringIO(tw[["frequency", "recency", "T"]].to_csv()))
    np.testing.assert_allclose(bg.expected_purchases(52, plain_weeks, unit="week"),
                               bg.expected_purchases(52, tw), rtol=1e-12)


def test_time_unit_days_column_declares_the_unit(tables, fitted):
    """The command's features output carries time_unit_days on every row; read back by
    pandas (no attrs) it still declares the unit."""
    tw, td = tables
    bg, _ = fitted
    back = pd.read_csv(io.StringIO(td[["frequency", "recency", "T"]].to_csv()))
    with pytest.raises(churn.UnitMismatchError, match=WEEKS_VS_DAYS):
        bg.p_alive(back.assign(time_unit_days=1.0))
    weeks = pd.read_csv(io.StringIO(tw[["frequency", "recency", "T"]].to_csv()))
    np.testing.assert_allclose(bg.p_alive(weeks.assign(time_unit_days=7.0)),
                               bg.p_alive(tw), rtol=1e-12)
    mixed = weeks.assign(time_unit_days=np.where(np.arange(len(weeks)) % 2, 7.0, 1.0))
    with pytest.raises(churn.UnitMismatchError, match="mixes rows in days"):
        bg.p_alive(mixed)
    # a fit from such a frame records the unit
    assert churn.BGNBD().fit(weeks.assign(time_unit_days=7.0)).time_unit_ == 7.0


def test_command_features_read_back_are_checked(fitted, cdnow_path, run_churn):
    bg, _ = fitted
    p = run_churn("features", cdnow_path, "--no-header", "--delim", "space", "--id", 1,
                  "--time", 3, "--amount", 5, "--cutoff", CUTOFF, "--unit", "day")
    days = pd.read_csv(io.StringIO(p.stdout))
    if "time_unit_days" not in days.columns:
        pytest.skip("this build's `churn features` does not write time_unit_days")
    with pytest.raises(churn.UnitMismatchError, match=WEEKS_VS_DAYS):
        bg.expected_purchases(52, days)


def test_arrays_can_declare_their_unit(fitted):
    bg, _ = fitted
    with pytest.raises(churn.UnitMismatchError, match=WEEKS_VS_DAYS):
        bg.p_alive(frequency=[2], recency=[213], T=[272], unit="day")
    ref = _bgnbd_expected(bg.params_, 2, 30.428571, 38.857143, 52)
    assert bg.expected_purchases(52, frequency=[2], recency=[30.428571], T=[38.857143],
                                 unit="week")[0] == pytest.approx(ref, rel=1e-10)


def test_declared_unit_contradicting_the_table_raises(tables, fitted):
    tw, _ = tables
    bg, _ = fitted
    with pytest.raises(churn.UnitMismatchError,
                       match=r"unit='day' declares the data in days \(1 day\) but the table "
                             r"says weeks \(7 days\)"):
        bg.p_alive(tw, unit="day")


def test_from_params_with_a_unit_is_checked(tables):
    tw, td = tables
    pub = dict(r=0.2425945, alpha=4.4136019, a=0.7929199, b=2.4258881)
    weekly = churn.BGNBD.from_params(**pub, unit="week")
    assert weekly.time_unit_ == 7.0
    with pytest.raises(churn.UnitMismatchError, match=WEEKS_VS_DAYS):
        weekly.p_alive(td)
    # without a unit the model cannot compare: documented, the caller owns the unit
    bare = churn.BGNBD.from_params(**pub)
    assert bare.time_unit_ == 0.0
    np.testing.assert_array_equal(bare.p_alive(tw), weekly.p_alive(tw))


def test_fit_from_arrays_with_a_declared_unit(tables):
    tw, td = tables
    bg = churn.BGNBD().fit(frequency=tw["frequency"].to_numpy(),
                           recency=tw["recency"].to_numpy(), T=tw["T"].to_numpy(), unit="week")
    assert bg.time_unit_ == 7.0
    with pytest.raises(churn.UnitMismatchError, match=WEEKS_VS_DAYS):
        bg.score(52, td)


def test_describe_time_unit():
    assert churn.describe_time_unit("week") == "weeks (7 days)"
    assert churn.describe_time_unit(1) == "days (1 day)"
    assert churn.describe_time_unit(3) == "units of 3 days"
    assert churn.describe_time_unit(None) == "an unknown unit"
