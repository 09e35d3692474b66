"""report.to_html() (issue 25): the page of `churn report --html` from a notebook.

The Python page and the command's page come from the same library function with the same
inputs, so on CDNOW they are the same bytes. The page itself (browser rendering, HTML5
validity, lists and totals) is checked in tests/cli/test_report_html.py.
"""
import re

import numpy as np
import pandas as pd
import pytest

import churn


@pytest.fixture(scope="module")
def report(cdnow_log):
    # the command's unit (week; Python's default is day): the same page, byte for byte
    return churn.retention_report(cdnow_log, cutoff="1997-09-30", unit="week")


def test_same_page_as_the_command(report, cdnow_log, cdnow_path, run_churn, tmp_path):
    page = tmp_path / "cli.html"
    run_churn("report", cdnow_path, "--id", 1, "--time", 3, "--amount", 5, "--no-header",
              "--date-format", "yyyymmdd", "--cutoff", "1997-09-30", "--top", 20,
              "--html", page)
    mine = report.to_html(tmp_path / "py.html", transactions=cdnow_log)
    assert mine == page.read_text(encoding="utf-8")
    assert (tmp_path / "py.html").read_text(encoding="utf-8") == mine


def test_lists_follow_the_threshold(report):
    page = report.to_html(alive_threshold=0.3, top=15, title="CDNOW <Q3>")
    assert "<title>CDNOW &lt;Q3&gt;</title>" in page
    assert "Retention by acquisition cohort" in page and "No cohort table was given" in page
    save = page[page.index('<section id="save-now">'):page.index('<section id="win-back">')]
    win = page[page.index('<section id="win-back">'):page.index('<section id="tiers">')]
    ids = lambda part: re.findall(r'<tr><td class="num">\d+</td><td>([^<]+)</td>', part)
    s_ids, w_ids = ids(save), ids(win)
    assert len(s_ids) == 15 and len(w_ids) == 15
    assert (report.loc[s_ids, "p_alive"] >= 0.3).all()
    assert (report.loc[w_ids, "p_alive"] < 0.3).all()
    # save now by value at risk, win back by clv + value at risk: the first 15 of each
    alive = report[report["p_alive"] >= 0.3]
    assert s_ids == list(alive["value_at_risk"].sort_values(ascending=False,
                                                             kind="stable").index[:15])
    gone = report[report["p_alive"] < 0.3]
    v = (gone["clv"] + gone["value_at_risk"]).sort_values(ascending=False, kind="stable")
    assert w_ids == list(v.index[:15])
    total = float(re.search(r'<dd id="total-clv">([\d.]+)', page).group(1))
    assert total == pytest.approx(report["clv"].sum(), abs=0.006)


def test_still_a_dataframe(report):
    assert isinstance(report, pd.DataFrame)
    assert type(report).__name__ == "RetentionReport"
    assert type(report.head()) is pd.DataFrame  # derived frames are plain
    assert report.attrs["key_share"] > 0.5 and "model" in report.attrs
    assert "<table" in pd.DataFrame.to_html(report.head())  # pandas' table, as before


def test_errors(report):
    with pytest.raises(ValueError, match="alive_threshold"):
        report.to_html(alive_threshold=1.0)
    with pytest.raises(ValueError, match="p_alive"):
        churn._report_html.RetentionReport(report.drop(columns="p_alive")).to_html()
    bad = report.copy()
    bad.iloc[3, bad.columns.get_loc("p_alive")] = np.nan
    with pytest.raises(ValueError, match="row 3"):
        churn._report_html.render_html(bad)
