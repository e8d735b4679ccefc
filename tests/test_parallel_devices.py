"""Spreading parallel fits over several GPUs, tested on CPU with faked devices."""

import subprocess
import sys
import threading
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import pytest
from sklearn.model_selection import cross_validate

from sktune.nets import _devices
from sktune.nets._devices import placed_device

from _parallel_helpers import FakeGPUClassifier, fake_gpus, held_claims

HERE = Path(__file__).parent


@pytest.fixture
def gpus(tmp_path, monkeypatch):
    """``gpus(n)`` fakes ``n`` GPUs until the test ends; returns the claims folder."""
    monkeypatch.delenv(_devices.WORKERS_ENV_VAR, raising=False)
    with ExitStack() as stack:
        yield lambda n: stack.enter_context(fake_gpus(n, tmp_path))


def _hold_in_threads(n_threads, device="cuda", before_release=None):
    """Devices placed for ``n_threads`` fits that run at the same time."""
    placed = []
    all_placed = threading.Barrier(n_threads + 1)
    release = threading.Event()

    def fit():
        with placed_device(device) as dev:
            placed.append(dev)
            all_placed.wait(timeout=30)
            release.wait(timeout=30)

    threads = [threading.Thread(target=fit) for _ in range(n_threads)]
    for t in threads:
        t.start()
    all_placed.wait(timeout=30)
    seen = list(placed)
    if before_release is not None:
        before_release()
    release.set()
    for t in threads:
        t.join()
    return seen


def test_cpu_one_gpu_and_explicit_index_are_not_placed(gpus):
    folder = gpus(1)
    with placed_device("cuda") as dev:
        assert dev == "cuda"
    gpus(4)
    for device in ["cpu", "cuda:3"]:
        with placed_device(device) as dev:
            assert dev == device
    assert not list(folder.glob("*.claim"))


@pytest.mark.parametrize("device", ["cuda", "auto"])
def test_concurrent_fits_spread_evenly(gpus, device, monkeypatch):
    gpus(3)
    monkeypatch.setenv(_devices.WORKERS_ENV_VAR, "none")
    assert sorted(_hold_in_threads(3, device)) == ["cuda:0", "cuda:1", "cuda:2"]
    assert Counter(_hold_in_threads(5, device)) == {"cuda:0": 2, "cuda:1": 2, "cuda:2": 1}


def test_claims_are_released_after_each_fit(gpus):
    folder = gpus(2)
    for _ in range(3):
        with placed_device("cuda") as dev:
            assert dev == "cuda:0"
            assert held_claims(folder) == 1
    assert held_claims(folder) == 0


def test_nested_fit_stays_on_the_outer_device(gpus):
    folder = gpus(2)
    with placed_device("cuda") as outer:
        with placed_device("cuda") as inner:
            assert inner == outer
        assert held_claims(folder) == 1


def test_claim_of_another_process_counts_and_dies_with_it(gpus):
    folder = gpus(2)
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from _parallel_helpers import fake_gpus;"
         "from sktune.nets._devices import placed_device\n"
         f"with fake_gpus(2, {str(folder)!r}), placed_device('cuda') as dev:\n"
         "    print(dev, flush=True); sys.stdin.read()"],
        cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "cuda:0"
        with placed_device("cuda") as dev:
            assert dev == "cuda:1"
    finally:
        child.kill()  # a worker that dies without cleaning up
        child.wait()
    with placed_device("cuda") as dev:
        assert dev == "cuda:0"


@pytest.mark.parametrize("setting, cap", [(None, 1), ("1", 1), ("2", 2)])
def test_workers_per_device_caps_fits_at_once(gpus, monkeypatch, setting, cap):
    gpus(2)
    if setting is not None:  # unset: one fit per GPU by default
        monkeypatch.setenv(_devices.WORKERS_ENV_VAR, setting)
    extra = []

    def extra_fit():
        with placed_device("cuda") as dev:
            extra.append(dev)

    waiting = threading.Thread(target=extra_fit)

    def start_extra_fit():
        waiting.start()
        waiting.join(timeout=0.5)
        assert extra == []  # both GPUs are at the cap: it waits

    held = _hold_in_threads(2 * cap, before_release=start_extra_fit)
    assert Counter(held) == {"cuda:0": cap, "cuda:1": cap}
    waiting.join(timeout=30)
    assert len(extra) == 1


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_bad_workers_per_device_is_a_clear_error(gpus, monkeypatch, value):
    gpus(2)
    monkeypatch.setenv(_devices.WORKERS_ENV_VAR, value)
    with pytest.raises(ValueError, match=_devices.WORKERS_ENV_VAR):
        with placed_device("cuda"):
            pass


def test_without_fcntl_threads_of_one_process_are_spread(gpus, monkeypatch):
    folder = gpus(2)
    monkeypatch.setattr(_devices, "fcntl", None)
    monkeypatch.setenv(_devices.WORKERS_ENV_VAR, "none")
    assert Counter(_hold_in_threads(4)) == {"cuda:0": 2, "cuda:1": 2}
    assert not list(folder.glob("*.claim"))


def test_parallel_fits_in_worker_processes_land_on_different_gpus(binary_data, tmp_path):
    X, y = binary_data
    est = FakeGPUClassifier(n_gpus=2, claims_dir=str(tmp_path), wait_for=2, device="cuda",
                            hidden_layer_sizes=(8,), epochs=2, random_state=0)
    result = cross_validate(est, X, y, cv=2, n_jobs=2, return_estimator=True,
                            error_score="raise")
    assert sorted(e._placed_on for e in result["estimator"]) == ["cuda:0", "cuda:1"]
    assert all(e.device == "cuda" for e in result["estimator"])  # the parameter is kept
