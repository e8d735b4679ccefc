"""``python -m sktune report``: a report from a search saved with joblib."""

import subprocess
import sys

import joblib
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

from sktune.cli import main


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X, y = load_iris(return_X_y=True)
    folder = tmp_path_factory.mktemp("cli")
    search = GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, cv=3).fit(X[::2], y[::2])
    joblib.dump(search, folder / "search.joblib")
    joblib.dump((X[1::2], y[1::2]), folder / "test.joblib")
    joblib.dump(GridSearchCV(SVC(), {"C": [1]}), folder / "unfitted.joblib")
    joblib.dump({"not": "a search"}, folder / "dict.joblib")
    (folder / "garbage.joblib").write_bytes(b"not a pickle at all")
    return folder


def test_report_writes_html_next_to_the_search_by_default(saved, capsys):
    assert main(["report", str(saved / "search.joblib")]) == 0
    html = (saved / "search.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "GridSearchCV of SVC" in html
    assert capsys.readouterr().out.strip() == f"wrote {saved / 'search.html'}"


def test_report_with_output_and_test_data(saved, tmp_path):
    out = tmp_path / "r.html"
    assert main(["report", str(saved / "search.joblib"), "-o", str(out),
                 "--test-data", str(saved / "test.joblib")]) == 0
    assert "Confusion matrix" in out.read_text(encoding="utf-8")


def test_markdown_output(saved, tmp_path):
    out = tmp_path / "r.md"
    assert main(["report", str(saved / "search.joblib"), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("# Cross-validation report")


@pytest.mark.parametrize("args, message", [
    (["missing.joblib"], "search file '{d}/missing.joblib' does not exist."),
    (["."], "is a directory"),
    (["garbage.joblib"], "could not load search file '{d}/garbage.joblib' with joblib.load"),
    (["dict.joblib"], "needs a fitted hyperparameter search"),
    (["unfitted.joblib"], "This GridSearchCV is not fitted yet: call fit first"),
    (["search.joblib", "-o", "no/such/dir/r.html"], "the folder"),
    (["search.joblib", "--test-data", "dict.joblib"], "must hold (X_test, y_test)"),
])
def test_bad_input_is_one_line_on_stderr(saved, capsys, monkeypatch, args, message):
    monkeypatch.chdir(saved)
    args = [a if a.startswith("-") or "/" in a else str(saved / a) if a != "." else a
            for a in args]
    assert main(["report", *args]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sktune report: error: ")
    assert message.format(d=saved) in lines[0]
    assert "Traceback" not in captured.err


def test_unknown_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["nope"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_python_dash_m_sktune(saved, tmp_path):
    out = tmp_path / "m.html"
    done = subprocess.run([sys.executable, "-m", "sktune", "report",
                           str(saved / "search.joblib"), "-o", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.exists() and done.stdout == f"wrote {out}\n"
