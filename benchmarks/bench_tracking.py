"""What TensorBoard logging costs: wall time per epoch with and without TensorBoardLogger.

The MLP of ``bench_training_loop.py`` (64 -> 256 -> 10, Adam, 20,000 rows, one
torch thread), fitted with and without ``set_callbacks(TensorBoardLogger(dir))``,
interleaved round after round. Two measures:

- wall time per epoch of each fit (``fit`` from start to end, so the writer's
  start, its per-epoch scalars and its closing count), medians and ratio;
  on a noisy 2-core machine these move by several percent from run to run;
- the time spent in the logger's own hooks (opening the writer, writing each
  epoch's scalars, closing it), timed around them in the logged fits, per
  epoch: the logging's cost itself, and ``1 + hooks / epoch`` as the ratio
  it implies.

Target (issue "Watching a search"): at most 1.03x at batch 128.

Usage::

    python benchmarks/bench_tracking.py [--rounds 7] [--epochs 5] [--batch-sizes 32 128 1024]
"""

import argparse
import tempfile
import time

import numpy as np
import torch
from sklearn.datasets import make_classification

from sktune import NeuralNetClassifier
from sktune.tracking import TensorBoardLogger
from sktune.tracking import _tensorboard

HOOK_SECONDS = []


def _timed(hook):
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return hook(*args, **kwargs)
        finally:
            HOOK_SECONDS.append(time.perf_counter() - start)
    return timed


for _name in ("on_train_begin", "on_epoch_end", "on_train_end"):
    setattr(_tensorboard._EpochScalars, _name,
            _timed(getattr(_tensorboard._EpochScalars, _name)))


def seconds_per_epoch(X, y, batch_size, epochs, log_dir=None):
    clf = NeuralNetClassifier(hidden_layer_sizes=(256,), lr=1e-3, penalty=None, epochs=epochs,
                              batch_size=batch_size, random_state=0)
    if log_dir is not None:
        clf.set_callbacks(TensorBoardLogger(log_dir))
    HOOK_SECONDS.clear()
    start = time.perf_counter()
    clf.fit(X, y)
    return (time.perf_counter() - start) / epochs, sum(HOOK_SECONDS) / epochs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 1024])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X, y = make_classification(n_samples=20_000, n_features=64, n_informative=32,
                               n_classes=10, random_state=0)
    X, y = X.astype(np.float32), y.astype(np.int64)
    with tempfile.TemporaryDirectory() as logs:
        seconds_per_epoch(X[:2048], y[:2048], 256, 1, logs)  # warm-up: tensorboard's import
        times = {(bs, logged): [] for bs in args.batch_sizes for logged in (False, True)}
        hooks = {bs: [] for bs in args.batch_sizes}
        for _ in range(args.rounds):
            for bs in args.batch_sizes:
                for logged in (False, True):
                    wall, in_hooks = seconds_per_epoch(X, y, bs, args.epochs,
                                                       logs if logged else None)
                    times[bs, logged].append(wall)
                    if logged:
                        hooks[bs].append(in_hooks)
    print(f"Median seconds per epoch ({args.rounds} fits of {args.epochs} epochs each)")
    print(f"{'batch':>6} {'no logging':>11} {'logged':>9} {'wall ratio':>11} "
          f"{'in the logger':>14} {'its ratio':>10}")
    for bs in args.batch_sizes:
        plain, logged = (float(np.median(times[bs, flag])) for flag in (False, True))
        cost = float(np.median(hooks[bs]))
        print(f"{bs:>6} {plain:>10.4f}s {logged:>8.4f}s {logged / plain:>10.3f}x "
              f"{cost * 1e3:>11.2f} ms {1 + cost / plain:>9.4f}x")


if __name__ == "__main__":
    main()
