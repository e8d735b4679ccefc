"""A search whose fits save their state, shared by the fit-state tests and the
subprocesses they kill.

Run as a script: ``python _fit_state_helpers.py CHECKPOINT EPOCH_LOG [N_JOBS]`` fits
the search with that checkpoint and prints ``done``.

- ``EpochLog`` appends a line to a file at the end of every epoch of every fit
  (``<pid> <epoch>``): how much training a run did.
- ``SlowEpochs`` sleeps at the end of every epoch (when told to by an environment
  variable), so a test can kill a fit in the middle.
- ``StopAt`` raises ``KeyboardInterrupt`` (Ctrl-C) at the end of epoch ``k`` of
  the first fit that reaches it, if the file ``flag`` exists (removed then): a
  search interrupted mid-fit, whose estimator's parameters do not change
  between the interrupted run and the resumed one.
"""

import os
import sys
import time

import numpy as np
from skorch.callbacks import Callback

from sktune import BayesSearchCV, NeuralNetClassifier
from sktune.space import Real


class EpochLog(Callback):
    def __init__(self, path):
        self.path = path

    def on_epoch_end(self, net, **kwargs):
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()} {len(net.history)}\n")


class SlowEpochs(Callback):
    """Sleeps ``$SKTUNE_TEST_EPOCH_SLEEP`` seconds (0 if unset) after every epoch: the
    same estimator parameters whether a run is slowed down or not."""

    def on_epoch_end(self, net, **kwargs):
        time.sleep(float(os.environ.get("SKTUNE_TEST_EPOCH_SLEEP", 0)))


class StopAt(Callback):
    def __init__(self, epoch, flag):
        self.epoch = epoch
        self.flag = flag

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch and os.path.exists(self.flag):
            os.remove(self.flag)
            raise KeyboardInterrupt


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 8)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


def make_search(checkpoint=None, callbacks=(), epochs=12, n_iter=2, every=0.0, n_jobs=None):
    net = NeuralNetClassifier(hidden_layer_sizes=(16,), epochs=epochs, batch_size=32,
                              lr_schedule="cosine", dropout=0.2, random_state=0,
                              callbacks=list(callbacks))
    return BayesSearchCV(net, {"lr": Real(1e-3, 1e-1, prior="log-uniform")}, n_iter=n_iter,
                         cv=2, random_state=0, checkpoint=checkpoint, checkpoint_every=every,
                         n_jobs=n_jobs)


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)
    path, log = sys.argv[1], sys.argv[2]
    n_jobs = int(sys.argv[3]) if len(sys.argv) > 3 else None
    # the classes by their module's name, not __main__'s: the search's fingerprint
    # names them, and the test resumes this search in a process that imports them
    import _fit_state_helpers as helpers

    helpers.make_search(path, [helpers.EpochLog(log), helpers.SlowEpochs()],
                        epochs=20, n_jobs=n_jobs).fit(*helpers.data())
    print("done", flush=True)
