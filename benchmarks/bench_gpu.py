"""GPU epoch time (sktune vs a hand-written loop, float32 vs bf16) and concurrent fits.

One prepared run for a machine with one CUDA GPU; it keeps to a total time
budget (``--budget``, default 210 s) and prints as it goes (flushed), so a run
cut short still says what it measured.

(a) Seconds per epoch of sktune's ``NeuralNetClassifier`` against a hand-written
    CUDA loop that trains the same module class, built with the same
    arguments, on the same data (already on the GPU): the MLP
    (``sktune.modules.MLP``, 200,000 x 256 generated features, 10 classes,
    hidden (1024, 1024), batch 1024) and the ConvNet (``sktune.modules.ConvNet``,
    50,000 generated 3x32x32 images, channels (32, 64), hidden (256,), batch
    256), each at ``precision='32'`` and ``'bf16'`` (the hand loop runs the
    forward pass and the loss under ``torch.autocast(device_type="cuda",
    dtype=torch.bfloat16)``). The hand loop: Adam (lr 1e-3, no weight decay;
    sktune runs with ``penalty=None``), ``torch.randperm`` order each epoch,
    ``zero_grad`` / forward / ``CrossEntropyLoss`` / ``backward`` / ``step``,
    ``loss.item()`` per batch. Three variants run interleaved: the hand loop
    with torch's default Adam (foreach on CUDA), sktune as it comes (fused
    Adam) and sktune with ``optimizer__fused=False`` (the same Adam code as the
    hand loop). Epochs are timed between ``torch.cuda.synchronize()`` calls
    (for sktune by a small epoch callback that syncs, which adds no batch
    hooks); the first epoch of every fit is a warm-up and is discarded. It
    prints medians, the ratios sktune / hand loop and the bf16 / float32
    speed-ups.

(b) Throughput of k = 1, 2, 4, 8 concurrent fits sharing the GPU: 16 identical
    small fits (MLP, 20,000 x 64, hidden (256, 256), batch 256, 3 epochs) run
    k at a time in joblib's loky worker processes (its reusable executor, used
    directly, because ``Parallel(n_jobs=1)`` would run in the main process) with
    ``SKTUNE_WORKERS_PER_DEVICE=k``, ``device='cuda'`` and one torch thread
    per fit. The workers are started and their CUDA set up by an untimed
    warm-up first (a tiny fit in each of the k workers). It prints wall time,
    fits/s, samples/s and the speed-up over k=1. (sktune's per-GPU cap
    applies only when 2 or more GPUs are visible, see sktune/nets/_devices.py;
    with one GPU every fit simply runs on it, so the concurrency is k.)

Usage::

    python benchmarks/bench_gpu.py                       # on a CUDA machine
    python benchmarks/bench_gpu.py --device cpu --quick  # smoke test, < 1 minute

Without CUDA and without ``--device`` it prints that nothing was measured and
exits with status 0.
"""

import argparse
import os
import sys
import time
import traceback
from contextlib import nullcontext

import numpy as np
import torch

WORKERS_ENV_VAR = "SKTUNE_WORKERS_PER_DEVICE"
LR = 1e-3

#: Sizes of the full run and of the smoke run (--quick).
SIZES = {
    "full": dict(
        mlp=dict(rows=200_000, features=256, hidden=(1024, 1024), batch=1024),
        conv=dict(rows=50_000, shape=(3, 32, 32), channels=(32, 64), hidden=(256,), batch=256),
        classes=10, epochs=5, repeats=3,
        small=dict(rows=20_000, features=64, hidden=(256, 256), batch=256, epochs=3),
        n_fits=16, workers=[1, 2, 4, 8]),
    "quick": dict(
        mlp=dict(rows=4096, features=64, hidden=(128, 128), batch=256),
        conv=dict(rows=1024, shape=(3, 16, 16), channels=(8, 16), hidden=(32,), batch=128),
        classes=10, epochs=2, repeats=1,
        small=dict(rows=4096, features=32, hidden=(128,), batch=256, epochs=3),
        n_fits=4, workers=[1, 2]),
}


def log(*args):
    print(*args, flush=True)


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


# -- data -------------------------------------------------------------------------


def generated(rows, shape, classes, seed=0):
    """``rows`` float32 samples of ``shape`` and labels from a random linear teacher."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, *shape), dtype=np.float32)
    teacher = rng.standard_normal((int(np.prod(shape)), classes), dtype=np.float32)
    y = (X.reshape(rows, -1) @ teacher).argmax(axis=1).astype(np.int64)
    return X, y


# -- the networks -----------------------------------------------------------------


def network(kind, cfg, classes):
    """``(module class, constructor arguments beyond n_features/n_outputs)``."""
    from sktune.modules import MLP, ConvNet
    if kind == "mlp":
        return MLP, dict(hidden_layer_sizes=cfg["hidden"], activation="relu", dropout=0.0)
    return ConvNet, dict(input_shape=cfg["shape"], channels=cfg["channels"],
                         hidden_layer_sizes=cfg["hidden"], activation="relu", dropout=0.0)


def hand_loop(X, y, kind, cfg, classes, precision, epochs, device, seed=0):
    """The hand-written loop: epoch times (synchronised) and the parameter count."""
    cls, kwargs = network(kind, cfg, classes)
    torch.manual_seed(seed)
    model = cls(n_features=int(np.prod(X.shape[1:])), n_outputs=classes, **kwargs).to(device)
    Xt = torch.from_numpy(X).to(device)
    yt = torch.from_numpy(y).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    dev_type = torch.device(device).type
    bs = cfg["batch"]
    times = []
    for _ in range(epochs):
        sync(device)
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(Xt), device=Xt.device)
        for i in range(0, len(Xt), bs):
            idx = order[i:i + bs]
            optimizer.zero_grad()
            with (torch.autocast(device_type=dev_type, dtype=torch.bfloat16)
                  if precision == "bf16" else nullcontext()):
                loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
            loss.item()
        sync(device)
        times.append(time.perf_counter() - start)
    return times, sum(p.numel() for p in model.parameters())


def _synced_timer():
    from skorch.callbacks import Callback

    class SyncedEpochTimer(Callback):
        """Epoch time between ``torch.cuda.synchronize()`` calls (no batch hooks)."""

        def on_epoch_begin(self, net, **kwargs):
            sync(net.device)
            self.start_ = time.perf_counter()

        def on_epoch_end(self, net, **kwargs):
            sync(net.device)
            net.history.record("dur_synced", time.perf_counter() - self.start_)

    return SyncedEpochTimer()


def sktune_fit(X, y, kind, cfg, classes, precision, epochs, device, seed=0, **params):
    from sktune import NeuralNetClassifier
    cls, kwargs = network(kind, cfg, classes)
    hidden = kwargs.pop("hidden_layer_sizes")
    clf = NeuralNetClassifier(
        module=cls, hidden_layer_sizes=hidden, activation=kwargs.pop("activation"),
        dropout=kwargs.pop("dropout"), optimizer="adam", lr=LR, penalty=None,
        batch_size=cfg["batch"], epochs=epochs, precision=precision, device=device,
        random_state=seed, callbacks=[("synced_timer", _synced_timer())],
        **{f"module__{k}": v for k, v in kwargs.items()}, **params)
    clf.fit(X, y)
    times = list(clf.history_[:, "dur_synced"])
    n_params = sum(p.numel() for p in clf.module_.parameters())
    del clf
    return times, n_params


def sktune_unfused(*args, **kwargs):
    return sktune_fit(*args, optimizer__fused=False, **kwargs)


VARIANTS = {"hand loop": hand_loop, "sktune": sktune_fit,
            "sktune, unfused Adam": sktune_unfused}


def part_epochs(sizes, device, deadline):
    classes, epochs = sizes["classes"], sizes["epochs"]
    log(f"\n(a) seconds per epoch, {epochs} epochs per fit (the first discarded), up to "
        f"{sizes['repeats']} interleaved rounds")
    data = {}
    for kind in ("mlp", "conv"):
        cfg = sizes[kind]
        shape = (cfg["features"],) if kind == "mlp" else cfg["shape"]
        start = time.perf_counter()
        data[kind] = generated(cfg["rows"], shape, classes, seed=1 if kind == "mlp" else 2)
        log(f"  data {kind}: X {data[kind][0].shape} generated in "
            f"{time.perf_counter() - start:.1f} s")
    configs = [(kind, p) for kind in ("mlp", "conv") for p in ("32", "bf16")]
    # warm-up: CUDA kernels, cuBLAS/cuDNN handles; and a check that all build the same net
    start = time.perf_counter()
    for kind, precision in list(configs):
        X, y = data[kind]
        n = min(len(X), 4 * sizes[kind]["batch"])
        try:
            counts = {v: fit(X[:n], y[:n], kind, sizes[kind], classes, precision, 1,
                             device)[1] for v, fit in VARIANTS.items()}
            if len(set(counts.values())) != 1:
                raise RuntimeError(f"the variants built different networks: {counts}")
        except Exception:  # report it, and measure the other configurations
            log(f"  {kind} {precision} FAILED in the warm-up; left out:")
            log(traceback.format_exc())
            configs.remove((kind, precision))
    log(f"  warm-up done in {time.perf_counter() - start:.1f} s")
    if not configs:
        raise RuntimeError("every configuration failed in the warm-up")

    times = {(v, c): [] for v in VARIANTS for c in configs}
    names = list(VARIANTS)
    rounds = 0
    for r in range(sizes["repeats"]):
        round_start = time.perf_counter()
        for kind, precision in configs:
            X, y = data[kind]
            order = names[r % len(names):] + names[:r % len(names)]
            cells = []
            for v in order:
                durations, _ = VARIANTS[v](X, y, kind, sizes[kind], classes, precision,
                                           epochs, device, seed=r)
                times[v, (kind, precision)] += durations[1:]
                cells.append(f"{v} {np.median(durations[1:]):.4f} s")
            log(f"  round {r + 1} {kind:<4} {precision:>4}: " + ", ".join(cells))
        rounds += 1
        took = time.perf_counter() - round_start
        if r + 1 < sizes["repeats"] and time.perf_counter() + took > deadline:
            log(f"  stopping after {rounds} round(s): another would pass the time budget")
            break

    def med(v, c):
        return float(np.median(times[v, c]))

    mlp, conv = sizes["mlp"], sizes["conv"]
    log(f"\nMedian seconds per epoch ({rounds} round(s) x {epochs - 1} epochs), ratio to the "
        "hand loop of the same precision")
    log(f"  MLP: {mlp['rows']} x {mlp['features']}, hidden {mlp['hidden']}, batch "
        f"{mlp['batch']};  ConvNet: {conv['rows']} x {conv['shape']}, channels "
        f"{conv['channels']}, hidden {conv['hidden']}, batch {conv['batch']}")
    header = f"{'variant':<22}" + "".join(f"{k + ' ' + p:>22}" for k, p in configs)
    log(header)
    log("-" * len(header))
    for v in VARIANTS:
        log(f"{v:<22}" + "".join(
            f"{f'{med(v, c):9.4f} s ({med(v, c) / med(names[0], c):4.2f}x)':>22}"
            for c in configs))
    log("\nbf16 speed-up (float32 epoch time / bf16 epoch time)")
    pairs = [k for k in ("mlp", "conv") if (k, "32") in configs and (k, "bf16") in configs]
    for v in VARIANTS:
        log(f"{v:<22}" + "".join(f"{k:>8}: {med(v, (k, '32')) / med(v, (k, 'bf16')):5.2f}x"
                                 for k in pairs))
    log("'sktune, unfused Adam' runs the same Adam code as the hand loop (the cost of "
        "sktune's loop itself); 'sktune' is its default (fused Adam).")


# -- (b) concurrent fits -------------------------------------------------------------


def one_fit(X, y, cfg, device, cap, seed):
    """One small fit in a worker: its wall time and the device it ran on."""
    os.environ[WORKERS_ENV_VAR] = str(cap)  # read by sktune at each fit
    from sktune import NeuralNetClassifier
    start = time.perf_counter()
    clf = NeuralNetClassifier(hidden_layer_sizes=cfg["hidden"], batch_size=cfg["batch"],
                              epochs=cfg["epochs"], lr=LR, device=device, random_state=seed)
    clf.fit(X, y)
    return time.perf_counter() - start, str(clf.net_.device), os.getpid()


def warm_worker(device, pause):
    """A worker's first (tiny) fit: its torch, CUDA context and the lazy imports of a
    first fit (torch's first optimiser imports torch._dynamo: seconds) are then done."""
    from sktune import NeuralNetClassifier
    X = np.zeros((64, 4), dtype=np.float32)
    net = NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=1, device=device)
    net.fit(X, np.arange(64) % 2)
    time.sleep(pause)
    return os.getpid()


def part_concurrency(sizes, device, deadline):
    # joblib's loky process pool, used directly: joblib's Parallel(n_jobs=1) would run
    # in this process, so k=1 would not be one worker like the others.
    from joblib.externals.loky import get_reusable_executor

    cfg, n_fits = sizes["small"], sizes["n_fits"]
    X, y = generated(cfg["rows"], (cfg["features"],), sizes["classes"], seed=3)
    n_gpus = torch.cuda.device_count() if torch.device(device).type == "cuda" else 0
    log(f"\n(b) {n_fits} identical fits (MLP {cfg['rows']} x {cfg['features']}, hidden "
        f"{cfg['hidden']}, batch {cfg['batch']}, {cfg['epochs']} epochs) on {device}, k at "
        f"once in joblib's loky worker processes, {WORKERS_ENV_VAR}=k, 1 torch thread per fit")
    if n_gpus:
        log(f"  visible GPUs: {n_gpus} ("
            + ("the per-GPU cap applies" if n_gpus >= 2 else
               "sktune's per-GPU cap applies only with 2+ GPUs: every fit runs on this one")
            + ")")
    results = []
    previous = None
    executor = None
    for k in sizes["workers"]:
        if previous is not None and time.perf_counter() + 2.5 * previous > deadline:
            log(f"  k={k} skipped: it would pass the time budget")
            break
        os.environ[WORKERS_ENV_VAR] = str(k)
        # grows with k, keeping the warm workers; no idle timeout (loky's default of 10 s
        # would replace a worker left idle during the warm-up by a cold one later)
        executor = get_reusable_executor(max_workers=k, reuse=True, timeout=3600)
        start = time.perf_counter()
        pids = set()
        while len(pids) < k and time.perf_counter() - start < 120:  # until all k are warm
            pids |= set(executor.map(warm_worker, [device] * k, [0.5] * k))
        warm = time.perf_counter() - start
        start = time.perf_counter()
        futures = [executor.submit(one_fit, X, y, cfg, device, k, seed)
                   for seed in range(n_fits)]
        out = [f.result() for f in futures]
        wall = time.perf_counter() - start
        previous = wall
        fit_mean = float(np.mean([o[0] for o in out]))
        devices = sorted({o[1] for o in out})
        workers = len({o[2] for o in out})
        results.append((k, wall))
        log(f"  k={k}: {wall:7.2f} s wall, {n_fits / wall:6.2f} fits/s, "
            f"{n_fits * cfg['epochs'] * cfg['rows'] / wall:,.0f} samples/s, mean fit "
            f"{fit_mean:.2f} s, {workers} worker(s) ran fits (warm-up {warm:.1f} s, "
            f"{len(pids)} warmed), devices {devices}")
    if executor is not None:
        executor.shutdown(wait=True)
    if results:
        base = results[0][1]
        log(f"\n{'k':>3}{'wall s':>9}{'fits/s':>9}{'samples/s':>13}{'speed-up':>10}")
        for k, wall in results:
            log(f"{k:>3}{wall:>9.2f}{n_fits / wall:>9.2f}"
                f"{n_fits * cfg['epochs'] * cfg['rows'] / wall:>13,.0f}{base / wall:>9.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None,
                        help="'cuda' (default when available) or 'cpu' (smoke test)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--budget", type=float, default=210.0,
                        help="total seconds to aim for (default 210)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="(a): interleaved rounds (default 3; 1 with --quick)")
    parser.add_argument("--part", choices=["epochs", "concurrency", "all"], default="all")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    if args.device is None:
        if not torch.cuda.is_available():
            log("no CUDA device: nothing measured; run with --device cpu --quick for a "
                "smoke test")
            return 0
        args.device = "cuda"
    device = args.device
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        log(f"--device {device} but torch sees no CUDA device; nothing measured")
        return 0
    sizes = dict(SIZES["quick" if args.quick else "full"])
    if args.repeats is not None:
        sizes["repeats"] = args.repeats
    torch.set_num_threads(1)  # as sktune's fits (one torch thread each)

    import sktune
    log(f"torch {torch.__version__}, sktune {sktune.__version__}, python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, device {device}"
        + (f" ({torch.cuda.get_device_name()}, CUDA {torch.version.cuda})"
           if torch.device(device).type == "cuda" else "")
        + f", budget {args.budget:.0f} s")
    status = 0
    if args.part in ("epochs", "all"):
        # (a) gets about 60% of the budget, (b) the rest
        share = 0.6 if args.part == "all" else 1.0
        try:
            part_epochs(sizes, device, t0 + share * args.budget)
        except Exception:  # a failure of (a) still lets (b) run
            log("(a) FAILED:\n" + traceback.format_exc())
            status = 1
        if torch.device(device).type == "cuda":
            torch.cuda.empty_cache()
    if args.part in ("concurrency", "all"):
        try:
            part_concurrency(sizes, device, t0 + args.budget)
        except Exception:
            log("(b) FAILED:\n" + traceback.format_exc())
            status = 1
    log(f"\ntotal {time.perf_counter() - t0:.1f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
