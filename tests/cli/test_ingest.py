"""`churn describe` and `churn simulate`: CDNOW, simulated logs, JSON, errors."""
import io
import json
import os

import numpy as np
import pandas as pd
import pytest

CDNOW_OPTS = ["--no-header", "--id", "1", "--time", "3", "--amount", "5"]


def cdnow_path(shared_data):
    return os.path.join(shared_data, "cdnow", "CDNOW_sample.txt")


def raw_cdnow(shared_data):
    """The raw file read with pandas, independently of the command."""
    return pd.read_csv(cdnow_path(shared_data), sep=r"\s+", header=None,
                       names=["master", "sample", "date", "cds", "dollars"],
                       dtype={"master": str})


def top20_share(per_customer):
    rev = np.sort(per_customer.to_numpy())[::-1]
    k = int(np.ceil(0.2 * len(rev)))
    return rev[:k].sum() / rev.sum()


# ---- describe ------------------------------------------------------------------

def test_describe_cdnow_text(churn, shared_data):
    p = churn("describe", cdnow_path(shared_data), *CDNOW_OPTS)
    out = p.stdout
    assert "2,357" in out and "6,919" in out
    assert "1997-01-01 .. 1998-06-30" in out
    assert "6,919 read, 0 skipped" in out
    assert p.stderr == ""


def test_describe_cdnow_json_matches_pandas(churn, shared_data):
    p = churn("describe", cdnow_path(shared_data), *CDNOW_OPTS, "--json")
    d = json.loads(p.stdout)
    df = raw_cdnow(shared_data)
    assert d["customers"] == df["master"].nunique() == 2357
    assert d["transactions"] == len(df) == 6919
    assert d["first_date"] == "1997-01-01" and d["last_date"] == "1998-06-30"
    counts = df.groupby("master").size()
    assert d["repeat_customers"] == int((counts >= 2).sum())
    assert d["repeat_customer_rate"] == pytest.approx((counts >= 2).mean(), rel=1e-12)
    assert d["revenue"] == pytest.approx(df["dollars"].sum(), rel=1e-12)
    assert d["top20_revenue_share"] == pytest.approx(
        top20_share(df.groupby("master")["dollars"].sum()), rel=1e-9)
    assert d["zero_amount_orders"] == int((df["dollars"] == 0).sum())
    assert d["refunds"] == 0 and d["refund_amount"] == 0
    assert d["rows_read"] == 6919 and d["rows_skipped"] == 0


def test_describe_refunds_zero_and_skipped_rows(churn, tmp_path):
    f = tmp_path / "tx.csv"
    f.write_text("customer_id,date,amount\n"
                 "a,2024-01-01,10\n"
                 "a,2024-01-03,-4\n"        # refund
                 "b,2024-01-02,0\n"         # free order
                 "c,2024-02-30,5\n"         # bad date, line 5
                 "c,2024-01-05,100\n"
                 "d,2024-01-06,NaN\n"       # NaN, line 7
                 "e,2024-01-07T12:00:00Z,1.5\n")
    p = churn("describe", f, "--skip-bad-rows", "--json")
    d = json.loads(p.stdout)
    assert d["transactions"] == 5 and d["customers"] == 4
    assert d["refunds"] == 1 and d["refund_amount"] == -4
    assert d["zero_amount_orders"] == 1
    assert d["revenue"] == pytest.approx(107.5)
    assert d["repeat_customers"] == 1
    assert d["rows_read"] == 7 and d["rows_skipped"] == 2
    assert "line 5, column 'date'" in d["skip_messages"][0]
    assert "line 7, column 'amount'" in d["skip_messages"][1]
    # top 20% of 4 customers = 1 customer (c: 100 of 107.5)
    assert d["top20_revenue_share"] == pytest.approx(100 / 107.5)
    # the skipped rows are also reported on stderr
    assert "skipped 2 bad row(s)" in p.stderr
    # without --skip-bad-rows the command fails and names the line and column
    p = churn("describe", f, check=False)
    assert p.returncode == 1
    assert "line 5, column 'date'" in p.stderr and "2024-02-30" in p.stderr
    assert p.stdout == ""


def test_describe_stdin_and_output_file(churn, tmp_path):
    text = "id;day;value\nx;20240101;1\ny;20240102;2\nx;20240301;3\n"
    p = churn("describe", "-", "--id", "id", "--time", "day", "--amount", "value",
              "--delim", ";", "--date-format", "yyyymmdd", "--json", input=text)
    d = json.loads(p.stdout)
    assert d["customers"] == 2 and d["transactions"] == 3
    assert d["last_date"] == "2024-03-01"
    out = tmp_path / "d.txt"
    p = churn("describe", "-", "--id", "1", "--time", "2", "--amount", "3", "--delim", ";",
              "-o", out, input=text)
    assert p.stdout == ""
    assert "2024-01-01 .. 2024-03-01" in out.read_text()


@pytest.mark.parametrize("args, code, words", [
    ([], 2, ["missing the transaction file"]),
    (["{missing}"], 1, ["no_such.csv"]),
    (["{bad}"], 1, ["line 3", "column 'amount'", "12x"]),
    (["{empty}"], 1, ["empty file"]),
    (["{good}", "--time", "when"], 1, ["column 'when'", "not found"]),
    (["{good}", "--no-header", "--time", "date"], 1, ["no header"]),
    (["{good}", "--delim", "ab"], 2, ["--delim"]),
    (["{good}", "--date-format", "dmy"], 2, ["--date-format"]),
    (["{good}", "--bogus"], 2, ["unknown option '--bogus'"]),
    (["{good}", "{good}"], 2, ["more than one input file"]),
])
def test_describe_errors(churn, tmp_path, args, code, words):
    files = {"missing": tmp_path / "no_such.csv", "bad": tmp_path / "bad.csv",
             "empty": tmp_path / "empty.csv", "good": tmp_path / "good.csv"}
    files["bad"].write_text("customer_id,date,amount\na,2024-01-01,1\nb,2024-01-02,12x\n")
    files["empty"].write_text("")
    files["good"].write_text("customer_id,date,amount\na,2024-01-01,1\n")
    argv = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    p = churn("describe", *argv, check=False)
    assert p.returncode == code, p.stderr
    assert p.stderr.startswith("churn describe: ")
    for w in words:
        assert w in p.stderr
    assert p.stdout == ""


def test_help(churn):
    for sub in ("describe", "simulate"):
        p = churn(sub, "--help")
        assert p.stdout.startswith(f"usage: churn {sub}")
    assert "--no-header" in churn("describe", "--help").stdout


# ---- simulate ------------------------------------------------------------------

def read_sim(path_or_text):
    src = io.StringIO(path_or_text) if isinstance(path_or_text, str) else path_or_text
    return pd.read_csv(src, dtype={"customer_id": str})


def test_simulate_describe_round_trip(churn, tmp_path):
    out = tmp_path / "tx.csv"
    churn("simulate", "--model", "bgnbd", "--customers", "3000", "--seed", "7",
          "--start", "2020-01-01", "--weeks", "52", "-o", out)
    assert out.read_text().splitlines()[0] == "customer_id,date,amount"
    df = read_sim(out)
    dates = pd.to_datetime(df["date"], format="%Y-%m-%d")     # ISO dates only
    assert dates.min() == pd.Timestamp("2020-01-01")
    assert dates.max() <= pd.Timestamp("2020-01-01") + pd.Timedelta(days=52 * 7)
    assert dates.is_monotonic_increasing                      # written in date order
    assert df["customer_id"].nunique() == 3000                 # everyone buys once
    assert (df["amount"] > 0).all()
    # mean amount = p*gamma/(q-1) with the CDNOW Gamma-Gamma fit (loose: amounts
    # are correlated within customers)
    assert df["amount"].mean() == pytest.approx(6.25 * 15.44 / 2.74, rel=0.08)
    # every other subcommand reads it with default options: describe does
    d = json.loads(churn("describe", out, "--json").stdout)
    assert d["customers"] == 3000 and d["transactions"] == len(df)
    assert d["first_date"] == "2020-01-01"
    assert d["revenue"] == pytest.approx(df["amount"].sum(), abs=0.01)
    assert d["repeat_customers"] == int((df.groupby("customer_id").size() >= 2).sum())
    assert d["rows_skipped"] == 0


def test_simulate_seed_and_models(churn, tmp_path):
    a = churn("simulate", "--customers", "300", "--seed", "42").stdout
    b = churn("simulate", "--customers", "300", "--seed", "42").stdout
    c = churn("simulate", "--customers", "300", "--seed", "43").stdout
    assert a == b and a != c
    # the default model is Pareto/NBD with its CDNOW fit
    assert a == churn("simulate", "--customers", "300", "--seed", "42", "--model", "pnbd",
                      "--r", "0.5533971", "--alpha", "10.5801985", "--s", "0.6060625",
                      "--beta", "11.6562237").stdout
    # MBG/NBD customers can drop out at the first purchase: more one-time buyers
    # than BG/NBD with the same parameters
    n = 4000
    common = ["--customers", n, "--seed", "5", "--r", "0.5", "--alpha", "5", "--a", "1",
              "--b", "2"]
    bg = read_sim(churn("simulate", "--model", "bgnbd", *common).stdout)
    mbg = read_sim(churn("simulate", "--model", "mbgnbd", *common).stdout)
    once_bg = (bg.groupby("customer_id").size() == 1).mean()
    once_mbg = (mbg.groupby("customer_id").size() == 1).mean()
    # closed forms at T = 78 weeks: (alpha/(alpha+T))^r and a/(a+b) + b/(a+b) * that
    p0 = (5 / (5 + 78)) ** 0.5
    se = 0.5 / np.sqrt(n)
    assert abs(once_bg - p0) < 4 * se
    assert abs(once_mbg - (1 / 3 + 2 / 3 * p0)) < 4 * se


def test_simulate_acquisition_and_prefix(churn):
    df = read_sim(churn("simulate", "--customers", "2000", "--seed", "9", "--weeks", "20",
                        "--acquisition-weeks", "8", "--id-prefix", "cust-").stdout)
    first = pd.to_datetime(df.groupby("customer_id")["date"].min())
    start = pd.Timestamp("1997-01-01")
    assert first.min() == start
    assert first.max() <= start + pd.Timedelta(days=56)
    assert first.max() >= start + pd.Timedelta(days=50)
    assert df["customer_id"].str.startswith("cust-").all()


@pytest.mark.parametrize("args, words", [
    (["--model", "weibull"], ["--model", "weibull"]),
    (["--customers", "0"], ["--customers"]),
    (["--customers", "ten"], ["--customers", "ten"]),
    (["--seed", "-3"], ["--seed"]),
    (["--alpha", "-1"], ["--alpha"]),
    (["--alpha", "nan"], ["--alpha"]),
    (["--model", "bgnbd", "--s", "0.5"], ["--s", "Pareto/NBD"]),
    (["--a", "1"], ["--a", "BG/NBD"]),
    (["--start", "1997-02-30"], ["--start", "1997-02-30"]),
    (["--weeks", "10", "--acquisition-weeks", "10"], ["--acquisition-weeks"]),
    (["--unit", "fortnight"], ["--unit"]),
    (["stray"], ["unexpected argument 'stray'"]),
])
def test_simulate_errors(churn, args, words):
    p = churn("simulate", *args, check=False)
    assert p.returncode == 2, p.stderr
    for w in words:
        assert w in p.stderr
    assert p.stdout == ""


def test_simulate_unwritable_output(churn, tmp_path):
    p = churn("simulate", "--customers", "5", "-o", tmp_path / "no" / "dir.csv", check=False)
    assert p.returncode == 1
    assert "cannot write" in p.stderr
