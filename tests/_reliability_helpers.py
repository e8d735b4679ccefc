"""A small search shared by the reliability tests and the subprocesses they kill.

Run as a script: ``python _reliability_helpers.py CHECKPOINT N_JOBS`` fits the
search (with that checkpoint, ``-`` for none) and prints ``done``.
"""

import sys

from sklearn.datasets import load_iris

from sktune import BayesSearchCV, NeuralNetClassifier

SPACE = {"lr": (1e-3, 0.3, "log-uniform"), "hidden_layer_sizes": [(8,), (16, 16)]}


def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def make_search(checkpoint=None, n_jobs=None, epochs=15, n_iter=8):
    return BayesSearchCV(
        NeuralNetClassifier(epochs=epochs, batch_size=16, random_state=0), SPACE,
        n_iter=n_iter, n_points=2, cv=2, random_state=0, n_jobs=n_jobs, checkpoint=checkpoint,
        optimizer_kwargs={"n_initial_points": 4},
    )


if __name__ == "__main__":
    import signal

    # A shell that starts a job in the background (`make test &`) makes it ignore
    # SIGINT, and Python keeps that: restore Ctrl-C, which the tests send.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    path = None if sys.argv[1] == "-" else sys.argv[1]
    n_jobs = int(sys.argv[2])
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    make_search(path, n_jobs=n_jobs, epochs=epochs, n_iter=40).fit(*iris())
    print("done", flush=True)
