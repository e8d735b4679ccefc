"""Helpers of the parallel tests, in a module that worker processes can import.

- ``SEARCHES``: the search objects, seeded, on a small network.
- ``RecordThreads``: a callback that records the torch threads and the process
  of each epoch in ``history_``.
- ``fake_gpus(n, claims_dir)``: torch reports ``n`` CUDA devices, and the
  placement claims are kept in ``claims_dir``.
- ``FakeGPUClassifier``: a ``NeuralNetClassifier`` that fits under that fake
  (in whichever worker runs it), records the device it was placed on
  (``_placed_on``) and trains on the CPU.
"""

import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import torch
from scipy.stats import loguniform
from skorch.callbacks import Callback
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

from sktune import BayesSearchCV, HyperbandSearchCV, NeuralNetClassifier
from sktune.nets import _devices


def small_net(**params):
    """A network that fits the ``binary_data`` fixture in a few milliseconds."""
    return NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=4, batch_size=32, lr=0.01,
                               random_state=0, **params)


#: name -> a seeded search over ``small_net()`` (a few candidates x 3 folds).
SEARCHES = {
    "grid": lambda: GridSearchCV(
        small_net(), {"lr": [0.003, 0.03], "hidden_layer_sizes": [(4,), (8,)]},
        cv=3, refit=False),
    "random": lambda: RandomizedSearchCV(
        small_net(), {"lr": loguniform(1e-3, 1e-1), "alpha": loguniform(1e-5, 1e-1)},
        n_iter=4, cv=3, refit=False, random_state=0),
    "bayes": lambda: BayesSearchCV(
        small_net(), {"lr": (1e-3, 1e-1, "log-uniform"), "hidden_layer_sizes": [(4,), (8,)]},
        n_iter=4, n_points=2, cv=3, refit=False, random_state=0,
        optimizer_kwargs={"n_initial_points": 2}),
    "hyperband": lambda: HyperbandSearchCV(
        small_net(), {"lr": (1e-3, 1e-1, "log-uniform"), "hidden_layer_sizes": [(4,), (8,)]},
        max_epochs=4, factor=2, n_brackets=2, cv=3, refit=False, random_state=0,
        optimizer_kwargs={"n_initial_points": 2}),
}


def search_results(search):
    """What must not depend on the parallel set-up: candidates and all test scores."""
    results = search.cv_results_
    scores = {k: v for k, v in results.items() if k.endswith("test_score")}
    return results["params"], scores


class RecordThreads(Callback):
    """Records ``torch.get_num_threads()`` and the process id at each epoch."""

    def on_epoch_begin(self, net, **kwargs):
        net.history.record("threads", torch.get_num_threads())
        net.history.record("pid", os.getpid())


@contextmanager
def fake_gpus(n, claims_dir):
    """torch sees ``n`` GPUs; sktune keeps its claims in ``claims_dir`` (yielded)."""
    claims_dir = Path(claims_dir)
    with mock.patch.object(torch.cuda, "is_available", lambda: True), \
            mock.patch.object(torch.cuda, "device_count", lambda: n), \
            mock.patch.object(_devices, "_claims_dir", lambda: claims_dir):
        yield claims_dir


def held_claims(claims_dir):
    """Number of claims held right now in ``claims_dir``."""
    return sum(_devices._is_held(p) for p in Path(claims_dir).glob("*.claim"))


class FakeGPUClassifier(NeuralNetClassifier):
    """A classifier placed on fake GPUs, trained on the CPU.

    Parameters
    ----------
    n_gpus : int
        GPUs torch pretends to see during ``fit``.
    claims_dir : str
        Folder of the placement claims (one per test).
    wait_for : int
        Once placed, wait (at most 60 s) until this many fits have been placed
        (use one fake search per ``claims_dir``), so that that many fits hold
        their claims at the same time whatever the workers' start-up.
    **kwargs
        ``NeuralNetClassifier`` parameters.
    """

    def __init__(self, n_gpus=2, claims_dir=None, wait_for=1, **kwargs):
        super().__init__(**kwargs)
        self.n_gpus = n_gpus
        self.claims_dir = claims_dir
        self.wait_for = wait_for

    @classmethod
    def _get_param_names(cls):
        return sorted({*NeuralNetClassifier._get_param_names(), "n_gpus", "claims_dir",
                       "wait_for"})

    def fit(self, X, y):
        with fake_gpus(self.n_gpus, self.claims_dir):
            return super().fit(X, y)

    def _build_net(self, sizes, n_features, n_outputs, device):
        self._placed_on = str(device)
        # A barrier: every fit arrives while it holds its claim and leaves only
        # when `wait_for` fits have arrived, so all those claims overlap.
        folder = Path(self.claims_dir)
        (folder / f"arrived-{uuid.uuid4().hex}").touch()
        deadline = time.monotonic() + 60
        while len(list(folder.glob("arrived-*"))) < self.wait_for:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {self.wait_for} fits ran at once in 60 s")
            time.sleep(0.02)
        return super()._build_net(sizes, n_features, n_outputs, "cpu")
