"""The parts of ``bench_large.py`` on fits that survive (issue "Fits that survive").

``python benchmarks/bench_large.py --part accumulation|resume|states`` runs
them; each measurement runs in a fresh process (``bench_large.py --worker``),
as the searches of the default part do. ``bench`` below is the
``bench_large`` module (its models, data, memory sampler), passed in by it.

- ``accumulation``: one epoch of a fully fine-tuned model (``freeze=None``) at
  ``batch_size=64``, whole batches against ``micro_batch_size=16``, each run
  in its own process (3 runs each, interleaved). Printed: the seconds of the
  epoch (median), the peak memory of the fit (total PSS during the fit less
  before it: the fit's copy of the model, its gradients, Adam's state and the
  activations), and the largest absolute difference between the two runs'
  trained weights. Targets: same weights (float round-off), lower peak, time
  <= 1.15x on ``mlp34m``.
- ``resume``: ``BayesSearchCV`` (2 candidates x 2 folds, 20 epochs, the
  ``mlp34m`` body frozen, 1,500 rows: epochs of ~0.6 s, ``checkpoint=`` with
  ``checkpoint_every``) in a
  process killed with SIGKILL when its first fit ends epoch 13, then the same
  search again in a new process (it resumes), and the search without a
  checkpoint in a third. Printed: the epochs trained again (those of the
  killed and resumed runs together beyond the uninterrupted run's), their
  seconds against ``checkpoint_every``, and whether the ``cv_results_`` are
  equal. Target: redone work <= ``checkpoint_every``, results equal.
- ``states``: the cost of saving: the same search with ``checkpoint_every``
  of a few seconds and with ``checkpoint_every=None`` (both with a
  checkpoint), 3 runs each interleaved, wall ratio (medians); and the bytes of
  one state for each model, frozen body and fully fine-tuned. Target: ratio
  <= 1.1.
"""

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from skorch.callbacks import Callback

MICRO, BATCH_64 = 16, 64


# ---------------------------------------------------------------------------------------
# children
# ---------------------------------------------------------------------------------------


def child_accumulation(spec, bench):
    from sktune import NeuralNetClassifier

    model, quick = spec["model"], spec["quick"]
    module = bench._build(model, quick)
    X, y = bench._data(model, spec["rows"], quick)
    common = dict(module=module, freeze=None, batch_size=BATCH_64, epochs=1, lr=1e-4,
                  random_state=0, device=spec["device"], micro_batch_size=spec["micro"])
    NeuralNetClassifier(**common).fit(X[:BATCH_64], y[:BATCH_64])  # warm-up: first step
    base, _ = bench._baseline()
    sampler = bench.PssSampler(0.05, 0.05)
    sampler.start()
    net = NeuralNetClassifier(**common).fit(X, y)
    sampler.stop()
    torch.save({k: v.cpu() for k, v in net.module_.state_dict().items()}, spec["weights"])
    return {"epoch_s": float(net.history_[-1, "dur"]), "rise": sampler.peak - base,
            "model_bytes": bench._model_bytes(module)}


def _search(bench, spec, checkpoint, every, log):
    from sktune import BayesSearchCV, NeuralNetClassifier
    from sktune.space import Real

    module = bench._build(spec["model"], spec["quick"])
    net = NeuralNetClassifier(module=module, freeze=bench.MODES[spec["mode"]], reinit_head="head",
                              epochs=spec["epochs"], batch_size=bench.BATCH, lr=1e-3,
                              random_state=0, device=spec["device"],
                              callbacks=[EpochLog(log)])
    return BayesSearchCV(net, {"lr": Real(1e-4, 1e-1, prior="log-uniform")}, n_iter=2, cv=2,
                         random_state=0, refit=False, checkpoint=checkpoint,
                         checkpoint_every=every)


def child_search(spec, bench):
    """One search of the ``resume`` or ``states`` part (its wall and scores)."""
    X, y = bench._data(spec["model"], spec["rows"], spec["quick"])
    search = _search(bench, spec, spec["checkpoint"], spec["every"], spec["log"])
    tick = time.perf_counter()
    search.fit(X, y)
    wall = time.perf_counter() - tick
    return {"wall": wall, "scores": search.cv_results_["mean_test_score"].tolist(),
            "params": [repr(p) for p in search.cv_results_["params"]],
            "fit_s": float(np.mean(search.cv_results_["mean_fit_time"]))}


def child_state_bytes(spec, bench):
    """Bytes of one saved fit state (after one epoch) of a model in a mode."""
    from sktune import FitCheckpoint, NeuralNetClassifier

    X, y = bench._data(spec["model"], spec["rows"], spec["quick"])
    folder = tempfile.mkdtemp(prefix="sktune-state-")
    try:
        path = os.path.join(folder, "state.pt")
        module = bench._build(spec["model"], spec["quick"])
        tick = time.perf_counter()
        NeuralNetClassifier(module=module, freeze=bench.MODES[spec["mode"]], reinit_head="head",
                            epochs=1, batch_size=bench.BATCH, random_state=0,
                            device=spec["device"],
                            callbacks=[FitCheckpoint(path, every=0, keep=True)]).fit(X, y)
        fit_s = time.perf_counter() - tick
        size = os.path.getsize(path)
        from sktune.nets._fit_state import save_state  # the save alone, timed
        return {"bytes": size, "fit_s": fit_s, "model_bytes": bench._model_bytes(module),
                "save_s": _time_save(module, X, y, bench, spec, save_state, folder)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _time_save(module, X, y, bench, spec, save_state, folder):
    from sktune import NeuralNetClassifier

    net = NeuralNetClassifier(module=module, freeze=bench.MODES[spec["mode"]], reinit_head="head",
                              epochs=1, batch_size=bench.BATCH, random_state=0,
                              device=spec["device"]).fit(X[:bench.BATCH], y[:bench.BATCH])
    times = []
    for _ in range(3):
        tick = time.perf_counter()
        save_state(net.net_, 1, os.path.join(folder, "timed.pt"))
        times.append(time.perf_counter() - tick)
    return statistics.median(times)


class EpochLog(Callback):
    """Appends ``<time> <epoch>`` to a file at the end of every epoch."""

    def __init__(self, path):
        self.path = path

    def on_epoch_end(self, net, **kwargs):
        with open(self.path, "a") as f:
            f.write(f"{time.time():.3f} {len(net.history)}\n")


# ---------------------------------------------------------------------------------------
# the parent's parts
# ---------------------------------------------------------------------------------------


def _spawn(script, spec):
    return subprocess.Popen([sys.executable, script, "--worker", json.dumps(spec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(proc):
    out, err = proc.communicate()
    lines = [line for line in out.strip().splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        raise RuntimeError(f"child failed ({proc.returncode}):\n" + "\n".join(
            err.strip().splitlines()[-15:]))
    return json.loads(lines[-1])


def part_accumulation(args, script, base_spec):
    models = args.models
    print(f"accumulation: one epoch, freeze=None, batch_size={BATCH_64}, whole batches vs "
          f"micro_batch_size={MICRO}; {args.repeats_parts} runs each, interleaved")
    folder = tempfile.mkdtemp(prefix="sktune-accumulation-")
    try:
        for model in models:
            rows = {"mlp34m": 640, "encoder85m": 128}[model] if not args.quick else 128
            runs = {None: [], MICRO: []}
            for r in range(args.repeats_parts):
                for micro in (None, MICRO):
                    spec = dict(base_spec, kind="accumulation", model=model, rows=rows,
                                micro=micro, weights=os.path.join(folder, f"{model}-{micro}-{r}.pt"))
                    runs[micro].append(_result(_spawn(script, spec)))
            whole = torch.load(os.path.join(folder, f"{model}-None-0.pt"))
            split = torch.load(os.path.join(folder, f"{model}-{MICRO}-0.pt"))
            diff = max(float((whole[k] - split[k]).abs().max()) for k in whole)
            t_whole = statistics.median(r["epoch_s"] for r in runs[None])
            t_split = statistics.median(r["epoch_s"] for r in runs[MICRO])
            m_whole = statistics.median(r["rise"] for r in runs[None])
            m_split = statistics.median(r["rise"] for r in runs[MICRO])
            size = runs[None][0]["model_bytes"]
            print(f"  {model} ({rows} rows, {size / 1e6:.0f} MB): epoch whole {t_whole:.2f} s, "
                  f"micro {t_split:.2f} s: {t_split / t_whole:.2f}x; fit's peak memory whole "
                  f"{m_whole / 1e6:.0f} MB, micro {m_split / 1e6:.0f} MB "
                  f"({m_split / m_whole:.2f}x); weights max |difference| {diff:.2e}")
            if model == "encoder85m":
                print("  (encoder85m has dropout 0.1: its masks are drawn per micro-batch, so "
                      "its weights differ by more than round-off)")
            if model == "mlp34m":
                ok = t_split / t_whole <= 1.15 and m_split < m_whole and diff < 1e-4
                print(f"  target (mlp34m: same weights, lower peak, time <= 1.15x): "
                      f"{'yes' if ok else 'NO'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def part_resume(args, script, base_spec):
    every, kill_at, epochs = args.checkpoint_every, 13, 20
    folder = tempfile.mkdtemp(prefix="sktune-resume-")
    try:
        spec = dict(base_spec, kind="fit-search", model="mlp34m", mode="frozen",
                    rows=60 if args.quick else 1500, epochs=epochs, every=every,
                    checkpoint=os.path.join(folder, "search.db"),
                    log=os.path.join(folder, "epochs.log"))
        print(f"resume: BayesSearchCV 2 candidates x 2 folds, {epochs} epochs, mlp34m frozen, "
              f"{spec['rows']} rows, checkpoint_every={every} s; killed (SIGKILL) when the "
              f"first fit ends epoch {kill_at}, then resumed in a new process")
        victim = _spawn(script, spec)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and victim.poll() is None:
            lines = open(spec["log"]).read().split("\n") if os.path.exists(spec["log"]) else []
            if sum(1 for ln in lines if ln.strip()) >= kill_at:
                break
            time.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_lines = [ln.split() for ln in open(spec["log"]).read().splitlines()]
        states = [os.path.join(spec["checkpoint"] + ".fits", name)
                  for name in os.listdir(spec["checkpoint"] + ".fits") if name.endswith(".pt")]
        saved_at = [len(torch.load(p, weights_only=False)["history"]) for p in states]
        resumed = _result(_spawn(script, spec))
        all_lines = [ln.split() for ln in open(spec["log"]).read().splitlines()]
        reference_spec = dict(spec, checkpoint=None, log=os.path.join(folder, "reference.log"))
        reference = _result(_spawn(script, reference_spec))
        ref_epochs = len(open(reference_spec["log"]).read().splitlines())
        redone = len(all_lines) - ref_epochs
        stamps = [float(t) for t, _ in all_lines[len(killed_lines):]]
        epoch_s = float(np.median(np.diff(stamps))) if len(stamps) > 2 else float("nan")
        equal = (resumed["scores"] == reference["scores"]
                 and resumed["params"] == reference["params"])
        print(f"  killed after {len(killed_lines)} epoch(s); state files left: "
              f"{len(states)}, saved after epoch(s) {saved_at}; epochs trained again: "
              f"{redone} (~{redone * epoch_s:.1f} s at {epoch_s:.2f} s per epoch; "
              f"checkpoint_every {every} s)")
        print(f"  cv_results_ equal to the uninterrupted run's: {'yes' if equal else 'NO'} "
              f"({resumed['scores']} vs {reference['scores']})")
        ok = equal and redone * epoch_s <= every
        print(f"  target (redone work <= checkpoint_every, results equal): "
              f"{'yes' if ok else 'NO'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def part_states(args, script, base_spec):
    every = args.checkpoint_every
    folder = tempfile.mkdtemp(prefix="sktune-states-")
    try:
        print("states: bytes of one fit state (after one epoch, Adam)")
        for model in args.models:
            for mode in args.modes:
                spec = dict(base_spec, kind="state-bytes", model=model, mode=mode,
                            rows=60 if (args.quick or model == "encoder85m") else 600)
                out = _result(_spawn(script, spec))
                print(f"  {model} {mode}: {out['bytes'] / 1e6:.1f} MB per state "
                      f"({out['bytes'] / out['model_bytes']:.2f}x the model), written in "
                      f"{out['save_s']:.2f} s")
        for model in args.models:
            for mode in args.modes:
                walls = {every: [], None: []}
                rows = 60 if (args.quick or model == "encoder85m") else 600
                for r in range(args.repeats_parts):
                    for e in (every, None):
                        spec = dict(base_spec, kind="fit-search", model=model, mode=mode,
                                    rows=rows, epochs=3, every=e,
                                    checkpoint=os.path.join(folder, f"{model}{mode}{e}{r}.db"),
                                    log=os.path.join(folder, "log"))
                        walls[e].append(_result(_spawn(script, spec))["wall"])
                ratio = statistics.median(walls[every]) / statistics.median(walls[None])
                print(f"  {model} {mode}, 2 candidates x 2 folds x 3 epochs: wall with "
                      f"checkpoint_every={every} s {statistics.median(walls[every]):.1f} s, "
                      f"without {statistics.median(walls[None]):.1f} s: {ratio:.3f}x "
                      f"(target <= 1.1: {'yes' if ratio <= 1.1 else 'NO'})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


CHILDREN = {"accumulation": child_accumulation, "fit-search": child_search,
            "state-bytes": child_state_bytes}
PARTS = {"accumulation": part_accumulation, "resume": part_resume, "states": part_states}
