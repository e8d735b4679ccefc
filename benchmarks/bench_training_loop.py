"""Seconds per training epoch: hand-written torch loop vs plain skorch vs sktune.

The same MLP (64 -> 256 -> 10, ReLU, Adam lr=1e-3, cross-entropy, no
regularisation), 20,000 rows, shuffled mini-batches, one torch thread. The
three variants run interleaved, round after round, so drift on a noisy
machine hits them alike; the table gives the median epoch time and its ratio
to the hand-written loop (the practical limit).

Usage::

    python benchmarks/bench_training_loop.py [--rounds 5] [--epochs 3] [--batch-sizes 32 128 1024]
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import make_classification

N_ROWS, N_FEATURES, HIDDEN, N_CLASSES = 20_000, 64, 256, 10


def _mlp():
    return torch.nn.Sequential(torch.nn.Linear(N_FEATURES, HIDDEN), torch.nn.ReLU(),
                               torch.nn.Linear(HIDDEN, N_CLASSES))


class _SkorchMLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = _mlp()

    def forward(self, X):
        return self.net(X)


def hand_loop(X, y, batch_size, epochs):
    """The practical limit: shuffle an index, slice tensors, default Adam."""
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model = _mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(Xt))
        for i in range(0, len(Xt), batch_size):
            idx = order[i:i + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def plain_skorch(X, y, batch_size, epochs):
    """skorch's NeuralNetClassifier doing the same job: no validation split, shuffled."""
    from skorch import NeuralNetClassifier

    net = NeuralNetClassifier(
        _SkorchMLP, criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.Adam,
        lr=1e-3, max_epochs=epochs, batch_size=batch_size, train_split=None,
        iterator_train__shuffle=True, verbose=0,
    )
    net.fit(X, y)
    return list(net.history[:, "dur"])


def sktune_net(X, y, batch_size, epochs, **params):
    from sktune import NeuralNetClassifier

    clf = NeuralNetClassifier(hidden_layer_sizes=(HIDDEN,), optimizer="adam", lr=1e-3,
                              penalty=None, epochs=epochs, batch_size=batch_size, **params)
    clf.fit(X, y)
    return list(clf.history_[:, "dur"])


def sktune_unfused(X, y, batch_size, epochs):
    """sktune with torch's default (per-parameter) Adam: the loop's own share."""
    return sktune_net(X, y, batch_size, epochs, optimizer__fused=False)


VARIANTS = {"hand loop": hand_loop, "skorch": plain_skorch, "sktune": sktune_net,
            "sktune, unfused Adam": sktune_unfused}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 1024])
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    X, y = make_classification(n_samples=N_ROWS, n_features=N_FEATURES, n_informative=32,
                               n_classes=N_CLASSES, random_state=0)
    X, y = X.astype(np.float32), y.astype(np.int64)
    for fit in VARIANTS.values():  # warm-up: imports, first allocations
        fit(X[:2048], y[:2048], 256, 1)

    times = {(name, bs): [] for name in VARIANTS for bs in args.batch_sizes}
    for r in range(args.rounds):
        for bs in args.batch_sizes:
            for name, fit in VARIANTS.items():
                times[name, bs] += fit(X, y, bs, args.epochs)
        print(f"round {r + 1}/{args.rounds} done", flush=True)

    print(f"\nMedian seconds per epoch ({N_ROWS} rows, MLP {N_FEATURES}-{HIDDEN}-{N_CLASSES}, "
          f"1 torch thread, {args.rounds} rounds x {args.epochs} epochs), ratio to the hand loop")
    header = f"{'variant':<22}" + "".join(f"{'batch ' + str(bs):>22}" for bs in args.batch_sizes)
    print(header)
    print("-" * len(header))
    for name in VARIANTS:
        cells = []
        for bs in args.batch_sizes:
            med = float(np.median(times[name, bs]))
            ratio = med / float(np.median(times["hand loop", bs]))
            cells.append(f"{med:9.4f} s ({ratio:4.2f}x)")
        print(f"{name:<22}" + "".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
