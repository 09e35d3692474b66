"""docs/examples/retention.ipynb: committed without outputs, and runs headless.

The notebook is executed top to bottom by nbclient in a python3 kernel (Debian's
python3-nbclient and python3-ipykernel), in a temporary folder; any cell that raises
fails the test with the cell and its traceback. Then what it produced is checked: the
retention list it wrote is the whole population ranked by value at risk, with
value_at_risk = (clv / p_alive) x (1 - p_alive) (docs/report.md), and every plot cell
displayed a figure. Run by the meson test 'notebook' (suite python); the kernel
inherits PYTHONPATH and CHURN_LIBRARY from it.
"""
import os
import re

import numpy as np
import pandas as pd
import pytest

nbformat = pytest.importorskip("nbformat", reason="Debian: python3-nbformat")

SOURCE = os.environ.get("CHURN_SOURCE_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
NOTEBOOK = os.path.join(SOURCE, "docs", "examples", "retention.ipynb")


def read():
    return nbformat.read(NOTEBOOK, as_version=4)


def test_committed_notebook_has_no_outputs():
    nb = read()
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 10
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"cell {i} has outputs: strip them before committing"
        assert cell.execution_count is None, f"cell {i} has an execution count"
        assert "execution" not in cell.metadata, f"cell {i} has execution timings"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


def test_notebook_uses_only_public_names():
    """Every `churn.X` / `plotting.X` the notebook calls is a documented public name."""
    import churn
    from churn import plotting
    text = "\n".join(c.source for c in read().cells if c.cell_type == "code")
    for mod, names in (("churn", churn.__all__), ("plotting", plotting.__all__)):
        used = set(re.findall(rf"\b{mod}\.([A-Za-z_]\w*)", text)) - {"__version__"}
        assert used and used <= set(names), (mod, used - set(names))


def test_notebook_runs_headless(tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient", reason="Debian: python3-nbclient")
    pytest.importorskip("ipykernel", reason="Debian: python3-ipykernel")
    # the kernel draws with its inline backend (figures as outputs), not Agg
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")   # ipykernel's debugger note
    nb = read()
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()   # raises CellExecutionError naming the cell when one fails

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    figures = [c for c in nb.cells if c.cell_type == "code"
               and any("image/png" in o.get("data", {}) for o in c.outputs)]
    plot_cells = [c for c in nb.cells if c.cell_type == "code"
                  and re.search(r"plotting\.plot_|\.plot\(", c.source)]
    assert len(plot_cells) >= 5 and len(figures) >= len(plot_cells), \
        f"{len(figures)} figures shown for {len(plot_cells)} plot cells"

    tx = pd.read_csv(tmp_path / "transactions.csv")
    report = pd.read_csv(tmp_path / "retention_list.csv", index_col=0)
    assert len(report) == tx["customer_id"].nunique() == 2000
    var = report["value_at_risk"].to_numpy()
    assert np.all(np.diff(var) <= 0), "the retention list is not ranked by value at risk"
    alive = report["p_alive"].to_numpy()
    ok = alive > 1e-6
    expected = report["clv"].to_numpy()[ok] / alive[ok] * (1 - alive[ok])
    np.testing.assert_allclose(var[ok], expected, rtol=1e-6)
