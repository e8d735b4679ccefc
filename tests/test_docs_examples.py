"""The documentation's code runs: every ```python block of docs/*.md, and the
``Examples`` sections of the package's docstrings.

A page's blocks run in order in one namespace (a later block may use what an
earlier one defined), in a temporary working directory. A block is left out
when the line before its fence is ``<!-- no-test -->`` (e.g. code that needs a
cluster); ```{code-block} python blocks are never run. Other languages
(```bash, ```text, plain ```) are not Python and are not run.
"""

import doctest
import importlib
import re
import textwrap
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
SKIP_MARK = "<!-- no-test -->"
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def python_blocks(path):
    """``(line, code)`` of each runnable python block of a markdown file.

    ``line`` is the 1-based line of the block's first code line.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m["fence"], m["info"].strip()
        start = i + 1
        end = start
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        previous = next((ln.strip() for ln in reversed(lines[:i]) if ln.strip()), "")
        if info == "python" and previous != SKIP_MARK:
            blocks.append((start + 1, textwrap.dedent("\n".join(lines[start:end]))))
        i = end + 1
    return blocks


PAGES = sorted(p for p in DOCS.glob("*.md") if python_blocks(p))


def test_pages_have_examples():
    names = {p.stem for p in PAGES}
    assert {"getting-started", "estimators", "spaces", "bayes-search", "persistence",
            "migrating", "reports"} <= names


def test_fences_are_recognised():
    """A python block written ```py or ```Python would silently not run."""
    for page in DOCS.glob("*.md"):
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            m = _FENCE.match(line)
            if m and m["info"].strip().lower() in {"py", "python3", "pycon", "ipython"}:
                pytest.fail(f"{page.name}:{n}: write ```python (or mark the block)")


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for line, code in python_blocks(page):
        # Pad so that tracebacks point at the page's own line numbers.
        compiled = compile("\n" * (line - 1) + code, str(page), "exec")
        exec(compiled, namespace)


# Every sktune module whose docstrings carry examples, except those that
# tests/report/test_report_outputs.py already runs.
_RUN_ELSEWHERE = {"sktune.report._report", "sktune.report._format", "sktune.cli"}


def _modules_with_examples():
    import sktune

    root = Path(sktune.__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        if ">>>" not in path.read_text(encoding="utf-8"):
            continue
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name not in _RUN_ELSEWHERE:
            names.append(name)
    return names


DOCTEST_MODULES = _modules_with_examples()


def test_docstring_examples_found():
    assert {"sktune.nets.estimators", "sktune.search.bayes_search",
            "sktune.search.optimizer", "sktune.search.space"} <= set(DOCTEST_MODULES)


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
