"""TensorBoardLogger: runs per fit and HParams sessions, read back with TensorBoard's reader."""

import os
import pickle

import numpy as np
import pytest
from joblib import parallel_config
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import BayesSearchCV, NeuralNetClassifier
from sktune.tracking import TensorBoardLogger

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer  # noqa
from tensorboard.plugins.hparams import metadata  # noqa: E402

X, y = load_iris(return_X_y=True)
X = (X - X.mean(axis=0)) / X.std(axis=0)
EPOCHS = 3


def net():
    return NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=EPOCHS, random_state=0,
                               validation_fraction=0.2)


def bayes(**params):
    return BayesSearchCV(net(), {"lr": (1e-3, 1e-1, "log-uniform")},
                         **{"n_iter": 4, "n_points": 2, "cv": 2, "random_state": 0, **params})


def read(run_dir):
    runs = EventMultiplexer().AddRunsFromDirectory(str(run_dir))
    runs.Reload()
    return runs


def scalars(runs, run, tag):
    return [e.value for e in runs.Scalars(run, tag)]


def hparams(runs, run):
    content = runs.PluginRunToTagToContent(metadata.PLUGIN_NAME)[run]
    info = metadata.parse_session_start_info_plugin_data(
        content[metadata.SESSION_START_INFO_TAG])
    return {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind"))
            for k, v in info.hparams.items()}


def check_search_logs(search, logger, n_splits=2):
    runs = read(logger.run_dir_)
    n = len(search.cv_results_["params"])
    expected = {f"candidate-{i:03d}" for i in range(n)}
    expected |= {f"candidate-{i:03d}/fold-{k}" for i in range(n) for k in range(n_splits)}
    assert set(runs.Runs()) == expected | {"refit"}
    for i, params in enumerate(search.cv_results_["params"]):
        for k in range(n_splits):
            run = f"candidate-{i:03d}/fold-{k}"
            # the fit of this candidate: its learning rate, every epoch
            assert_allclose(scalars(runs, run, "lr"), [params["lr"]] * EPOCHS, rtol=1e-6)
            assert len(scalars(runs, run, "loss/train")) == EPOCHS
            assert len(scalars(runs, run, "score/valid")) == EPOCHS
        session = f"candidate-{i:03d}"
        assert hparams(runs, session)["lr"] == pytest.approx(params["lr"])
        for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
            assert scalars(runs, session, f"cv/{key}") == pytest.approx(
                [search.cv_results_[key][i]], abs=1e-6)
    refit = search.best_estimator_.history_[:, "train_loss"]
    assert_allclose(scalars(runs, "refit", "loss/train"), refit, rtol=1e-5)
    return runs


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_bayes_search_logs_every_fit_and_candidate(tmp_path, n_jobs):
    logger = TensorBoardLogger(tmp_path, name="bayes")
    search = bayes(n_jobs=n_jobs).set_callbacks(logger).fit(X, y)
    assert logger.run_dir_ == os.path.join(tmp_path, "bayes")
    check_search_logs(search, logger)


def test_grid_search_over_a_pipeline_with_several_metrics(tmp_path):
    logger = TensorBoardLogger(tmp_path)
    pipe = make_pipeline(StandardScaler(), net())
    search = GridSearchCV(pipe, {"neuralnetclassifier__lr": [1e-3, 1e-2, 5e-2]}, cv=3,
                          scoring={"acc": "accuracy", "bacc": "balanced_accuracy"},
                          refit="acc").set_callbacks(logger).fit(X, y)
    runs = read(logger.run_dir_)
    assert len([r for r in runs.Runs() if "/fold-" in r]) == 9
    for i in range(3):
        for metric in ("acc", "bacc"):
            assert scalars(runs, f"candidate-{i:03d}", f"cv/mean_test_{metric}") == \
                pytest.approx([search.cv_results_[f"mean_test_{metric}"][i]], abs=1e-6)
        assert hparams(runs, f"candidate-{i:03d}")["neuralnetclassifier__lr"] == \
            pytest.approx(search.cv_results_["params"][i]["neuralnetclassifier__lr"])


def test_repeated_searches_into_one_root_never_collide(tmp_path):
    first, second = TensorBoardLogger(tmp_path), TensorBoardLogger(tmp_path)
    bayes(n_iter=2).set_callbacks(first).fit(X, y)
    bayes(n_iter=2).set_callbacks(second).fit(X, y)
    assert first.run_dir_ != second.run_dir_
    assert os.path.basename(first.run_dir_).startswith("BayesSearchCV-")
    assert len(os.listdir(tmp_path)) == 2


def test_a_lone_network_logs_its_fit(tmp_path):
    logger = TensorBoardLogger(tmp_path, name="one")
    clf = net().set_callbacks(logger).fit(X, y)
    runs = read(logger.run_dir_)
    assert set(runs.Runs()) == {"fit"}
    assert_allclose(scalars(runs, "fit", "loss/train"), clf.history_[:, "train_loss"],
                    rtol=1e-5)


def test_the_logger_holds_no_writer_and_pickles(tmp_path):
    logger = TensorBoardLogger(tmp_path, name="p")
    search = bayes(n_iter=2).set_callbacks(logger).fit(X, y)
    again = pickle.loads(pickle.dumps(logger))
    assert again.run_dir_ == logger.run_dir_
    fitted = pickle.loads(pickle.dumps(search.best_estimator_))  # its net kept the callback
    assert fitted.score(X, y) == search.best_estimator_.score(X, y)
    (copied,) = clone(search)._skl_callbacks  # scikit-learn's clone keeps callbacks
    assert isinstance(copied, TensorBoardLogger) and copied.log_dir == logger.log_dir
    assert repr(logger) == f"TensorBoardLogger(log_dir={str(tmp_path)!r}, name='p')"


def test_randomized_search_is_logged_like_the_others(tmp_path):
    from scipy.stats import loguniform
    from sklearn.model_selection import RandomizedSearchCV

    logger = TensorBoardLogger(tmp_path, name="random")
    search = RandomizedSearchCV(net(), {"lr": loguniform(1e-3, 1e-1)}, n_iter=3, cv=2,
                                random_state=0).set_callbacks(logger).fit(X, y)
    check_search_logs(search, logger)


def test_a_resumed_search_adds_no_duplicate_runs(tmp_path):
    class Crash(Exception):
        pass

    def crash_after_first_round(state):
        if state.round == 1:
            raise Crash

    checkpoint = tmp_path / "search.ckpt"
    logger = TensorBoardLogger(tmp_path / "logs", name="resumable")
    with pytest.raises(Crash):
        bayes(checkpoint=checkpoint, callbacks=crash_after_first_round).set_callbacks(
            logger).fit(X, y)
    resumed = bayes(checkpoint=checkpoint).set_callbacks(logger).fit(X, y)
    check_search_logs(resumed, logger)
    for folder, _, files in os.walk(logger.run_dir_):
        assert len([f for f in files if f.startswith("events.out")]) <= 1, folder


def test_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    logger = TensorBoardLogger(tmp_path, name="dask")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster), parallel_config(backend="dask"):
        search = bayes().set_callbacks(logger).fit(X, y)
    check_search_logs(search, logger)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_hyperband_rungs_continue_each_candidates_runs(tmp_path):
    from sktune import HyperbandSearchCV

    logger = TensorBoardLogger(tmp_path, name="hb")
    search = HyperbandSearchCV(net(), {"lr": (1e-3, 1e-1, "log-uniform")}, max_epochs=4,
                               factor=2, n_brackets=1, cv=2, random_state=0)
    search.set_callbacks(logger).fit(X, y)
    runs = read(logger.run_dir_)
    results = search.cv_results_
    candidates = sorted(set(results["candidate"]))
    assert {r for r in runs.Runs() if "/" not in r} == \
        {f"candidate-{c:03d}" for c in candidates} | {"refit"}
    for c in candidates:
        rows = [i for i, k in enumerate(results["candidate"]) if k == c]
        epochs = results["n_resources"][rows[-1]]
        for fold in range(2):
            run = f"candidate-{c:03d}/fold-{fold}"
            # one run per (candidate, fold), continued rung after rung: epochs 1..final
            assert [e.step for e in runs.Scalars(run, "loss/train")] == \
                list(range(1, epochs + 1))
            assert_allclose(scalars(runs, run, "lr"), [results["params"][rows[0]]["lr"]]
                            * epochs, rtol=1e-6)
        # the session: the score at each rung (steps = epochs), the last one its value
        session = runs.Scalars(f"candidate-{c:03d}", "cv/mean_test_score")
        assert [e.step for e in session] == [results["n_resources"][i] for i in rows]
        assert [e.value for e in session] == pytest.approx(
            [results["mean_test_score"][i] for i in rows], abs=1e-6)
    assert max(len(r) for r in [[i for i, k in enumerate(results["candidate"]) if k == c]
                                for c in candidates]) > 1  # some candidate was promoted


def test_continued_training_keeps_one_ordered_event_file(tmp_path):
    logger = TensorBoardLogger(tmp_path, name="warm")
    clf = net().set_callbacks(logger).fit(X, y)
    for _ in range(11):  # more writers than one digit of torch's file counter
        clf.partial_fit(X, y)
    run = os.path.join(logger.run_dir_, "fit")
    assert len([f for f in os.listdir(run) if f.startswith("events.out")]) == 1
    runs = read(logger.run_dir_)
    assert [e.step for e in runs.Scalars("fit", "loss/train")] == list(range(1, EPOCHS + 12))
    assert_allclose(scalars(runs, "fit", "loss/train"), clf.history_[:, "train_loss"],
                    rtol=1e-5)


def test_a_failed_search_writes_no_sessions_even_with_old_results(tmp_path):
    search = bayes(n_iter=2).fit(X, y)  # cv_results_ from a first, successful fit
    logger = TensorBoardLogger(tmp_path, name="failed")
    search.set_params(error_score="raise", estimator__lr_schedule="no-such-schedule")
    with pytest.raises(ValueError):
        search.set_callbacks(logger).fit(X, y)
    # no HParams session: the old cv_results_ are not this fit's
    assert not read(logger.run_dir_).PluginRunToTagToContent(metadata.PLUGIN_NAME)
