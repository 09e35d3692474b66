"""Saved-model compatibility: every golden model file of format version 1
(tests/data/models, written once by make_golden.py with libchurn 1.0) must keep
loading and giving the predictions recorded when it was written."""
import csv
import importlib.util
import os

import numpy as np
import pytest

import churn


def _golden_dir(source_root):
    return os.path.join(source_root, "tests", "data", "models")


def _expected(source_root):
    out = {}
    with open(os.path.join(_golden_dir(source_root), "golden_v1_predictions.csv")) as f:
        for row in csv.DictReader(f):
            out.setdefault(row["file"], []).append(float(row["value"]))
    return out


def _make_golden(source_root):
    spec = importlib.util.spec_from_file_location(
        "make_golden", os.path.join(_golden_dir(source_root), "make_golden.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


FAMILIES = ["bgnbd", "mbgnbd", "pnbd", "bgbb", "sbg", "gammagamma", "logit", "cox",
            "weibull", "exponential", "loglogistic", "lognormal"]


@pytest.mark.parametrize("family", FAMILIES)
def test_golden_v1_file_loads_and_predicts_the_same(family, source_root):
    name = f"golden_v1_{family}.json"
    m = churn.load_model(os.path.join(_golden_dir(source_root), name))
    assert m.family == family
    got = np.ravel(_make_golden(source_root).predictions(m))
    want = np.array(_expected(source_root)[name])
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    # and a re-save of the loaded model loads again to the same predictions
    again = churn.Model.from_json(m.to_json())
    np.testing.assert_array_equal(np.ravel(_make_golden(source_root).predictions(again)), got)
