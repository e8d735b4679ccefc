"""The documentation site builds without a single warning (as ``make docs`` does)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_parser")
pytest.importorskip("numpydoc")

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    # A fresh process (autodoc imports the package; the build must not depend on
    # what the test process imported) and fresh output and doctree folders, so
    # every page is read and every warning shows.
    out = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, f"sphinx failed:\n{out.stderr[-6000:]}"
    assert "WARNING" not in out.stderr and "ERROR" not in out.stderr, out.stderr[-6000:]
    html = tmp_path / "html"
    for page in ("index", "getting-started", "migrating", "api/estimators", "api/search"):
        assert (html / f"{page}.html").is_file(), page
    # The API reference really was generated from the docstrings.
    api = (html / "api" / "estimators.html").read_text(encoding="utf-8")
    assert "hidden_layer_sizes" in api and "partial_fit" in api
