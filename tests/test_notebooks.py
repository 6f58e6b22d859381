"""Every example notebook executes top to bottom without an error, and is stored without outputs.

Notebooks run in a real Jupyter kernel ("python3", from the environment running the tests)
through nbclient, with the repository root as working directory and the package and
``examples/`` (the notebooks' helper modules) on PYTHONPATH, as a user who opens them from a
checkout would have. A notebook that loads the embedded model is also marked ``real``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))
# A safety net for a hung kernel, not a speed check: the embedded model's cells run one
# real generation, which on a busy 2-core CI machine (first use assembling the model) took
# over 120 s.
CELL_TIMEOUT = 600


def uses_embedded_model(path: Path) -> bool:
    """Whether a code cell loads the embedded model (a mention in the prose does not count)."""
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return re.search(r"""load_llm\(\s*["']local["']""", code) is not None


def _param(path: Path):
    marks = [pytest.mark.slow] + ([pytest.mark.real] if uses_embedded_model(path) else [])
    return pytest.param(path, id=path.stem, marks=marks)


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 6, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook with no code"
    for i, cell in enumerate(code):
        assert cell.outputs == [] and cell.execution_count is None, f"code cell {i} has saved outputs"


@pytest.mark.parametrize("path", [_param(p) for p in NOTEBOOKS])
def test_notebook_executes_without_errors(path, monkeypatch):
    from nbclient import NotebookClient

    paths = [str(ROOT), str(ROOT / "examples"), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()  # raises CellExecutionError, with the traceback, on an error in a cell
    problems = []
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"cell {i}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr" and "Traceback" in out.text:
                problems.append(f"cell {i}: traceback on stderr:\n{out.text}")
    assert not problems, "\n".join(problems)
    # Every notebook shows its graph and at least one plot.
    kinds = {k for c in nb.cells if c.cell_type == "code" for o in c.outputs for k in o.get("data", {})}
    assert "image/png" in kinds, "no plot was drawn"
    sources = "\n".join(c.source for c in nb.cells)
    assert "draw_mermaid" in sources, "the graph's Mermaid drawing is not shown"
