"""Datasets and augmentation: what reading samples costs, and what tuning augmentation buys.

Part 1, epoch times. The same ConvNet (sktune's default ``ConvNet``, one torch
thread) on the same digits, trained from

- ``array``: an in-memory float32 array of images (the fast path),
- ``dataset``: a user-style map-style ``Dataset`` over the same tensors
  (``__getitem__`` returns ``(x, y)``), read through sktune's loader,
- ``png`` / ``png, 2 workers``: the digits written as PNG files and read by
  ``sktune.data.ImageFolder`` with ``num_workers`` 0 and 2,

at batch sizes 32 and 256, for 8x8 images (digits as they are) and 32x32 ones
(digits scaled up 4x, nearest neighbour: a heavier network per sample). Each
configuration is fitted ``--repeats`` times, interleaved; an epoch time is the
median of ``history_[:, 'dur']`` over the epochs after the first (the first
also starts the loader workers, reported separately as ``first epoch``). The
ratios are to ``array`` in the same run. Targets (issue "Deep-learning data"):
``dataset`` within 1.3x of ``array``, ``png, 2 workers`` within 2x.

Part 2, augmentation. For each seed, 300 training digits (8x8) and the other
1,497 held out. A ConvNet without augmentation against a ``GridSearchCV`` (3-fold)
over the strength of ``train_transform=Compose([shift, noise])``:
``noise__std`` in {0, 0.1, 0.2, 0.3} and ``shift__max_shift`` in {0, 1}
(8 candidates, the first one no augmentation), both trained ``--epochs``
epochs at the same ``lr``; held-out accuracy of each, and what the search chose.

Usage::

    python benchmarks/bench_datasets.py [--repeats 5] [--seeds 0 1 2 3 4] [--epochs 100]
    python benchmarks/bench_datasets.py --part timing   # or --part augmentation
"""

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from torch.utils.data import Dataset

from sktune import NeuralNetClassifier
from sktune.data import Compose, GaussianNoise, ImageFolder, RandomShift
from sktune.modules import ConvNet


class TensorSamples(Dataset):
    """What a user writes: samples held in memory, one ``(x, y)`` per index."""

    def __init__(self, X, y):
        self.X, self.y = torch.as_tensor(X), torch.as_tensor(y)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


def digits_images(scale):
    """Digits as float32 images ``(n, 1, 8*scale, 8*scale)`` in [0, 1], and labels."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    if scale > 1:
        X = X.repeat(scale, axis=2).repeat(scale, axis=3)
    return X, y


def write_pngs(root, X, y):
    for i, (x, label) in enumerate(zip(X, y)):
        folder = os.path.join(root, str(label))
        os.makedirs(folder, exist_ok=True)
        pixels = np.round(x[0] * 255).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(os.path.join(folder, f"{i:05d}.png"))


def epoch_times(make_input, batch_size, epochs, num_workers=0):
    net = NeuralNetClassifier(module=ConvNet, batch_size=batch_size, epochs=epochs, lr=1e-3,
                              random_state=0, num_workers=num_workers, torch_threads=1)
    X, y = make_input()
    net.fit(X, y)
    durations = list(net.history_[:, "dur"])
    return durations[0], statistics.median(durations[1:])


def timing(args):
    print("Part 1: seconds per epoch (median over epochs 2..E, median of "
          f"{args.repeats} fits), ConvNet, 1 torch thread")
    print(f"{'images':>7} {'batch':>5} {'input':<16} {'first epoch':>11} {'epoch':>8} "
          f"{'ratio':>6}")
    for scale in args.scales:
        X, y = digits_images(scale)
        with tempfile.TemporaryDirectory() as root:
            write_pngs(root, X, y)
            folder = ImageFolder(root)
            labels = np.asarray(folder.targets)
            inputs = {
                "array": (lambda: (X, y), 0),
                "dataset": (lambda: (TensorSamples(X, y), None), 0),
                "png": (lambda: (folder, labels), 0),
                "png, 2 workers": (lambda: (folder, labels), 2),
            }
            for batch_size in (32, 256):
                epochs = 4 if batch_size == 32 else 6
                runs = {name: [] for name in inputs}
                for _ in range(args.repeats):
                    for name, (make, workers) in inputs.items():
                        runs[name].append(epoch_times(make, batch_size, epochs, workers))
                base = statistics.median(e for _, e in runs["array"])
                for name, results in runs.items():
                    first = statistics.median(f for f, _ in results)
                    epoch = statistics.median(e for _, e in results)
                    side = 8 * scale
                    print(f"{side:>4}x{side:<2} {batch_size:>5} {name:<16} {first:>10.3f}s "
                          f"{epoch:>7.3f}s {epoch / base:>5.2f}x", flush=True)


def augmentation(args):
    X, y = digits_images(1)
    grid = {"train_transform__noise__std": [0.0, 0.1, 0.2, 0.3],
            "train_transform__shift__max_shift": [0, 1]}
    print(f"\nPart 2: 300 training digits, {len(X) - 300} held out, {args.epochs} epochs, "
          "lr 3e-3; held-out accuracy")
    print(f"{'seed':>4} {'no augmentation':>16} {'tuned augmentation':>19} {'gain':>7}  chosen "
          f"(noise std, shift) search time")
    gains = []
    for seed in args.seeds:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, train_size=300, stratify=y, random_state=seed)
        net = NeuralNetClassifier(module=ConvNet, epochs=args.epochs, lr=3e-3, batch_size=32,
                                  random_state=seed,
                                  train_transform=Compose([("shift", RandomShift(0)),
                                                           ("noise", GaussianNoise(0.0))]))
        plain = net.fit(X_train, y_train).score(X_test, y_test)
        start = time.perf_counter()
        search = GridSearchCV(net, grid, cv=3, n_jobs=args.n_jobs).fit(X_train, y_train)
        seconds = time.perf_counter() - start
        tuned = search.score(X_test, y_test)
        chosen = (search.best_params_["train_transform__noise__std"],
                  search.best_params_["train_transform__shift__max_shift"])
        gains.append(tuned - plain)
        print(f"{seed:>4} {plain:>16.4f} {tuned:>19.4f} {tuned - plain:>+7.4f}  {chosen!s:<19} "
              f"{seconds:>6.1f}s", flush=True)
    print(f"median gain {statistics.median(gains):+.4f}, min {min(gains):+.4f}, "
          f"max {max(gains):+.4f} over seeds {list(args.seeds)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["timing", "augmentation", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4],
                        help="image sides as multiples of 8 (digits' own size)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.part in ("timing", "all"):
        timing(args)
    if args.part in ("augmentation", "all"):
        augmentation(args)


if __name__ == "__main__":
    main()
