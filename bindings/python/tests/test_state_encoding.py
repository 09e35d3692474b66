"""The portable customer-state encoding and the per-order alert path (issue 18)."""
import os
import pickle

import numpy as np
import pytest

import churn

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "..", "..", "tests", "data", "states")


def basic_state():
    st = churn.CustomerState()
    st.add("2024-01-01T01:00:00Z", 10).add("2024-01-01T02:00:00Z", 5)
    st.add("2024-01-11T12:00:00Z", 20).add("2024-01-31", 30).add("2024-02-01T06:00:00Z", -7)
    return st


def test_golden_bytes_decode_and_match():
    raw = bytes.fromhex(open(os.path.join(GOLDEN, "v1_day_basic.hex")).read().strip())
    st = churn.CustomerState.from_bytes(raw)
    v = st.values("2024-03-01")
    assert v["frequency"] == 2 and v["T"] == 60 and v["monetary_value"] == 25
    assert v["gap_std"] == 5 and v["overdue_ratio"] == 2 and v["net_spend"] == 58
    assert basic_state().to_bytes() == raw


def test_round_trip_array_and_pickle():
    st = basic_state()
    back = pickle.loads(pickle.dumps(st))
    assert np.array_equal(back.array("2024-03-01"), st.array("2024-03-01"))
    assert list(st.values("2024-03-01").index) == list(churn.CustomerState.INCREMENTAL)


def test_corrupt_and_newer_are_errors():
    raw = bytearray(basic_state().to_bytes())
    raw[40] ^= 1
    with pytest.raises(churn.ChurnError, match="checksum"):
        churn.CustomerState.from_bytes(bytes(raw))
    with pytest.raises(churn.ChurnError):
        churn.CustomerState.from_bytes(b"CHST")


def test_default_alerts_on_a_state():
    a = churn.Alerts(defaults=True)
    assert a.needs_history == 4  # spend_down reads spend_trend
    fired, skipped = a.evaluate_state(basic_state(), "2024-03-02", {"p_alive": 0.2})
    assert a.describe(fired) == "p_alive_low;overdue"
    assert skipped == 4


def test_raw_bytes_of_earlier_releases_still_load():
    st = basic_state()
    raw = bytes(st._s)  # what to_bytes returned before 1.2 (same library and platform)
    back = churn.CustomerState.from_bytes(raw)
    assert np.array_equal(back.array("2024-03-01"), st.array("2024-03-01"))
