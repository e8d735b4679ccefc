"""Large pretrained networks in a search: overhead, memory and speed-up (issue 29).

Issue "Large networks in a search". Two pretrained modules (random weights:
their sizes matter, not their values), each defined at module level here with
a ``body`` and a ``head`` (an ``nn.Linear``), so that ``freeze="body"``
freezes everything but the head:

- ``mlp34m`` (:class:`BigMLP`): ``body = Sequential(Linear(256, 4096), ReLU,
  Linear(4096, 4096), ReLU, Linear(4096, 4096), ReLU)``, ``head =
  Linear(4096, 5)``: 34.6M parameters, 139 MB (132 MiB) of float32. Inputs:
  256 float32 features (standard normal), 5 balanced classes, ``--rows`` rows
  (default 3,000: a fit on 2/3 of them, one epoch of batches of 100, takes
  ~2.4 s on one thread of the 2-core machine, per the issue; 300 rows give
  ~0.26 s fits).
- ``encoder85m`` (:class:`BigEncoder`): BERT-base sized. ``body`` = token
  embedding (vocab 1,000) + learned positions (32 steps) + a
  ``torch.nn.TransformerEncoder`` of 12 layers (d_model 768, 12 heads,
  feed-forward 3,072, GELU, dropout 0.1, ``batch_first=True``) + the mean
  over the steps; ``head = Linear(768, 5)``. 85.1M parameters without the
  embedding (85.8M with it, 343 MB). It has a ``vocab_size`` attribute, so
  sktune feeds it int64 token ids (uniform in [0, 1000), 32 per row);
  ``--encoder-rows`` rows (default 60: the encoder is ~300x the MLP's work per
  row).

Each module is searched two ways: ``frozen`` (``freeze="body"``: only the
head trains) and ``full`` (``freeze=None``: every parameter trains). The
estimator is ``NeuralNetClassifier(module=<the instance>, freeze=...,
reinit_head="head", epochs=1, batch_size=100, alpha=1e-4, device=--device,
random_state=0)`` (sktune's defaults otherwise: Adam, one torch thread per
fit), searched by ``BayesSearchCV({"lr": Real(1e-4, 1e-1, "log-uniform")},
n_iter=6, cv=3, refit=False, random_state=0)`` (6 candidates x 3 stratified
folds; ``refit=False``: only the search is timed) at each ``--n-jobs``.

Backends (``--backends``, one or more of ``loky`` (default) and ``ray``): the
joblib backend the search's workers run under. ``loky`` is joblib's default
(sktune's local process pool). ``ray``: the search runs inside
``joblib.parallel_config(backend="ray")`` (``ray.util.joblib.register_ray()``)
on a local Ray instance that the child process starts itself,
``ray.init(address="local", num_cpus=n_jobs, include_dashboard=False,
log_to_driver=False)`` (``address="local"``: always a new instance, never one
already running on the machine); sktune's Ray pool then runs every fit as a
Ray task of one CPU, the data and the module going through Ray's object store.
With ``n_jobs=1`` no pool is used whatever the backend (the fits run in the
search's own process), so ``n_jobs=1`` runs once, as ``loky`` (also with
``--backends ray`` alone: it is the speed-up's reference), and ``ray`` runs
only at ``n_jobs > 1``. On ``--device cuda`` the Ray child sets
``RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES=1`` so that Ray does not hide
the GPU from tasks that ask for no GPU (not checked on a GPU).

Every (model, mode, n_jobs, backend) search runs in a fresh Python process
(``python bench_large.py --worker ...``, which prints one JSON line), so
neither memory nor warm workers leak from one run into the next. In that
process, in order:

0. ``ray`` only: ``ray.init`` as above (its seconds are reported as part of
   the warm-up). All of Ray's processes (``gcs_server``, ``raylet``, the
   dashboard, monitor and runtime-env agents, and the ``ray::`` workers, which
   are the raylet's children) are then descendants of the child process
   (checked with psutil on Ray 2.60: ``ray.init`` starts them with
   ``subprocess``, none is detached), so the memory sums below include them,
   and Ray's object store (shared memory mapped by the raylet and the
   workers) with them; the child reports how many of its Ray processes
   (those whose command line names Ray, in its session) are not descendants:
   0 expected, any such is noted under the table;
1. a tiny sktune fit (so the one-time costs of a process's first fit, e.g.
   torch importing ``torch._dynamo`` on the first optimiser, are paid before
   anything is measured); with ``n_jobs > 1``, joblib's loky pool is started
   with ``n_jobs`` workers (``ray``: ``n_jobs`` Ray tasks of one CPU run at
   once, on ``n_jobs`` distinct Ray workers), each of which imports torch and
   sktune and does the same tiny fit (the search then reuses these warm
   workers; the child reports how many worker processes appeared during the
   search: 0 expected, and the CPU seconds its descendants used during the
   search, printed for ``ray``: the fits' work runs there, not in the child);
2. the data and the pretrained module are built; the module's size is the
   sum of its parameters' ``numel * element_size``;
3. *baseline*: the median of 5 samples (0.05 s apart) of the total PSS
   (proportional set size, ``psutil.Process.memory_full_info().pss``: shared
   pages split between the processes sharing them, so the sum over processes
   counts each page once) over this process and all its descendants (the loky
   workers, joblib's resource tracker; with ``ray``, Ray's processes of step
   0); it holds one copy of the module (in the search process), the data, and
   the idle workers' own memory (with ``ray``, Ray's own processes too: a
   larger base);
4. ``search.fit`` is timed (*wall*) while a background thread samples the
   same total every ``--sample-every`` seconds (default 0.1) or more: reading
   a PSS walks the process's page tables (~8 ms per GB resident), so the
   wait is stretched to keep the sampler under ``--sampler-share`` (default
   5 %) of one core (with 3 processes of ~1 GB, a sample every ~0.5 s). The
   descendants are listed again every 0.5 s and whenever one has gone;
   processes that disappear between listing and reading are skipped. *peak*
   is the largest sample (the last one is taken just after the fit). The
   sampler's own CPU time and its samples are reported (at the end: its
   largest share of a wall, its mean interval).
5. the child returns the search's ``cv_results_["mean_test_score"]`` (a list)
   with its measures; with ``ray`` it then calls ``ray.shutdown()``.

Columns of the final table (medians over ``--repeats``):

- ``backend``: ``loky`` or ``ray`` (see above);
- ``wall``: seconds of ``search.fit``;
- ``fit``: mean seconds of one fit (``mean_fit_time`` over all rows);
- ``fits+sc``: the fits' and scorings' own times, summed:
  ``sum((mean_fit_time + mean_score_time) * n_splits_)`` (work seconds, as
  the workers measured them; a fit's time includes sktune's deep copy of the
  module that every fit starts from);
- ``opt``: ``search.optimizer_time_`` (proposing candidates);
- ``ovh %``: search overhead, ``wall - fits+sc / n_jobs - opt``, as a share of
  ``wall``. At ``n_jobs=1`` this is exactly the time outside fits, scorings
  and the optimiser (cloning the estimator, pickling, bookkeeping); at
  ``n_jobs > 1`` it is the wall beyond a perfect spread of the work over the
  workers (it includes idle workers and sending the estimator to them).
  Target: <= 10 % at ``n_jobs=1``;
- ``base GB``, ``peak GB``: total PSS before and during the fit (step 3, 4);
- ``peak/model``: ``(peak - (base - model)) / model``: the peak in copies of
  the module, on top of what the processes take without the module
  (``base - model``: the baseline less the one copy the search process
  holds). Target for ``frozen`` at ``n_jobs=2``: <= 2 (peak <= 2 x model +
  the processes' memory without the model);
- ``speed-up``: ``wall`` at ``n_jobs=1`` / ``wall`` (same model and mode).
  Target: >= 1.6x at ``n_jobs=2`` when one fit takes >= 2 s.

Ray pool (``--backends loky ray``): for each model, mode and ``n_jobs > 1``
run under both, the ratio of the walls ray / loky (medians) and whether the
searches found the same scores: ``numpy.array_equal`` of the two runs'
``mean_test_score`` (NaN equal to NaN), for every repeat (repeat i's ray run
against repeat i's loky run). Target: at ``n_jobs=2``, Ray's wall within 2x
of the local (loky) pool's on the same search, results equal.

Hand-written loop (``frozen`` only, one fresh process per model, one torch
thread as sktune's fits): the honest baseline for the overhead. For each of
the 6 learning rates (log-spaced over the search's range) and each of the
same 3 stratified folds: a fresh ``Linear`` head (seeded), Adam at that rate
(weight decay 1e-4 on the weight, as sktune's ``alpha``), one epoch over the
training fold in shuffled batches spread evenly as sktune does (``ceil(n /
100)`` batches), each batch through the frozen body under ``no_grad`` (the
body in train mode, as sktune's fit has it) then the head; then the held-out
fold is predicted in batches of 100 and scored. Nothing is copied: the
pretrained body is used in place. Memory is measured as for the searches.
Printed: its wall and the ratio search wall (``n_jobs=1``) / loop wall.

On ``--device cuda`` the estimators and the loop run on the GPU; the memory
columns are then host memory only (GPU memory is not measured).

Usage::

    python benchmarks/bench_large.py                    # both models, both modes, n_jobs 1 2
    python benchmarks/bench_large.py --models mlp34m --modes frozen --rows 300
    python benchmarks/bench_large.py --device cuda --repeats 3
    python benchmarks/bench_large.py --models mlp34m --modes frozen --backends loky ray
    python benchmarks/bench_large.py --quick            # tiny models: a smoke run (~1-2 min)
    python benchmarks/bench_large.py --quick --backends loky ray   # + Ray (~3-4 min)
    python benchmarks/bench_large.py --part accumulation   # micro-batches (fits that survive)
    python benchmarks/bench_large.py --part resume --checkpoint-every 3   # kill -9 mid-fit
    python benchmarks/bench_large.py --part states --checkpoint-every 3   # cost of saving

``--part accumulation|resume|states``: the measurements of the issue "Fits
that survive" (gradient accumulation, resuming a fit killed mid-training, the
cost of saving fit states); what each measures is in
``benchmarks/_fit_survival.py``.

``--quick`` uses tiny modules of the same structure (MLP hidden 256;
encoder of 2 layers, d_model 64, 4 heads, feed-forward 256), 60 rows and 2
candidates x 2 folds; its numbers mean nothing. Run the full benchmark on an
otherwise idle machine (it prints the load average at the start and the end).
On 2 cores a full run should take roughly 10-20 minutes (an estimate from the
networks' sizes, not a measurement); ``--models`` and ``--modes`` run parts.
"""

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import numpy as np
import psutil
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _fit_survival  # noqa: E402 - the parts on fits that survive (accumulation, resume)

N_FEATURES, N_CLASSES, BATCH, ALPHA = 256, 5, 100, 1e-4
LR_RANGE = (1e-4, 1e-1)
SIZES = {  # full size, and --quick
    "mlp34m": {"full": dict(hidden=4096, depth=3), "quick": dict(hidden=256, depth=3)},
    "encoder85m": {"full": dict(vocab_size=1000, seq_len=32, d_model=768, n_heads=12,
                                d_ff=3072, n_layers=12),
                   "quick": dict(vocab_size=1000, seq_len=32, d_model=64, n_heads=4, d_ff=256,
                                 n_layers=2)},
}
MODES = {"frozen": "body", "full": None}


# ---------------------------------------------------------------------------------------
# The pretrained modules (module level: loky workers unpickle them; defined in
# __main__, cloudpickle sends them by value)
# ---------------------------------------------------------------------------------------


class BigMLP(nn.Module):
    """``body``: ``depth`` x (Linear, ReLU) of width ``hidden``; ``head``: Linear to the classes."""

    def __init__(self, n_features=N_FEATURES, n_classes=N_CLASSES, hidden=4096, depth=3):
        super().__init__()
        layers, width = [], n_features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_classes)

    def forward(self, X):
        return self.head(self.body(X))


class EncoderBody(nn.Module):
    """Token embedding + learned positions + TransformerEncoder, averaged over the steps."""

    def __init__(self, vocab_size, seq_len, d_model, n_heads, d_ff, n_layers):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.position = nn.Embedding(seq_len, d_model)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, d_ff, dropout=0.1,
                                           activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)

    def forward(self, X):
        steps = torch.arange(X.shape[1], device=X.device)
        return self.encoder(self.embedding(X) + self.position(steps)).mean(dim=1)


class BigEncoder(nn.Module):
    """BERT-like classifier over int64 token ids (``vocab_size`` tells sktune so)."""

    def __init__(self, n_classes=N_CLASSES, vocab_size=1000, seq_len=32, d_model=768,
                 n_heads=12, d_ff=3072, n_layers=12):
        super().__init__()
        self.vocab_size = vocab_size
        self.seq_len = seq_len
        self.body = EncoderBody(vocab_size, seq_len, d_model, n_heads, d_ff, n_layers)
        self.head = nn.Linear(d_model, n_classes)

    def forward(self, X):
        return self.head(self.body(X))


def _build(model, quick, seed=0):
    torch.manual_seed(seed)
    size = SIZES[model]["quick" if quick else "full"]
    return BigMLP(**size) if model == "mlp34m" else BigEncoder(**size)


def _data(model, rows, quick):
    rng = np.random.default_rng(0)
    y = rng.permutation(np.arange(rows) % N_CLASSES)
    if model == "mlp34m":
        X = rng.standard_normal((rows, N_FEATURES)).astype(np.float32)
    else:
        size = SIZES[model]["quick" if quick else "full"]
        X = rng.integers(0, size["vocab_size"], (rows, size["seq_len"]), dtype=np.int64)
    return X, y


def _model_bytes(module):
    return sum(p.numel() * p.element_size() for p in module.parameters())


def _n_params(module, skip=()):
    return sum(p.numel() for name, p in module.named_parameters()
               if not any(name.startswith(s) for s in skip))


# ---------------------------------------------------------------------------------------
# Memory: total PSS of this process and its descendants
# ---------------------------------------------------------------------------------------


def _tree():
    """This process and all its descendants (``psutil.Process`` objects)."""
    me = psutil.Process()
    try:
        return [me] + me.children(recursive=True)
    except psutil.Error:
        return [me]


def _pss(procs):
    """``(total PSS in bytes, pids read)`` of ``procs``; those gone are skipped."""
    total, pids = 0, []
    for p in procs:
        try:
            total += p.memory_full_info().pss
            pids.append(p.pid)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue  # gone (or going) between listing and reading
    return total, pids


def _tree_pss():
    """``(total PSS in bytes, pids)`` of this process and all its descendants."""
    return _pss(_tree())


class PssSampler(threading.Thread):
    """Samples the total PSS of the process tree until :meth:`stop`.

    Reading a process's PSS walks its page tables (~8 ms per GB resident), so
    the wait between two samples is ``every`` seconds or longer: at least
    ``(1 - share) / share`` times the last sample's own CPU time, so that the
    sampler takes at most ``share`` of one core. Listing the descendants (a
    scan of /proc) is redone every ``relist`` seconds and whenever a process
    has gone.
    """

    def __init__(self, every, share=0.05, relist=0.5):
        super().__init__(daemon=True)
        self.every = every
        self.share = share
        self.relist = relist
        self.peak = 0
        self.n = 0
        self.pids = set()
        self.cpu = 0.0
        self._stop_event = threading.Event()

    def run(self):
        start = time.thread_time()
        procs, listed = _tree(), time.monotonic()
        while True:
            tick = time.thread_time()
            total, pids = _pss(procs)
            if len(pids) < len(procs):  # one has gone: list again, read again
                procs, listed = _tree(), time.monotonic()
                total, pids = _pss(procs)
            self.peak = max(self.peak, total)
            self.pids.update(pids)
            self.n += 1
            cost = time.thread_time() - tick
            if self._stop_event.wait(max(self.every, cost * (1 - self.share) / self.share)):
                break
            if time.monotonic() - listed >= self.relist:
                procs, listed = _tree(), time.monotonic()
        self.cpu = time.thread_time() - start

    def stop(self):
        self._stop_event.set()
        self.join()
        total, pids = _tree_pss()  # one last sample, after the fit
        self.peak = max(self.peak, total)
        self.pids.update(pids)
        return self


def _descendants_cpu():
    """``{pid: user + system CPU seconds}`` of this process's descendants (alive now)."""
    out = {}
    for p in _tree()[1:]:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except psutil.Error:
            continue
    return out


def _baseline():
    gc.collect()
    samples, pids = [], set()
    for _ in range(5):
        total, now = _tree_pss()
        samples.append(total)
        pids.update(now)
        time.sleep(0.05)
    return statistics.median(samples), pids


# ---------------------------------------------------------------------------------------
# Children: one search, or the hand-written loop
# ---------------------------------------------------------------------------------------


def _warm_task(device, seconds):
    """In a loky worker (or here): the imports and first fit of a process."""
    import sklearn.model_selection  # noqa: F401

    import sktune.search  # noqa: F401
    from sktune import NeuralNetClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4)).astype(np.float32)
    NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=1, device=device).fit(X, np.arange(40) % 2)
    time.sleep(seconds)  # so that the other tasks land on the other workers
    return os.getpid()


def _warm_pool(n_jobs, device):
    """Start joblib's loky pool with ``n_jobs`` warm workers; returns their number."""
    from joblib import Parallel, delayed

    pids = set()
    for _ in range(5):
        pids = set(Parallel(n_jobs=n_jobs)(delayed(_warm_task)(device, 0.5)
                                           for _ in range(n_jobs)))
        if len(pids) == n_jobs:
            break
    return len(pids)


def _start_ray(n_jobs, device):
    """A new local Ray instance of ``n_jobs`` CPUs, started by (under) this process."""
    import ray

    if device == "cuda":  # Ray hides the GPUs from tasks that ask for none, unless told
        os.environ["RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES"] = "1"
    ray.init(address="local", num_cpus=n_jobs, include_dashboard=False, log_to_driver=False)
    from ray.util.joblib import register_ray

    register_ray()


def _ray_outside_tree():
    """Ray processes of this session (``os.getsid``) that are not this process's
    descendants (nor its ancestors): 0 expected, ``ray.init`` starts them all below."""
    mine = {p.pid for p in _tree()}
    up = {p.pid for p in psutil.Process().parents()}
    sid, n = os.getsid(0), 0
    for p in psutil.process_iter(["name", "cmdline"]):
        if p.pid in mine or p.pid in up:
            continue
        try:
            if os.getsid(p.pid) != sid:
                continue
        except OSError:
            continue
        text = " ".join([p.info["name"] or ""] + (p.info["cmdline"] or []))
        if "ray" in text.lower():
            n += 1
    return n


def _warm_ray(n_jobs, device):
    """``n_jobs`` warm Ray workers (as :func:`_warm_pool`); returns their number."""
    import ray

    task = ray.remote(num_cpus=1)(_warm_task)
    pids = set()
    for _ in range(5):
        pids = set(ray.get([task.remote(device, 0.5) for _ in range(n_jobs)]))
        if len(pids) == n_jobs:
            break
    return len(pids)


def _child_search(spec):
    backend = spec.get("backend", "loky")
    if backend != "ray":
        return _search(spec)
    import ray

    tick = time.perf_counter()
    _start_ray(spec["n_jobs"], spec["device"])
    try:
        return _search(spec, ray_init_s=time.perf_counter() - tick)
    finally:
        ray.shutdown()


def _search(spec, ray_init_s=0.0):
    from joblib import parallel_config

    from sktune import BayesSearchCV, NeuralNetClassifier
    from sktune.space import Real

    n_jobs, device = spec["n_jobs"], spec["device"]
    backend = spec.get("backend", "loky")
    tick = time.perf_counter()
    _warm_task(device, 0.0)
    if n_jobs > 1:
        warm_workers = (_warm_ray if backend == "ray" else _warm_pool)(n_jobs, device)
    else:
        warm_workers = 0
    warm_s = time.perf_counter() - tick + ray_init_s
    ray_outside = _ray_outside_tree() if backend == "ray" else 0

    X, y = _data(spec["model"], spec["rows"], spec["quick"])
    module = _build(spec["model"], spec["quick"])
    est = NeuralNetClassifier(module=module, freeze=MODES[spec["mode"]], reinit_head="head",
                              epochs=1, batch_size=BATCH, alpha=ALPHA, device=device,
                              random_state=0)
    search = BayesSearchCV(est, {"lr": Real(*LR_RANGE, prior="log-uniform")},
                           n_iter=spec["n_iter"], cv=spec["folds"], n_jobs=n_jobs,
                           refit=False, random_state=0)

    base, base_pids = _baseline()
    cpu_before = _descendants_cpu()
    with parallel_config(backend=backend):
        sampler = PssSampler(spec["sample_every"], spec["sampler_share"])
        sampler.start()
        tick = time.perf_counter()
        search.fit(X, y)
        wall = time.perf_counter() - tick
        sampler.stop()
    cpu_after = _descendants_cpu()
    workers_cpu = sum(t - cpu_before.get(pid, 0.0) for pid, t in cpu_after.items())

    r = search.cv_results_
    n_splits = search.n_splits_
    fit_times = np.asarray(r["mean_fit_time"], dtype=float)
    fits = float(np.sum(fit_times * n_splits))
    scores = float(np.sum(np.asarray(r["mean_score_time"], dtype=float) * n_splits))
    opt = float(getattr(search, "optimizer_time_", 0.0))
    overhead = wall - (fits + scores) / n_jobs - opt
    model_bytes = _model_bytes(module)
    return {
        "kind": "search", "model": spec["model"], "mode": spec["mode"], "n_jobs": n_jobs,
        "backend": backend, "wall": wall, "fit": float(np.mean(fit_times)), "fits": fits,
        "scores": scores,
        "fits_scores": fits + scores, "opt": opt, "overhead": overhead,
        "overhead_share": overhead / wall,
        "n_fits": int(len(fit_times) * n_splits),
        "failed_fits": int(np.sum(~np.isfinite(np.asarray(r["mean_test_score"], dtype=float)))),
        "best_score": float(np.nanmax(np.asarray(r["mean_test_score"], dtype=float))),
        "model_bytes": model_bytes, "n_params": _n_params(module),
        "n_params_no_embedding": _n_params(module, skip=("body.embedding",)),
        "base": base, "peak": sampler.peak, "rise": sampler.peak - base,
        "peak_per_model": (sampler.peak - (base - model_bytes)) / model_bytes,
        "warm_workers": warm_workers, "warm_s": warm_s, "ray_init_s": ray_init_s,
        "ray_outside_tree": ray_outside, "processes": len(base_pids),
        "descendants_cpu_s": workers_cpu,
        "new_processes": len(sampler.pids - base_pids), "samples": sampler.n,
        "sampler_cpu_s": sampler.cpu,
        "mean_test_score": [float(v) for v in r["mean_test_score"]],
    }


def _even_batches(n, batch_size):
    """``ceil(n / batch_size)`` batches of near-equal size (as sktune spreads an epoch)."""
    k = max(1, -(-n // batch_size))
    bounds = np.linspace(0, n, k + 1).round().astype(int)
    return list(zip(bounds[:-1], bounds[1:]))


def _child_loop(spec):
    """The hand-written loop: a fresh head per (lr, fold) on the frozen body, in place."""
    from sklearn.model_selection import StratifiedKFold

    device = spec["device"]
    torch.set_num_threads(1)  # as sktune's fits (one torch thread each)
    X_np, y_np = _data(spec["model"], spec["rows"], spec["quick"])
    module = _build(spec["model"], spec["quick"]).to(device)
    for p in module.body.parameters():
        p.requires_grad_(False)
    X = torch.as_tensor(X_np, device=device)
    y = torch.as_tensor(y_np, device=device)
    lrs = np.geomspace(*LR_RANGE, spec["n_iter"])
    folds = list(StratifiedKFold(spec["folds"]).split(X_np, y_np))
    head_in = module.head.in_features
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)

    def one(lr, train, test, seed):  # one (candidate, fold)
        torch.manual_seed(seed)
        head = nn.Linear(head_in, N_CLASSES).to(device)
        opt = torch.optim.Adam([{"params": [head.weight], "weight_decay": ALPHA},
                                {"params": [head.bias], "weight_decay": 0.0}], lr=float(lr))
        train_t = torch.as_tensor(train, device=device)
        order = train_t[torch.randperm(len(train), generator=gen).to(device)]
        module.train()
        for a, b in _even_batches(len(order), BATCH):
            idx = order[a:b]
            with torch.no_grad():
                features = module.body(X[idx])
            loss = loss_fn(head(features), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        module.eval()
        correct = 0
        with torch.no_grad():
            test_t = torch.as_tensor(test, device=device)
            for a, b in _even_batches(len(test_t), BATCH):
                idx = test_t[a:b]
                correct += int((head(module.body(X[idx])).argmax(1) == y[idx]).sum())
        return correct / len(test)

    # warm-up: the process's first optimiser step and forward, on a few rows
    one(1e-3, folds[0][0][:8], folds[0][1][:8], 0)

    base, base_pids = _baseline()
    sampler = PssSampler(spec["sample_every"], spec["sampler_share"])
    sampler.start()
    tick = time.perf_counter()
    accs = [one(lr, train, test, i) for i, lr in enumerate(lrs) for train, test in folds]
    wall = time.perf_counter() - tick
    sampler.stop()
    model_bytes = _model_bytes(module)
    return {"kind": "loop", "model": spec["model"], "mode": "frozen", "n_jobs": 1,
            "wall": wall, "best_score": float(max(accs)), "model_bytes": model_bytes,
            "base": base, "peak": sampler.peak, "rise": sampler.peak - base,
            "peak_per_model": (sampler.peak - (base - model_bytes)) / model_bytes,
            "samples": sampler.n, "sampler_cpu_s": sampler.cpu}


def _worker(payload):
    spec = json.loads(payload)
    if spec["kind"] in _fit_survival.CHILDREN:
        print(json.dumps(_fit_survival.CHILDREN[spec["kind"]](spec, sys.modules[__name__])),
              flush=True)
        return
    out = _child_loop(spec) if spec["kind"] == "loop" else _child_search(spec)
    print(json.dumps(out), flush=True)


def _in_fresh_process(spec):
    result = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker",
                             json.dumps(spec)], capture_output=True, text=True, check=False)
    lines = [line for line in result.stdout.strip().splitlines() if line.startswith("{")]
    if result.returncode or not lines:
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        return {"error": f"exit {result.returncode}:\n{tail}"}
    return json.loads(lines[-1])  # the last JSON line (anything else printed is skipped)


# ---------------------------------------------------------------------------------------
# The parent: runs the children, prints the table
# ---------------------------------------------------------------------------------------


def _load():
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _median(results):
    """Medians of the numeric entries of the runs that did not fail (None if all failed)."""
    ok = [r for r in results if "error" not in r]
    if not ok:
        return None
    out = dict(ok[0])
    for key, value in ok[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = statistics.median(r[key] for r in ok)
    return out


def _gb(x):
    return x / 1e9


def _ray_vs_loky(runs, med, key):
    """The Ray pool's target line: wall ray / loky (medians), results equal."""
    ray_m, loky_m = med.get(key + ("ray",)), med.get(key + ("loky",))
    if ray_m is None:
        return "Ray pool: failed"
    if loky_m is None:
        return "Ray pool: n/a (no loky run at this n_jobs)"
    pairs = [(r, lk) for r, lk in zip(runs[key + ("ray",)], runs[key + ("loky",)])
             if "error" not in r and "error" not in lk]
    equal = bool(pairs) and all(
        np.array_equal(np.asarray(r["mean_test_score"], dtype=float),
                       np.asarray(lk["mean_test_score"], dtype=float), equal_nan=True)
        for r, lk in pairs)
    ratio = ray_m["wall"] / loky_m["wall"]
    ok = ratio <= 2.0 and equal
    head = ("Ray pool: wall within 2x of local n_jobs=2 on the same search, results equal"
            if key[3] == 2 else "Ray pool vs local pool")
    target = f"; target: {'yes' if ok else 'NO'}" if key[3] == 2 else ""
    return (f"{head}: wall ray/loky {ratio:.2f} ({ray_m['wall']:.2f} s / "
            f"{loky_m['wall']:.2f} s), results equal: {'yes' if equal else 'NO'} "
            f"({len(pairs)} pair(s) of runs){target}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument("--n-jobs", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--rows", type=int, default=None,
                        help="rows of mlp34m's data (default 3000; 60 with --quick)")
    parser.add_argument("--encoder-rows", type=int, default=None,
                        help="rows of encoder85m's data (default 60; 60 with --quick)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--backends", nargs="+", choices=["loky", "ray"], default=["loky"],
                        help="joblib backends of the searches' workers (ray: a local Ray "
                             "instance per search, n_jobs > 1 only; n_jobs=1 runs once, "
                             "without a pool)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs of every search, interleaved; medians are printed")
    parser.add_argument("--sample-every", type=float, default=0.1,
                        help="seconds between two memory samples, at least")
    parser.add_argument("--sampler-share", type=float, default=0.05,
                        help="the memory sampler's CPU time, at most, as a share of one core "
                             "(stretches the interval)")
    parser.add_argument("--no-loop", action="store_true",
                        help="skip the hand-written loop baseline")
    parser.add_argument("--quick", action="store_true",
                        help="tiny modules, 60 rows, 2 candidates x 2 folds: a smoke run")
    parser.add_argument("--part", choices=["search", *_fit_survival.PARTS], default="search",
                        help="search (default): searches of large networks; accumulation, "
                             "resume, states: fits that survive (see benchmarks/_fit_survival.py)")
    parser.add_argument("--checkpoint-every", type=float, default=3.0,
                        help="checkpoint_every of the resume and states parts (seconds)")
    parser.add_argument("--repeats-parts", type=int, default=3,
                        help="runs of each measurement of the accumulation and states parts")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.worker)
    if args.part != "search":
        print(f"load average at start: {_load()}  (cores: {os.cpu_count()}, torch "
              f"{torch.__version__}, device {args.device})")
        tick = time.perf_counter()
        _fit_survival.PARTS[args.part](args, os.path.abspath(__file__),
                                       {"quick": args.quick, "device": args.device})
        print(f"load average at the end: {_load()}; total {time.perf_counter() - tick:.0f} s")
        return 0

    n_jobs_list = sorted(set(args.n_jobs))
    backends = [b for b in ("loky", "ray") if b in args.backends]
    # (n_jobs, backend) of the searches: n_jobs=1 uses no pool, so it runs once (as loky)
    plan = [(n_jobs, b) for n_jobs in n_jobs_list for b in backends if n_jobs > 1]
    if 1 in n_jobs_list:
        plan.insert(0, (1, "loky"))
    n_iter, folds = (2, 2) if args.quick else (6, 3)
    rows = {"mlp34m": args.rows or (60 if args.quick else 3000),
            "encoder85m": args.encoder_rows or 60}
    start = time.perf_counter()
    quick = ", QUICK: tiny models, numbers mean nothing" if args.quick else ""
    print(f"load average at start: {_load()}  (cores: {os.cpu_count()}, torch "
          f"{torch.__version__}, device {args.device}{quick})")
    print(f"BayesSearchCV over lr, {n_iter} candidates x {folds} folds, 1 epoch, batch {BATCH}; "
          f"backends {' '.join(backends)}; every search in a fresh process", flush=True)

    specs = []
    for model in args.models:
        for mode in args.modes:
            for n_jobs, backend in plan:
                specs.append({"kind": "search", "model": model, "mode": mode, "n_jobs": n_jobs,
                              "backend": backend})
        if "frozen" in args.modes and not args.no_loop:
            specs.append({"kind": "loop", "model": model, "mode": "frozen", "n_jobs": 1,
                          "backend": "-"})
    common = {"device": args.device, "quick": args.quick, "n_iter": n_iter, "folds": folds,
              "sample_every": args.sample_every, "sampler_share": args.sampler_share}
    runs = {}
    for rep in range(args.repeats):  # interleaved, so that load changes hit all alike
        for spec in specs:
            key = (spec["kind"], spec["model"], spec["mode"], spec["n_jobs"], spec["backend"])
            tick = time.perf_counter()
            out = _in_fresh_process({**spec, **common, "rows": rows[spec["model"]]})
            runs.setdefault(key, []).append(out)
            status = ("FAILED" if "error" in out else f"wall {out['wall']:.2f} s")
            print(f"  [{rep + 1}/{args.repeats}] {spec['kind']:<6} {spec['model']:<10} "
                  f"{spec['mode']:<6} {spec['backend']:<4} n_jobs={spec['n_jobs']}: {status} "
                  f"(process {time.perf_counter() - tick:.1f} s)", flush=True)
            if "error" in out:
                print("    " + out["error"].replace("\n", "\n    "), flush=True)
    med = {key: _median(results) for key, results in runs.items()}

    print()
    for model in args.models:
        info = next((m for k, m in med.items() if m and k[1] == model and k[0] == "search"),
                    None)
        if info:
            print(f"{model}: {info['n_params'] / 1e6:.1f}M parameters "
                  f"({info['n_params_no_embedding'] / 1e6:.1f}M without the embedding), "
                  f"{info['model_bytes'] / 1e6:.0f} MB; {rows[model]} rows")

    print(f"\nmedians of {args.repeats} run(s). backend = the joblib backend (n_jobs=1: no "
          "pool); wall = search.fit; fit = mean time of one fit; "
          "fits+sc = sum of fit and score times; opt = optimizer_time_; ovh % = (wall - "
          "fits+sc / n_jobs - opt) / wall; base/peak GB = total PSS of the process tree "
          "before / at most during the fit; peak/model = (peak - (base - model)) / model; "
          "speed-up = wall(n_jobs=1) / wall")
    header = (f"  {'model':<10} {'mode':<6} {'backend':<7} {'n_jobs':>6} {'wall s':>8} "
              f"{'fit s':>7} "
              f"{'fits+sc s':>9} {'opt s':>6} {'ovh %':>6} {'base GB':>7} {'peak GB':>7} "
              f"{'peak/model':>10} {'speed-up':>8}")
    print(header)
    print("  " + "-" * (len(header) - 2))
    for model in args.models:
        for mode in args.modes:
            one = med.get(("search", model, mode, 1, "loky"))
            for n_jobs, backend in plan:
                m = med.get(("search", model, mode, n_jobs, backend))
                if m is None:
                    print(f"  {model:<10} {mode:<6} {backend:<7} {n_jobs:>6}   failed")
                    continue
                speed = f"{one['wall'] / m['wall']:7.2f}x" if one else "      -"
                print(f"  {model:<10} {mode:<6} {backend:<7} {n_jobs:>6} {m['wall']:8.2f} "
                      f"{m['fit']:7.2f} "
                      f"{m['fits_scores']:9.2f} {m['opt']:6.2f} {100 * m['overhead_share']:6.1f} "
                      f"{_gb(m['base']):7.2f} {_gb(m['peak']):7.2f} "
                      f"{m['peak_per_model']:10.2f} {speed:>8}")
                notes = []
                if m["failed_fits"]:
                    notes.append(f"{m['failed_fits']} candidates with failed fits")
                if m["new_processes"]:
                    notes.append(f"{m['new_processes']} new processes during the fit")
                if m["n_jobs"] > 1 and m["warm_workers"] != n_jobs:
                    notes.append(f"only {m['warm_workers']} warm workers")
                if backend == "ray":
                    notes.append(f"ray.init {m['ray_init_s']:.1f} s; {m['processes']} "
                                 "processes in the tree; their CPU during the fit "
                                 f"{m['descendants_cpu_s']:.2f} s")
                if m.get("ray_outside_tree"):
                    notes.append(f"{m['ray_outside_tree']} Ray processes outside the tree "
                                 "(not in the memory sums)")
                if notes:
                    print(f"  {'':<10} {'':<6} {'':<7} {'':>6}   ({'; '.join(notes)})")

    loops = [(model, med.get(("loop", model, "frozen", 1, "-"))) for model in args.models
             if ("loop", model, "frozen", 1, "-") in med]
    if loops:
        print("\nhand-written loop (frozen body, fresh head per (lr, fold), nothing copied, "
              "1 thread) vs the frozen search at n_jobs=1:")
        for model, loop in loops:
            search = med.get(("search", model, "frozen", 1, "loky"))
            if loop is None:
                print(f"  {model:<10} loop failed")
                continue
            ratio = f"{search['wall'] / loop['wall']:.2f}x" if search else "-"
            print(f"  {model:<10} loop wall {loop['wall']:7.2f} s, peak {_gb(loop['peak']):.2f} GB "
                  f"(peak/model {loop['peak_per_model']:.2f}); search/loop wall: {ratio}")

    print("\ntargets (issue 29):")
    for model in args.models:
        for mode in args.modes:
            one = med.get(("search", model, mode, 1, "loky"))
            if one:
                ok = one["overhead_share"] <= 0.10
                print(f"  {model} {mode}: overhead at n_jobs=1 {100 * one['overhead_share']:.1f} % "
                      f"(<= 10 %): {'yes' if ok else 'NO'}")
            for n_jobs, backend in plan:
                m = med.get(("search", model, mode, n_jobs, backend))
                if m is None or n_jobs == 1:
                    continue
                if mode == "frozen" and n_jobs == 2:
                    ok = m["peak_per_model"] <= 2.0
                    print(f"  {model} frozen {backend} n_jobs=2: peak/model "
                          f"{m['peak_per_model']:.2f} (<= 2): {'yes' if ok else 'NO'}")
                if one and n_jobs == 2:
                    speed = one["wall"] / m["wall"]
                    if one["fit"] >= 2.0:
                        verdict = "yes" if speed >= 1.6 else "NO"
                    else:
                        verdict = f"n/a (one fit takes {one['fit']:.2f} s < 2 s)"
                    print(f"  {model} {mode} {backend} n_jobs=2: speed-up {speed:.2f}x "
                          f"(>= 1.6x): {verdict}")
            for n_jobs in n_jobs_list:  # Ray pool vs the local pool, same search
                key = ("search", model, mode, n_jobs)
                if n_jobs == 1 or key + ("ray",) not in runs:
                    continue
                print(f"  {model} {mode} n_jobs={n_jobs}: {_ray_vs_loky(runs, med, key)}")
    sampled = [m for m in med.values() if m]
    if sampled:
        share = sum(m["sampler_cpu_s"] for m in sampled) / sum(m["wall"] for m in sampled)
        worst = max(m["sampler_cpu_s"] / m["wall"] for m in sampled)
        interval = max(m["wall"] / m["samples"] for m in sampled)
        print(f"\nmemory sampler: CPU time {100 * share:.1f} % of the walls (at most "
              f"{100 * worst:.1f} % of one); mean interval between samples at most "
              f"{interval:.2f} s")
    print(f"load average at the end: {_load()}; total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
