"""Fixtures for the `churn` command tests."""
import os
import subprocess

import pytest


@pytest.fixture(scope="session")
def churn_exe():
    exe = os.environ.get("CHURN_EXE")
    if not exe or not os.path.exists(exe):
        pytest.skip("CHURN_EXE is not set; run through 'meson test'")
    return exe


@pytest.fixture
def churn(churn_exe):
    """Run the command: churn(*args, input=None, check=True) -> CompletedProcess."""

    def run(*args, input=None, check=True, timeout=600):
        p = subprocess.run([churn_exe, *map(str, args)], input=input, capture_output=True,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"churn {' '.join(map(str, args))} exited {p.returncode}:\n"
                                 f"{p.stderr}")
        return p

    return run


@pytest.fixture(scope="session")
def shared_data():
    d = os.environ.get("CHURN_SHARED_DATA") or os.path.join(
        os.environ.get("CHURN_SOURCE_ROOT", "."), "..", "shared", "data")
    if not os.path.isdir(d):
        pytest.skip(f"reference data folder {d} is absent")
    return d
