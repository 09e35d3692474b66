import os
import subprocess

import numpy as np
import pandas as pd
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


@pytest.fixture(scope="session")
def churn_exe():
    """Path of the `churn` command (CHURN_EXE), or skip."""
    exe = os.environ.get("CHURN_EXE")
    if not exe or not os.path.exists(exe):
        pytest.skip("CHURN_EXE is not set to the churn command")
    return exe


@pytest.fixture(scope="session")
def run_churn(churn_exe):
    """Run the command; returns CompletedProcess (text). Fails the test on a non-zero
    exit unless check=False; skips when a subcommand/family is not in this build."""

    def run(*args, check=True):
        p = subprocess.run([churn_exe, *map(str, args)], capture_output=True, text=True,
                           timeout=120)
        if p.returncode != 0 and ("not available in this build" in p.stderr
                                  or "unknown command" in p.stderr):
            pytest.skip(f"churn {args[0]}: {p.stderr.strip().splitlines()[0]}")
        if check and p.returncode != 0:
            raise AssertionError(f"churn {' '.join(map(str, args))} failed "
                                 f"({p.returncode}): {p.stderr}")
        return p

    return run


@pytest.fixture(scope="session")
def cdnow_path(shared_data):
    return os.path.join(shared_data, "cdnow", "CDNOW_sample.txt")


@pytest.fixture(scope="session")
def cdnow_log(cdnow_path):
    import churn
    # master id, sample id, date YYYYMMDD, CDs, dollars; whitespace-separated, no header
    return churn.TransactionLog.read_csv(cdnow_path, customer=1, time=3, amount=5,
                                         header=False, delimiter="whitespace",
                                         date_format="yyyymmdd")


@pytest.fixture(scope="session")
def cdnow_table(cdnow_log):
    import churn
    t = churn.customer_table(cdnow_log, cutoff="1997-09-30", holdout_end="1998-06-30",
                             unit="week")
    t.index = t.index.astype(np.int64)  # "00004" -> 4, as lifetimes' IDs
    return t


@pytest.fixture(scope="session")
def lifetimes_ref(shared_data):
    return pd.read_csv(os.path.join(shared_data, "cdnow", "lifetimes_clv.csv"),
                       comment="#").set_index("ID")


@pytest.fixture(scope="session")
def lung(shared_data):
    d = pd.read_csv(os.path.join(shared_data, "survival", "lung.csv"))
    d["event"] = (d["status"] == 2).astype(float)
    return d


@pytest.fixture(scope="session")
def lung_cc(lung):
    return lung.dropna(subset=["age", "sex", "ph.ecog"]).reset_index(drop=True)
