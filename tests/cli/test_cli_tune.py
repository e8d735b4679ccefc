"""``sktune tune``: tuning a network on a table from the command line."""

import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

import sktune.search
from sktune import NeuralNetClassifier
from sktune.cli import main
from sktune.cli._progress import SearchProgress, progress_mode
from sktune.persistence import load, load_metadata
from sktune.search import BayesSearchCV
from sktune.cli._tables import prepare

from _cli_helpers import SMALL, mixed_frame


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A 60-row CSV (numeric, text and bool columns, missing values) and a small space."""
    folder = tmp_path_factory.mktemp("tune")
    frame = mixed_frame(seed=0)
    frame.to_csv(folder / "mixed.csv", index=False)
    frame.head(5).to_csv(folder / "five.csv", index=False)
    pd.DataFrame({"x": np.arange(8.0), "label": ["a"] * 6 + ["b"] * 2}).to_csv(
        folder / "tiny.csv", index=False)
    (folder / "small.yaml").write_text(SMALL)
    rng = np.random.default_rng(0)
    weighted = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    weighted["label"] = np.where(weighted["a"] + weighted["b"] > 0, "pos", "neg")
    weighted["w"] = np.where(weighted["label"] == "pos", 0.0, 1.0)  # positives weigh nothing
    weighted["zero"] = 0.0
    weighted.to_csv(folder / "weighted.csv", index=False)
    return folder


def _tune(folder, *extra, data="mixed.csv", target="label"):
    args = ["tune", "--data", str(folder / data) if data.endswith(".csv") else data,
            "--space", str(folder / "small.yaml"), "--n-iter", "2", "--cv", "2"]
    if target:
        args += ["--target", target]
    return main(args + list(extra))


def test_tune_writes_json_report_and_model(folder, tmp_path, capsys):
    report, model = tmp_path / "r.html", tmp_path / "sub" / "m.sktune"
    assert _tune(folder, "--report", str(report), "--save", str(model), "--json") == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)  # stdout holds the JSON and nothing else
    assert captured.err == ""
    assert summary["task"] == "classification" and summary["task_inferred"] is True
    assert summary["n_rows"] == 60 and summary["n_train"] == 48 and summary["n_test"] == 12
    assert summary["search"] == "bayes" and summary["n_candidates"] == 2
    assert summary["scoring"] == "accuracy" and summary["n_features"] == 4
    assert set(summary["best_params"]) == {"lr", "hidden_layer_sizes", "epochs"}
    assert 0 <= summary["best_cv_score"] <= 1 and 0 <= summary["test_score"] <= 1
    assert summary["paths"] == {"report": str(report), "model": str(model), "checkpoint": None,
                                "tensorboard": None}
    assert {"load_s", "search_s", "report_s", "save_s", "total_s"} <= set(summary["timings"])

    assert "Confusion matrix" in report.read_text(encoding="utf-8")
    saved = load(model)
    assert isinstance(saved.best_estimator_, Pipeline)
    assert saved.best_params_["net__epochs"] == 3
    data = prepare(str(folder / "mixed.csv"), target="label", random_state=0)
    assert saved.score(data.X_test, data.y_test) == pytest.approx(summary["test_score"])
    assert load_metadata(model)["target"] == "label"
    assert load_metadata(model)["features"] == ["size", "colour", "flag", "price"]


def test_human_output_names_the_inferred_task(folder, capsys):
    assert _tune(folder, "--search", "random", "--target", "price") == 0
    out = capsys.readouterr().out
    assert "task: regression (inferred: numeric target with fractional values; --task to " \
           "override)" in out
    assert "best CV r2: " in out and "test r2: " in out
    assert "  epochs = 3" in out and "done in" in out
    assert re.search(r"searched 2 candidates in [0-9.]+ (ms|s): 4 fits, 0 failed", out)
    assert re.search(r"test RMSE:  [0-9.]+ \(in the units of 'price'\)", out)


def test_regression_on_raw_targets_scales_them_and_reports_rmse(folder, tmp_path, capsys):
    """The network standardises the target itself: the CLI needs no help with its scale."""
    frame = mixed_frame(seed=1, n=120)
    frame["price"] = 1e5 + 1e4 * frame["price"]
    frame.to_csv(tmp_path / "big.csv", index=False)
    model = tmp_path / "big.sktune"
    assert main(["tune", "--data", str(tmp_path / "big.csv"), "--target", "price",
                 "--space", str(folder / "small.yaml"), "--n-iter", "2", "--cv", "2",
                 "--save", str(model), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_failed_fits"] == 0 and summary["n_fits"] == 4
    net = load(model).best_estimator_.named_steps["net"]
    data = prepare(str(tmp_path / "big.csv"), target="price", random_state=0)
    assert net.target_mean_ is not None
    rmse = np.sqrt(np.mean((load(model).predict(data.X_test) - data.y_test) ** 2))
    assert summary["test_rmse"] == pytest.approx(rmse)
    assert summary["test_rmse"] < np.std(data.y_test)  # better than predicting the mean


def test_failed_fits_are_counted(folder, tmp_path, capsys):
    space = tmp_path / "diverging.yaml"
    space.write_text("lr: [0.01, 1.0e+30]\nhidden_layer_sizes: [[8]]\nepochs: 3\n")
    assert main(["tune", "--data", str(folder / "mixed.csv"), "--target", "price",
                 "--space", str(space), "--search", "grid", "--cv", "2"]) == 0
    out = capsys.readouterr().out
    assert "searched 2 candidates in" in out and ": 4 fits, 2 failed" in out
    assert "  lr = 0.01" in out


def test_parameters_are_printed_to_meaningful_digits(folder, capsys):
    assert _tune(folder) == 0
    lr = next(line for line in capsys.readouterr().out.splitlines()
              if line.startswith("  lr = "))
    digits = lr.split(" = ")[1].replace("e-0", "").replace(".", "").lstrip("0")
    assert 1 <= len(digits) <= 4, lr


def test_bundled_dataset_needs_no_target(capsys):
    # the default space (2 candidates of 20 epochs on iris)
    assert main(["tune", "--data", "iris", "--n-iter", "2", "--cv", "2", "--test-size", "0",
                 "--json", "--quiet"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert captured.err == ""
    assert summary["target"] == "target" and summary["n_test"] == 0
    assert summary["test_score"] is None
    assert set(summary["best_params"]) == {"lr", "hidden_layer_sizes", "dropout", "alpha",
                                           "batch_size"}


def test_grid_search_over_the_space_grid(folder, capsys):
    assert _tune(folder, "--search", "grid", "--json") == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    # lr: 3 default points (no grid given), hidden_layer_sizes: 2, epochs: 1
    assert summary["n_candidates"] == 6 and summary["search"] == "grid"
    assert "--n-iter does not apply to --search grid" in captured.err


def test_quiet_prints_nothing(folder, capsys):
    assert _tune(folder, "--quiet", "--scoring", "balanced_accuracy") == 0
    assert capsys.readouterr() == ("", "")


def test_verbose_progress_lines_when_stderr_is_not_a_terminal(folder, capsys):
    assert _tune(folder, "--verbose") == 0
    err = capsys.readouterr().err
    assert "bayes search: 4/4 fits (100%)" in err
    # one line per epoch of every fit: 4 CV fits and the refit, 3 epochs each
    epochs = [line for line in err.splitlines() if "] epoch " in line]
    assert len(epochs) == 5 * 3 and "train_loss" in epochs[0]
    assert _tune(folder) == 0  # without --verbose: no progress off a terminal
    assert capsys.readouterr().err == ""


def test_verbose_epoch_lines_are_not_saved_with_the_model(folder, tmp_path, capsys):
    model = tmp_path / "m.sktune"
    assert _tune(folder, "--verbose", "--save", str(model)) == 0
    capsys.readouterr()
    pipe = load(model).best_estimator_
    assert pipe.named_steps["net"].callbacks is None
    frame = pd.read_csv(folder / "mixed.csv")
    pipe.fit(frame.drop(columns="label"), frame["label"])  # refitting the loaded model is quiet
    assert "] epoch " not in capsys.readouterr().err


def test_checkpoint_resumes(folder, tmp_path, capsys):
    checkpoint = tmp_path / "search.ckpt"
    assert _tune(folder, "--checkpoint", str(checkpoint), "--json") == 0
    first = json.loads(capsys.readouterr().out)
    assert checkpoint.exists()
    assert _tune(folder, "--checkpoint", str(checkpoint), "--json") == 0
    second = json.loads(capsys.readouterr().out)
    assert second["best_params"] == first["best_params"]
    assert second["best_cv_score"] == first["best_cv_score"]
    assert second["paths"]["checkpoint"] == str(checkpoint)


def test_checkpoint_of_another_search_is_one_line(folder, tmp_path, capsys):
    checkpoint = tmp_path / "search.ckpt"
    assert _tune(folder, "--checkpoint", str(checkpoint), "--quiet") == 0
    assert _tune(folder, "--checkpoint", str(checkpoint), "--model", "resmlp") == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"sktune tune: error: Checkpoint {str(checkpoint)!r} was written "
                             "by a different search: estimator")


def test_ctrl_c_exits_130_with_a_resume_hint(folder, tmp_path, capsys, monkeypatch):
    def interrupted(self, X, y=None, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(BayesSearchCV, "fit", interrupted)
    checkpoint = tmp_path / "c.ckpt"
    assert _tune(folder, "--checkpoint", str(checkpoint)) == 130
    err = capsys.readouterr().err
    assert err == f"sktune tune: interrupted; resume with --checkpoint {checkpoint}\n"
    assert _tune(folder) == 130
    assert capsys.readouterr().err == "sktune tune: interrupted\n"


@pytest.mark.parametrize("args, message", [
    (["--data", "missing.csv", "--target", "y"], "data file 'missing.csv' does not exist"),
    (["--data", "{d}/mixed.csv"], "name the target column with --target"),
    (["--data", "{d}/mixed.csv", "--target", "nope"], "no column 'nope' in the data; its "
                                                      "columns are 'size', 'colour'"),
    (["--data", "iris", "--model", "bert"], "unknown --model 'bert'; choose one "
                                            "of mlp, resmlp, cnn, transformer, rnn"),
    (["--data", "iris", "--search", "optuna"], "unknown --search 'optuna'"),
    (["--data", "iris", "--task", "ranking"], "unknown --task 'ranking'"),
    (["--data", "iris", "--scoring", "nope"], "unknown --scoring 'nope'"),
    (["--data", "iris", "--scoring", "r2"], "--scoring 'r2' is a regression metric, but the "
                                            "task is classification"),
    (["--data", "{d}/tiny.csv", "--target", "label", "--test-size", "0"],
     "--cv 3 needs at least 3 training rows of every class, but class 'b' has 2"),
    (["--data", "{d}/five.csv", "--target", "label"], "cannot hold out a test split of 0.2 of "
                                                      "5 rows"),
    (["--data", "iris", "--cv", "60"], "--cv 60 needs at least 60 training rows of every "
                                       "class, but class"),
    (["--data", "iris", "--search", "grid", "--checkpoint", "c.db"], "--checkpoint works with "
                                                                      "--search bayes or "
                                                                      "hyperband"),
    (["--data", "iris", "--search", "grid", "--time-budget", "1m"],
     "--time-budget works with --search bayes, random or hyperband"),
    (["--data", "iris", "--report", "r.pdf"], "report 'r.pdf' must end in .html"),
    (["--data", "iris", "--save", "{d}"], "it is a directory"),
    (["--data", "iris", "--space", "{d}/none.yaml"], "space file '{d}/none.yaml' does not exist"),
    (["--data", "{d}/mixed.csv", "--target", "label", "--model", "cnn"],
     "--model cnn needs square single-channel images, but the data has 7 features"),
    (["--data", "{d}/mixed.csv", "--target", "label", "--sample-weight", "nope"],
     "no column 'nope' for --sample-weight; the columns besides the target are 'size'"),
    (["--data", "{d}/mixed.csv", "--target", "label", "--sample-weight", "label"],
     "--sample-weight 'label' is the target column"),
    (["--data", "{d}/mixed.csv", "--target", "label", "--sample-weight", "colour"],
     "the sample-weight column 'colour' must hold numbers"),
    (["--data", "{d}/mixed.csv", "--target", "label", "--sample-weight", "size"],
     "the sample-weight column 'size' has missing or infinite values in 1 row(s)"),
    (["--data", "{d}/weighted.csv", "--target", "label", "--sample-weight", "a"],
     "the sample-weight column 'a' has negative values in"),
    (["--data", "{d}/weighted.csv", "--target", "label", "--sample-weight", "zero"],
     "the sample weights in 'zero' are all zero"),
])
def test_bad_input_is_one_line_and_exit_1(folder, capsys, args, message):
    args = [a.format(d=folder) for a in args]
    assert main(["tune", *args, "--n-iter", "2"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sktune tune: error: "), captured.err
    assert message.format(d=folder) in lines[0]
    assert "Traceback" not in captured.err


def test_sample_weight_column_weights_training_and_is_no_feature(folder, tmp_path, capsys):
    """Weight 0 on every positive row: the network learns negatives only; the
    weight column is neither a feature nor a problem for predict."""
    model, out, space = tmp_path / "w.sktune", tmp_path / "pred.csv", tmp_path / "w.yaml"
    space.write_text("lr: 0.03\nhidden_layer_sizes: [[8], [16]]\nepochs: 30\n")
    assert _tune(folder, "--sample-weight", "w", "--save", str(model), "--json",
                 "--space", str(space), data="weighted.csv") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sample_weight"] == "w" and summary["n_features"] == 3
    assert load_metadata(model)["features"] == ["a", "b", "zero"]
    assert load_metadata(model)["sample_weight"] == "w"
    assert main(["predict", str(model), str(folder / "weighted.csv"), "-o", str(out)]) == 0
    predictions = pd.read_csv(out)["prediction"]
    assert (predictions == "neg").all()
    unweighted = tmp_path / "u.sktune"
    assert _tune(folder, "--save", str(unweighted), "--quiet", "--space", str(space),
                 data="weighted.csv") == 0
    frame = pd.read_csv(folder / "weighted.csv")
    assert set(load(unweighted).predict(frame[["a", "b", "w", "zero"]])) == {"pos", "neg"}


def test_failing_fits_are_one_line(folder, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("module__input_shape: [[1, 2, 2]]\nepochs: 1\n")  # 7 features, not 4
    assert _tune(folder, "--model", "cnn", "--space", str(bad)) == 1
    err = capsys.readouterr().err.splitlines()
    # the space has one point, fitted once per fold (2)
    assert len(err) == 1 and err[0].startswith("sktune tune: error: All the 2 fits failed")
    assert "ValueError: input_shape=(1, 2, 2) does not match" in err[0]


@pytest.mark.parametrize("args", [
    ["--cv", "1"], ["--n-iter", "0"], ["--test-size", "1.5"], ["--n-jobs", "0"],
    ["--quiet", "--verbose"], [], ["--time-budget", "10x"], ["--time-budget", "-5"],
    ["--time-budget", "0"],
])
def test_usage_errors_exit_2(capsys, args):
    with pytest.raises(SystemExit) as info:
        main(["tune", *(["--data", "iris"] if args else []), *args])
    assert info.value.code == 2
    assert "usage: sktune tune" in capsys.readouterr().err


# -- hyperband ----------------------------------------------------------------------------
class _RecordingHyperband(sktune.search.HyperbandSearchCV):
    """Stands in for HyperbandSearchCV: records how the command line builds it."""

    calls = []

    def __init__(self, estimator, search_spaces, **kwargs):
        super().__init__(estimator, search_spaces, **kwargs)
        self.calls.append({"estimator": estimator, "search_spaces": search_spaces, **kwargs})

    def fit(self, X, y=None, **params):
        raise ValueError("recorded")


def test_hyperband_wiring(folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sktune.search, "HyperbandSearchCV", _RecordingHyperband)
    space = tmp_path / "hb.yaml"
    space.write_text("lr: {low: 1e-3, high: 1e-1, prior: log-uniform}\n"
                     "epochs: {low: 2, high: 9}\n")
    _RecordingHyperband.calls.clear()
    assert _tune(folder, "--search", "hyperband", "--space", str(space), "--checkpoint",
                 str(tmp_path / "hb.ckpt"), "--scoring", "f1_macro", "--n-jobs", "1") == 1
    assert "the search failed: ValueError: recorded" in capsys.readouterr().err
    (call,) = _RecordingHyperband.calls
    assert list(call["search_spaces"]) == ["net__lr"]  # epochs is the resource, not searched
    assert call["max_epochs"] == 9 and call["min_epochs"] == 2 and call["factor"] == 3
    assert call["proposals"] == "bayes" and call["scoring"] == "f1_macro"
    assert call["cv"] == 2 and call["n_jobs"] == 1 and call["random_state"] == 0
    assert call["checkpoint"] == str(tmp_path / "hb.ckpt")
    assert isinstance(call["estimator"].named_steps["net"], NeuralNetClassifier)

    _RecordingHyperband.calls.clear()
    assert _tune(folder, "--search", "hyperband") == 1  # epochs: 3 is fixed in small.yaml
    assert _RecordingHyperband.calls[0]["max_epochs"] == 3
    assert _RecordingHyperband.calls[0]["min_epochs"] == 1
    space.write_text("lr: [0.001, 0.01]\nepochs: [3, 27, 9]\n")
    assert _tune(folder, "--search", "hyperband", "--space", str(space)) == 1
    assert (_RecordingHyperband.calls[1]["min_epochs"],
            _RecordingHyperband.calls[1]["max_epochs"]) == (3, 27)
    space.write_text("epochs: {low: 2, high: 9}\n")
    assert _tune(folder, "--search", "hyperband", "--space", str(space)) == 1
    assert "needs other parameters than epochs" in capsys.readouterr().err


def test_hyperband_tunes_and_saves(folder, tmp_path, capsys):
    space = tmp_path / "hb.yaml"
    space.write_text("lr: {low: 3e-3, high: 3e-2, prior: log-uniform}\nepochs: {low: 1, "
                     "high: 3}\n")
    model = tmp_path / "hb.sktune"
    assert _tune(folder, "--search", "hyperband", "--space", str(space), "--save", str(model),
                 "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["search"] == "hyperband" and summary["n_candidates"] >= 1
    assert "lr" in summary["best_params"]
    assert load(model).best_estimator_.named_steps["net"].n_iter_ <= 3


# -- time budgets -------------------------------------------------------------------------
@pytest.mark.parametrize("text, seconds", [("90", 90.0), ("90s", 90.0), ("10m", 600.0),
                                           ("1h", 3600.0), ("1.5min", 90.0)])
def test_time_budget_parsing(text, seconds, monkeypatch):
    from sktune.cli import _build

    made = {}

    def record(args, pipe, spec, progress):
        made["budget"] = args.time_budget
        raise SystemExit(0)

    monkeypatch.setattr(_build, "make_search", record)
    monkeypatch.setattr("sktune.cli._tune.make_search", record)
    with pytest.raises(SystemExit):
        main(["tune", "--data", "iris", "--time-budget", text])
    assert made["budget"] == seconds


@pytest.mark.parametrize("search, cls", [("bayes", "BayesSearchCV"),
                                         ("random", "BayesSearchCV"),
                                         ("hyperband", "HyperbandSearchCV")])
def test_time_budget_builds_a_search_that_stops_at_it(search, cls):
    """Without --n-iter the budget ends the search; random becomes quasi-random
    candidates on sktune's scheduler (sklearn's RandomizedSearchCV cannot stop)."""
    from argparse import Namespace

    from sktune.cli._build import BUDGETED_N_ITER, make_search
    from sktune.search.callbacks import TimeBudgetStopper

    class _Spec:
        def bayes(self, prefix):
            return {f"{prefix}lr": (1e-3, 1e-1, "log-uniform")}

        def without(self, name):
            return self, None

        dimensions = {"lr": None}

    pipe = Pipeline([("net", NeuralNetClassifier(epochs=9))])
    args = Namespace(search=search, scoring=None, n_jobs=1, cv=3, n_iter=None,
                     random_state=0, checkpoint=None, time_budget=30.0)
    made, total = make_search(args, pipe, _Spec(), SearchProgress(None, mode="off"))
    assert type(made).__name__ == cls and total is None
    assert TimeBudgetStopper(30.0) in made.callbacks
    if cls == "BayesSearchCV":
        assert made.n_iter == BUDGETED_N_ITER
        design = (made.optimizer_kwargs or {}).get("n_initial_points")
        assert design == (BUDGETED_N_ITER if search == "random" else None)
    else:
        assert made.hyperband_iterations is None  # iterations until the budget is spent
    if search == "random":
        return  # without a budget: scikit-learn's RandomizedSearchCV, as before
    args.time_budget = None
    made, total = make_search(args, pipe, _Spec(), SearchProgress(None, mode="off"))
    if cls == "HyperbandSearchCV":
        assert made.hyperband_iterations == 1 and total > 0
    elif search == "bayes":
        assert made.n_iter == 50 and total == 150


def test_time_budget_summary_says_what_was_used(folder, capsys):
    assert _tune(folder, "--time-budget", "2", "--n-iter", "200", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["time_budget_s"] == 2.0
    assert summary["stopped_by"] == "TimeBudgetStopper(seconds=2.0)"
    assert 1 <= summary["n_candidates"] < 200
    assert _tune(folder, "--time-budget", "2", "--n-iter", "200") == 0
    out = capsys.readouterr().out
    assert re.search(r"time budget 2\.00 s: \d+\.\d+ s used \(\d+ %\), stopped by the "
                     r"budget", out), out


# -- progress -----------------------------------------------------------------------------
class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_mode():
    assert progress_mode(quiet=False, verbose=False, stream=_Terminal()) == "bar"
    assert progress_mode(quiet=True, verbose=False, stream=_Terminal()) == "off"
    assert progress_mode(quiet=False, verbose=False, stream=io.StringIO()) == "off"
    assert progress_mode(quiet=False, verbose=True, stream=io.StringIO()) == "lines"


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_progress_counts_every_fit(n_jobs):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.utils.parallel import Parallel

    from sktune.cli._tables import load_table, make_preprocessor

    frame, _ = load_table("iris")
    X, y = frame.drop(columns="target"), frame["target"]
    # the ColumnTransformer runs a Parallel of its own in every fit and in the refit
    pipe = make_pipeline(make_preprocessor(X), LogisticRegression(max_iter=200))
    search = GridSearchCV(pipe, {"logisticregression__C": [0.1, 1, 10]}, cv=3, n_jobs=n_jobs)
    stream = _Terminal()
    call = vars(Parallel)["__call__"]
    with SearchProgress(9, mode="bar", stream=stream, description="grid") as progress:
        search.fit(X, y)
    assert progress.done == 9
    assert "9/9" in stream.getvalue() and "grid: done" in stream.getvalue()
    assert "print_progress" not in vars(Parallel)  # the hooks are removed
    assert vars(Parallel)["__call__"] is call


def test_progress_lines_and_bayes_rounds(iris_data):
    X, y = iris_data
    stream = io.StringIO()
    progress = SearchProgress(8, mode="lines", stream=stream, description="bayes")
    search = BayesSearchCV(NeuralNetClassifier(hidden_layer_sizes=(4,), epochs=1),
                           {"lr": (1e-3, 1e-1, "log-uniform")}, n_iter=4, cv=2,
                           random_state=0, callbacks=[progress.on_round])
    with progress:
        search.fit(X, y)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("bayes: 1/8 fits (12%)") and lines[-1].startswith(
        "bayes: 8/8 fits (100%)")
    assert progress.best_score == max(search.cv_results_["mean_test_score"])
    assert "best CV score" in lines[-1]  # known from the first round on


# -- entry points -------------------------------------------------------------------------
def test_python_dash_m_and_console_script(folder, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sktune", "tune", "--data", str(folder / "mixed.csv"),
         "--target", "label", "--space", str(folder / "small.yaml"), "--n-iter", "2",
         "--cv", "2", "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n_candidates"] == 2
    script = os.path.join(os.path.dirname(sys.executable), "sktune")
    if not os.path.exists(script):
        pytest.skip("the sktune console script is not installed")
    done = subprocess.run([script, "tune", "--data", "missing.csv", "--target", "y"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ("sktune tune: error: data file 'missing.csv' does not exist (DATA is "
                           "a .csv or .parquet file, or one of the bundled datasets 'digits', "
                           "'iris', 'wine', 'breast_cancer', 'diabetes').\n")


def test_tensorboard_logs_the_search_and_prints_how_to_watch(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    from sktune.cli import main

    logs = tmp_path / "tb"
    assert main(["tune", "--data", "iris", "--n-iter", "2", "--cv", "2", "--tensorboard",
                 str(logs), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    run = summary["paths"]["tensorboard_run"]
    assert summary["paths"]["tensorboard"] == str(logs) and run.startswith(str(logs))
    folders = sorted(os.path.relpath(d, run) for d, _, files in os.walk(run) if files)
    assert folders == ["candidate-000", "candidate-000/fold-0", "candidate-000/fold-1",
                       "candidate-001", "candidate-001/fold-0", "candidate-001/fold-1",
                       "refit"]
    assert main(["tune", "--data", "iris", "--n-iter", "2", "--cv", "2", "--tensorboard",
                 str(logs), "--quiet"]) == 0
    assert len(os.listdir(logs)) == 2  # a second search never writes into the first's runs
    main(["tune", "--data", "iris", "--n-iter", "2", "--cv", "2", "--tensorboard", str(logs)])
    assert f"tensorboard --logdir {logs}" in capsys.readouterr().out


# -- several objectives, what to change next ---------------------------------------------
def test_objectives_search_a_pareto_front(folder, tmp_path, capsys):
    saved = tmp_path / "front.sktune"
    assert _tune(folder, "--objectives", "accuracy,neg_n_parameters", "--n-iter", "4",
                 "--save", str(saved), "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["objectives"] == ["accuracy", "neg_n_parameters"]
    assert summary["scoring"] == "accuracy"
    front = summary["pareto_front"]
    assert 1 <= len(front) <= 4
    accuracy = [row["accuracy"] for row in front]
    assert accuracy == sorted(accuracy, reverse=True)
    # no candidate of the front is beaten on both objectives by another of it
    for a in front:
        assert not any(b["accuracy"] > a["accuracy"] and
                       b["neg_n_parameters"] > a["neg_n_parameters"] for b in front)
    assert all(row["neg_n_parameters"] < 0 for row in front)
    search = load(str(saved))
    assert list(search.objectives) == ["accuracy", "neg_n_parameters"]
    assert sorted(r["candidate"] for r in front) == sorted(search.pareto_front_)
    out = tmp_path / "front.html"
    assert main(["report", str(saved), "-o", str(out), "--pareto-axes",
                 "neg_n_parameters,accuracy"]) == 0
    assert "Pareto front" in out.read_text()


@pytest.mark.parametrize("args, message", [
    (["--objectives", "accuracy"], "two objectives or more"),
    (["--objectives", "accuracy,accuracy"], "named twice"),
])
def test_objectives_that_do_not_parse_are_usage_errors(folder, capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        _tune(folder, *args)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--objectives", "accuracy,fit_time", "--search", "random"], "needs --search bayes"),
    (["--objectives", "fit_time,score_time"], "at least one score"),
    (["--objectives", "accuracy,r3"], "unknown --objectives 'r3'"),
    (["--objectives", "accuracy,fit_time", "--scoring", "f1_macro"], "disagree"),
])
def test_objectives_that_cannot_be_searched_are_one_line(folder, capsys, args, message):
    assert _tune(folder, *args) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_report_pareto_axes_must_name_objectives(folder, tmp_path, capsys):
    saved = tmp_path / "single.sktune"
    assert _tune(folder, "--save", str(saved), "-q") == 0
    capsys.readouterr()
    assert main(["report", str(saved), "--pareto-axes", "accuracy,fit_time"]) == 1
    assert "needs a search with several objectives" in capsys.readouterr().err


def test_the_summary_says_what_to_change_next(folder, capsys):
    assert _tune(folder, "--n-iter", "6", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert isinstance(summary["advice"], list)
    assert summary["timings"]["advice_s"] < 10
    assert _tune(folder, "--n-iter", "6") == 0
    out = capsys.readouterr().out
    if summary["advice"]:
        assert "what to change next:" in out
        assert all(f in out for f in summary["advice"])
