import os

import pytest


@pytest.fixture(scope="session")
def shared_data():
    d = os.environ.get("CHURN_SHARED_DATA") or os.path.join(
        os.environ.get("CHURN_SOURCE_ROOT", "."), "..", "shared", "data")
    if not os.path.isdir(d):
        pytest.skip(f"reference data folder {d} is absent")
    return d


@pytest.fixture(scope="session")
def source_root():
    return os.environ.get("CHURN_SOURCE_ROOT") or os.path.abspath(
        os.path.join(os.path.dirname(__file__), "..", "..", ".."))
