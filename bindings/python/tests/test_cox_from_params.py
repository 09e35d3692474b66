"""CoxPHFitter.from_params: a Cox model from coefficients and a baseline cumulative
hazard predicts S(t|x) = exp(-H0(t) exp(beta'(x - x_mean))) (checked by hand here), and a
fitted model rebuilt from its own coefficients and uncentered baseline predicts what it
predicts."""
import numpy as np
import pandas as pd
import pytest

import churn


def test_matches_the_formula_and_a_fitted_model():
    rng = np.random.default_rng(4)
    n = 400
    x = pd.DataFrame({"age": rng.normal(50, 10, n), "vip": rng.binomial(1, 0.3, n)})
    t = rng.exponential(1 / (0.05 * np.exp(0.03 * (x.age - 50) - 0.7 * x.vip)))
    df = x.assign(duration=np.minimum(t, 30.0), event=(t < 30).astype(float))
    cph = churn.CoxPHFitter().fit(df)
    base0 = cph.baseline(centered=False)
    m = churn.CoxPHFitter.from_params(cph.params_, baseline=base0)
    times = [1.0, 5.0, 12.5, 29.0]
    new = x.head(20)
    got = np.asarray(m.predict_survival_function(new, times=times))
    ref = np.asarray(cph.predict_survival_function(new, times=times))
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    # by hand, with a centered baseline and x_mean
    b = cph.params_
    mean = {"age": 50.0, "vip": 0.25}
    H_at = lambda s: float(base0.iloc[:, 0][base0.index <= s].iloc[-1]) \
        if (base0.index <= s).any() else 0.0
    centred = base0.iloc[:, 0] * np.exp(b["age"] * mean["age"] + b["vip"] * mean["vip"])
    m2 = churn.CoxPHFitter.from_params(b, baseline=centred, x_mean=mean)
    got2 = np.asarray(m2.predict_survival_function(new, times=times))
    for i in range(len(new)):
        for j, s in enumerate(times):
            lp = b["age"] * new.age.iloc[i] + b["vip"] * new.vip.iloc[i]
            assert got2[j, i] == pytest.approx(np.exp(-H_at(s) * np.exp(lp)), rel=1e-10)


def test_refusals():
    with pytest.raises(TypeError, match="baseline="):
        churn.CoxPHFitter.from_params({"age": 0.1})
    with pytest.raises(ValueError, match="decreases"):
        churn.CoxPHFitter.from_params({"age": 0.1}, baseline={1.0: 0.5, 2.0: 0.2})
    with pytest.raises(ValueError, match="not finite"):
        churn.CoxPHFitter.from_params({"age": 0.1}, baseline={1.0: np.nan})
    with pytest.raises(ValueError, match="not a feature"):
        churn.CoxPHFitter.from_params({"age": 0.1}, baseline={1.0: 0.1}, x_mean={"sex": 1})
