"""A real TensorBoard server reads a logged search: its runs and its HParams experiment."""

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from sklearn.datasets import load_iris

from sktune import BayesSearchCV, NeuralNetClassifier
from sktune.tracking import TensorBoardLogger

pytest.importorskip("tensorboard")
STARTUP_S = 60


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    X, y = load_iris(return_X_y=True)
    root = tmp_path_factory.mktemp("tb")
    logger = TensorBoardLogger(root, name="iris")
    search = BayesSearchCV(NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=3,
                                               random_state=0),
                           {"lr": (1e-3, 1e-1, "log-uniform"), "batch_size": [16, 32]},
                           n_iter=3, cv=2, random_state=0).set_callbacks(logger)
    return root, search.fit(X / X.max(axis=0), y)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_tensorboard_serves_the_runs_and_the_hparams_experiment(logged):
    root, search = logged
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(root),
                               "--host", "127.0.0.1", "--port", str(port),
                               "--reload_interval", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, runs = time.monotonic() + STARTUP_S, []
        while time.monotonic() < deadline and len(runs) < 10:
            try:
                runs = _get(port, "/data/runs")
            except OSError:
                pass
            time.sleep(0.5)
        expected = {f"iris/candidate-{i:03d}" for i in range(3)}
        expected |= {f"iris/candidate-{i:03d}/fold-{k}" for i in range(3) for k in range(2)}
        assert set(runs) == expected | {"iris/refit"}
        experiment = _get(port, "/data/plugin/hparams/experiment", {"experimentName": ""})
        assert {h["name"] for h in experiment["hparamInfos"]} == {"lr", "batch_size"}
        assert {m["name"]["tag"] for m in experiment["metricInfos"]} == {
            "cv/mean_test_score", "cv/split0_test_score", "cv/split1_test_score"}
        groups = _get(port, "/data/plugin/hparams/session_groups", {
            "experimentName": "", "startIndex": 0, "sliceSize": 100,
            "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE",
                                "STATUS_RUNNING"], "colParams": []})["sessionGroups"]
        assert len(groups) == 3
        for group in groups:
            i = int(group["name"].rsplit("-", 1)[1])
            params = search.cv_results_["params"][i]
            assert group["hparams"]["lr"] == pytest.approx(params["lr"])
            assert group["hparams"]["batch_size"] == params["batch_size"]
            mean = next(m["value"] for m in group["metricValues"]
                        if m["name"]["tag"] == "cv/mean_test_score")
            assert mean == pytest.approx(search.cv_results_["mean_test_score"][i], abs=1e-6)
    finally:
        server.kill()
        server.wait(10)
