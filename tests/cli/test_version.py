"""`churn --version` and `churn version` (issue 20, item 9)."""
import re


def test_version_forms_agree(churn):
    out = churn("--version").stdout
    assert re.fullmatch(r"churn \(libchurn\) \d+\.\d+\.\d+\n", out)
    assert churn("version").stdout == out
    # the library's own version string, as the top-level help prints it
    top = churn("--help").stdout
    assert f"libchurn {out.split()[-1]}\n" in top
    assert re.search(r"^  version\s+print the version \(also 'churn --version'\)$", top, re.M)


def test_version_help_and_usage_error(churn):
    assert churn("version", "--help").stdout.startswith("usage: churn version\n")
    p = churn("version", "now", check=False)
    assert p.returncode == 2
    assert "churn version: unexpected argument 'now'" in p.stderr
