"""Library loading, errors, model files and pickling, transaction logs."""
import os
import pickle

import numpy as np
import pandas as pd
import pytest

import churn


def test_version_matches_c():
    assert churn.__version__.count(".") == 2


def test_golden_model_file_loads(source_root):
    m = churn.load_model(os.path.join(source_root, "tests", "data", "models",
                                      "golden_v1_minimal.json"))
    assert m.family == "bgnbd"
    assert m.params_["b"] == 2.4258881
    assert m.time_unit_ == 7.0
    assert "bgnbd" in m._repr_html_() or "BGNBD" in m._repr_html_()
    text = m.to_json()
    again = churn.Model.from_json(text)
    assert list(again.params_) == list(m.params_)
    clone = pickle.loads(pickle.dumps(m))
    assert list(clone.params_) == list(m.params_)
    assert type(clone) is type(m)


def test_model_file_errors(tmp_path):
    with pytest.raises(OSError, match="nope.json"):
        churn.load_model(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "libchurn-model", "format_version": 99, "family": "bgnbd"}')
    with pytest.raises(ValueError, match="99"):
        churn.load_model(bad)
    bad.write_text("not json")
    with pytest.raises(ValueError, match="JSON"):
        churn.load_model(bad)


def test_transaction_log_from_dataframe():
    df = pd.DataFrame({
        "cust": ["a", "b", "a", "c"],
        "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01", "2024-03-01"]),
        "value": [10.0, 5.0, -2.0, 0.0],
    })
    log = churn.TransactionLog.from_dataframe(df, customer="cust", time="when", amount="value")
    assert len(log) == 4
    assert log.num_customers == 3
    assert log.customer_ids() == ["a", "b", "c"]
    lo, hi = log.date_range
    assert lo == pd.Timestamp("2024-01-01") and hi == pd.Timestamp("2024-03-01")


def test_transaction_log_integer_ids_and_strings():
    log = churn.TransactionLog.from_arrays(np.array([7, 8, 7]),
                                           ["2024-01-01", "2024-01-05", "2024-01-09"],
                                           [1.0, 2.0, 3.0])
    assert log.customer_ids() == ["7", "8"]


def test_transaction_log_bad_input():
    with pytest.raises(ValueError, match="amount"):
        churn.TransactionLog.from_arrays([1, 2], ["2024-01-01", "2024-01-02"], [1.0, np.nan])
    with pytest.raises(ValueError, match="length"):
        churn.TransactionLog.from_arrays([1, 2], ["2024-01-01", "2024-01-02"], [1.0])
    with pytest.raises(TypeError):
        churn.TransactionLog.from_arrays([1, 2], ["2024-01-01", "2024-01-02"], ["x", "y"])
    with pytest.raises(ValueError, match="date"):
        churn.TransactionLog.from_arrays([1], ["not a date"], [1.0])
    with pytest.raises(KeyError, match="nope"):
        churn.TransactionLog.from_dataframe(pd.DataFrame({"a": [1]}), customer="nope")


def test_model_param_lookup(source_root):
    m = churn.load_model(os.path.join(source_root, "tests", "data", "models",
                                      "golden_v1_minimal.json"))
    v, se = m.param("b")
    assert v == m.params_["b"]
    with pytest.raises(KeyError, match="nope"):
        m.param("nope")
