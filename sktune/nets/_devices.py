"""Which torch device a fit runs on, and spreading parallel fits over GPUs.

``device='cuda'`` (or ``'auto'`` with a GPU) names no GPU in particular. With
one GPU visible that is simply it. With several, every fit that starts claims
the visible GPU that the fewest running fits hold, and keeps that claim until
it ends. By default a GPU takes one fit at a time, so ``n_jobs`` parallel fits
run one per GPU, and a fit that finds every GPU busy waits for one to be free
(no two fits compete for one GPU's memory). ``SKTUNE_WORKERS_PER_DEVICE=k``
allows ``k`` fits at once per GPU (small networks often run faster two or
three to a GPU); ``SKTUNE_WORKERS_PER_DEVICE=none`` removes the cap, so no fit
ever waits and the fits spread evenly: one per GPU, then two per GPU, and so
on. An explicit index (``'cuda:1'``) is used as given and claims nothing.

The claims are files in a temporary folder of this machine, each held with an
advisory lock (``flock``) for the duration of one fit. One mechanism thus
serves joblib's process workers (loky), its threads, Dask workers (processes
or threads) and separate programs of the same user alike; the operating system
drops the lock of a worker that dies, so nothing goes stale. Claims are kept
per set of visible GPUs (``CUDA_VISIBLE_DEVICES``) and per machine: on a
multi-machine Dask cluster each machine spreads its own fits over its own GPUs.

Where ``fcntl`` is missing (Windows), fits are spread among the threads of
one process only.
"""

import hashlib
import os
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import torch

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

WORKERS_ENV_VAR = "SKTUNE_WORKERS_PER_DEVICE"

#: Seconds between two looks for a free GPU when all are at the cap.
_POLL_SECONDS = 0.05

#: The device claimed by the fit running in this thread (a fit may start
#: another fit, e.g. in a callback: the inner one stays on the outer's GPU).
_held = threading.local()

#: Fits holding each GPU in this process, where there is no ``fcntl``.
_local_counts = {}
_local_changed = threading.Condition()


def resolve_device(device):
    """``'auto'`` -> ``'cuda'`` when a GPU is visible, else ``'cpu'``; check the rest."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device={device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:1', "
            "'auto' or a torch.device."
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but torch sees no CUDA device here; use 'cpu' "
                         "or 'auto'.")
    return device


#: Fits at once per GPU when ``SKTUNE_WORKERS_PER_DEVICE`` is unset.
DEFAULT_WORKERS_PER_DEVICE = 1


def workers_per_device():
    """The cap on fits at once per GPU (``SKTUNE_WORKERS_PER_DEVICE``); None for no cap."""
    value = os.environ.get(WORKERS_ENV_VAR, "").strip()
    if not value:
        return DEFAULT_WORKERS_PER_DEVICE
    if value.lower() == "none":
        return None
    try:
        cap = int(value)
    except ValueError:
        cap = 0
    if cap < 1:
        raise ValueError(f"{WORKERS_ENV_VAR} must be a positive int (fits at once per GPU) "
                         f"or 'none' (no cap); got {value!r}.")
    return cap


@contextmanager
def placed_device(device):
    """Run one fit on a concrete device for ``device``; yields that device.

    ``'auto'`` and ``'cuda'`` without an index claim a GPU (see the module
    docstring) when several are visible, for as long as the context is open.
    Other devices are yielded as resolved, with no claim.

    Parameters
    ----------
    device : str or torch.device
        The estimator's ``device`` parameter.

    Yields
    ------
    device : str or torch.device
        ``'cuda:<i>'`` for a claimed GPU, else ``device`` resolved.
    """
    resolved = resolve_device(device)
    dev = torch.device(resolved)
    n_gpus = torch.cuda.device_count() if dev.type == "cuda" and dev.index is None else 0
    if n_gpus < 2:
        yield resolved
        return
    outer = getattr(_held, "device", None)
    if outer is not None:
        yield outer
        return
    cap = workers_per_device()
    claim = _local_claim if fcntl is None else _file_claim
    with claim(n_gpus, cap) as index:
        _held.device = f"cuda:{index}"
        try:
            yield _held.device
        finally:
            _held.device = None


def _least_held(counts, cap):
    """Index of the GPU with the fewest claims (the first on ties), or None at the cap."""
    index = min(range(len(counts)), key=counts.__getitem__)
    return None if cap is not None and counts[index] >= cap else index


# -- claims shared by every process of this user on this machine -------------------
def _claims_dir():
    """The folder of claim files for the GPUs this process sees."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "all")
    tag = hashlib.sha1(visible.encode()).hexdigest()[:12]
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"sktune-devices-{uid}" / tag


def _lock(path, blocking=False):
    """An open descriptor holding an exclusive ``flock`` on ``path``; None if it is taken."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _is_held(path):
    fd = _lock(path)
    if fd is None:
        return True
    os.close(fd)
    return False


def _claim_files(folder, index):
    """``{number: path}`` of the claim files of GPU ``index``."""
    return {int(p.stem.rpartition("-")[2]): p for p in folder.glob(f"cuda{index}-*.claim")}


def _choose_and_claim(folder, n_gpus, cap):
    """Lock a claim file of the least-held GPU; ``(index, fd)``, or None at the cap."""
    files = [_claim_files(folder, i) for i in range(n_gpus)]
    free = [[k for k, p in sorted(f.items()) if not _is_held(p)] for f in files]
    index = _least_held([len(f) - len(k) for f, k in zip(files, free)], cap)
    if index is None:
        return None
    number = free[index][0] if free[index] else max(files[index], default=-1) + 1
    fd = _lock(folder / f"cuda{index}-{number}.claim")
    return None if fd is None else (index, fd)


@contextmanager
def _file_claim(n_gpus, cap):
    """Hold a claim file of the least-held GPU for the duration of the context."""
    folder = _claims_dir()
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        # One claimer at a time looks and claims, so two never pick the same
        # least-held GPU; releasing (closing the file) needs no lock.
        chooser = _lock(folder / "choose.lock", blocking=True)
        try:
            claimed = _choose_and_claim(folder, n_gpus, cap)
        finally:
            os.close(chooser)
        if claimed is not None:
            break
        time.sleep(_POLL_SECONDS)
    index, fd = claimed
    try:
        yield index
    finally:
        os.close(fd)  # releases the claim


# -- fallback without fcntl: the threads of this process only -----------------------
@contextmanager
def _local_claim(n_gpus, cap):
    with _local_changed:
        while True:
            index = _least_held([_local_counts.get(i, 0) for i in range(n_gpus)], cap)
            if index is not None:
                break
            _local_changed.wait()
        _local_counts[index] = _local_counts.get(index, 0) + 1
    try:
        yield index
    finally:
        with _local_changed:
            _local_counts[index] -= 1
            _local_changed.notify_all()


def release_fit_memory():
    """Give the memory of fits that have ended back: the GPU's, cached by torch
    for its own reuse where another process or a larger fit cannot have it, and
    on Linux the C heap's (a large fit's freed gradients and optimiser state
    would otherwise stay in the process, where loky takes them for a leak)."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        import gc

        gc.collect()  # tensors held only by reference cycles (a fitted net's)
        torch.cuda.empty_cache()
    _trim_heap()


def _trim_heap():
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None
