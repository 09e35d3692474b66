"""Issue 17, item 7: churn.concordance_index has lifelines' name and argument order, so
it follows lifelines' convention (a higher score predicts a longer survival); the risk
form is explicit (score_is_risk=True). Checked against lifelines' own
concordance_index (../shared/peers) and R's survival::coxph concordance on the lung
data."""
import importlib.util
import os
import sys
import types

import numpy as np
import pandas as pd
import pytest

import churn

FEATURES = ["age", "sex", "ph.ecog"]


def _load_lifelines_concordance(peers):
    """lifelines.utils.concordance_index from the peer source tree.

    The full package needs typing_extensions (formulaic), absent from Debian's base
    Python here; concordance.py needs only numpy and its btree module, so it is loaded
    on its own when the package does not import."""
    root = os.path.join(peers, "lifelines", "lifelines", "utils")
    if not os.path.isfile(os.path.join(root, "concordance.py")):
        pytest.skip(f"lifelines is absent from {peers}")
    saved_path = list(sys.path)
    try:
        sys.path[:0] = [os.path.join(peers, d) for d in
                        ("lifelines", "autograd", "dill", "agamma", "formulaic", "imeta")]
        from lifelines.utils import concordance_index  # noqa: E402
        return concordance_index
    except ImportError:
        pass
    finally:
        sys.path[:] = saved_path
        for k, m in list(sys.modules.items()):  # no half-imported peer may linger
            if (getattr(m, "__file__", None) or "").startswith(os.path.abspath(peers)):
                del sys.modules[k]
    names = ("lifelines", "lifelines.utils", "lifelines.utils.btree")
    saved = {k: sys.modules.get(k) for k in names}
    try:
        for name in names[:2]:
            pkg = types.ModuleType(name)
            pkg.__path__ = []
            sys.modules[name] = pkg
        for name, fname in (("lifelines.utils.btree", "btree.py"),
                            ("peer_lifelines_concordance", "concordance.py")):
            spec = importlib.util.spec_from_file_location(name, os.path.join(root, fname))
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
        return sys.modules["peer_lifelines_concordance"].concordance_index
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
        sys.modules.pop("peer_lifelines_concordance", None)


@pytest.fixture(scope="module")
def lifelines_ci(shared_data):
    peers = os.environ.get("CHURN_SHARED_PEERS") or os.path.join(
        os.path.dirname(os.path.abspath(shared_data)), "peers")
    if not os.path.isdir(peers):
        pytest.skip(f"peer libraries folder {peers} is absent")
    return _load_lifelines_concordance(peers)


@pytest.fixture(scope="module")
def cox(lung_cc):
    return churn.CoxPHFitter().fit(lung_cc, "time", "event", FEATURES)


@pytest.fixture(scope="module")
def r_concordance(shared_data):
    fit = pd.read_csv(os.path.join(shared_data, "survival", "cox_lung_fit.csv"))
    return float(fit.set_index("ties").loc["efron", "concordance"])


def test_lifelines_call_gives_lifelines_value(lung_cc, cox, lifelines_ci, r_concordance):
    """The call of lifelines' documentation, on the lung data."""
    T, E = lung_cc["time"], lung_cc["event"]
    ph = cox.predict_partial_hazard(lung_cc[FEATURES])
    ours = churn.concordance_index(T, -ph, E)
    assert ours == pytest.approx(lifelines_ci(T, -ph, E), rel=1e-12)
    assert ours == pytest.approx(r_concordance, rel=1e-10)  # R: 0.637, not 0.363
    assert ours == pytest.approx(cox.concordance_index_, rel=1e-14)


def test_default_treats_a_higher_score_as_longer_survival(lung_cc, cox, lifelines_ci):
    T, E = lung_cc["time"], lung_cc["event"]
    ph = cox.predict_partial_hazard(lung_cc[FEATURES])
    # a risk score passed without saying so is scored as lifelines scores it
    assert churn.concordance_index(T, ph, E) == pytest.approx(lifelines_ci(T, ph, E),
                                                              rel=1e-12)
    assert churn.concordance_index(T, ph, E) < 0.5


def test_risk_form_is_explicit(lung_cc, cox, r_concordance):
    T, E = lung_cc["time"], lung_cc["event"]
    ph = cox.predict_partial_hazard(lung_cc[FEATURES])
    lp = cox.predict_log_partial_hazard(lung_cc[FEATURES])
    for risk in (ph, lp, cox.predict_churn(lung_cc[FEATURES], 365)):
        assert churn.concordance_index(T, risk, E, score_is_risk=True) == \
            pytest.approx(r_concordance, rel=1e-10)


def test_predicted_lifetimes_follow_lifelines(lung_cc, lifelines_ci):
    T, E = lung_cc["time"], lung_cc["event"]
    aft = churn.WeibullAFTFitter().fit(lung_cc, "time", "event", FEATURES)
    med = aft.predict_median(lung_cc[FEATURES])
    ours = churn.concordance_index(T, med, E)
    assert ours == pytest.approx(lifelines_ci(T, med, E), rel=1e-12)
    assert ours > 0.6
    # the model's own C-index (computed in C) means the same thing
    assert aft.concordance_index_ == pytest.approx(ours, rel=1e-12)


def test_tied_scores_and_times_match_lifelines(lung, lifelines_ci):
    """Raw covariates with many ties (age in whole years, ECOG 0-3)."""
    d = lung.dropna(subset=["ph.ecog"])
    T, E = d["time"], d["event"]
    for score in (d["age"], -d["ph.ecog"], d["ph.karno"].fillna(80)):
        assert churn.concordance_index(T, score, E) == \
            pytest.approx(lifelines_ci(T, score, E), rel=1e-12)


def test_counts_and_weights_keep_their_meaning(lung_cc, cox):
    T, E = lung_cc["time"], lung_cc["event"]
    lp = cox.predict_log_partial_hazard(lung_cc[FEATURES])
    c1, n1 = churn.concordance_index(T, -lp, E, counts=True)
    c2, n2 = churn.concordance_index(T, lp, E, score_is_risk=True, counts=True)
    assert c1 == c2 and n1 == n2
    assert c1 == pytest.approx((n1["concordant"] + 0.5 * n1["tied_x"]) /
                               (n1["concordant"] + n1["discordant"] + n1["tied_x"]), rel=1e-12)
    w = np.full(len(T), 2.0)
    assert churn.concordance_index(T, -lp, E, weights=w) == pytest.approx(c1, rel=1e-12)
