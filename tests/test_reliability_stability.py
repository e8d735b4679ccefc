"""Stability: memory does not grow over many fits; interrupted searches leave no workers."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skorch.callbacks import Callback

from sktune import NeuralNetClassifier

HELPER = str(Path(__file__).parent / "_reliability_helpers.py")


def _rss_mb():
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_200_fits_do_not_grow_memory(binary_data):
    X, y = binary_data
    X, y = X[:64], y[:64]

    def fit(seed):
        clf = NeuralNetClassifier(hidden_layer_sizes=(16,), epochs=2, batch_size=16,
                                  random_state=seed).fit(X, y)
        clf.predict_proba(X)

    for seed in range(20):  # warm-up: lazy imports, allocator pools, caches
        fit(seed)
    before = _rss_mb()
    for seed in range(200):
        fit(seed)
    growth = _rss_mb() - before
    assert growth < 50, f"resident memory grew by {growth:.1f} MB over 200 fits"


def _descendants(pid):
    """Pids of the live descendants of ``pid`` (via /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, stack = set(), [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")
@pytest.mark.timeout(90)
def test_sigint_leaves_no_orphan_workers():
    proc = subprocess.Popen([sys.executable, HELPER, "-", "2", "30"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 45
        workers = set()
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            workers = _descendants(proc.pid)
        assert len(workers) >= 2, "the search did not start its loky workers"
        time.sleep(1.0)  # mid-search
        workers |= _descendants(proc.pid)
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(30)
        assert proc.returncode != 0, "the interrupted search should not report success"
        deadline = time.monotonic() + 15
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        survivors = [p for p in workers if _alive(p)]
        assert not survivors, f"worker processes {survivors} outlived the interrupted search"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_ctrl_c_in_fit_propagates(binary_data):
    """skorch swallows KeyboardInterrupt; sktune lets it through (the net is kept)."""

    class CtrlC(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                raise KeyboardInterrupt

    X, y = binary_data
    clf = NeuralNetClassifier(epochs=5, callbacks=[CtrlC()], random_state=0)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert len(clf.net_.history) == 2
