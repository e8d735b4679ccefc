"""How many torch intra-op threads a fit (or a prediction) uses.

By default one: a tuning run is many fits, and running them side by side
(``n_jobs``) uses cores far better than splitting each small matrix product
over threads. It also makes results independent of the parallel set-up: torch
on CPU splits some reductions by thread, so the same seed gives slightly
different weights with 1 and 2 threads; with one thread per fit, ``n_jobs=1``,
``n_jobs=2`` and a Dask cluster give identical ``cv_results_``. And workers x
threads never exceeds the cores (with no more workers than cores).

An explicit choice wins: the estimator's ``torch_threads`` (an int, or -1 for
torch's own setting, which follows ``OMP_NUM_THREADS`` and else uses every
core), else the ``SKTUNE_TORCH_THREADS`` environment variable (same values).

``torch.set_num_threads`` is per thread under OpenMP (torch's CPU backend), so
a fit changes only its own thread's setting, and restores it afterwards.
"""

import os
from contextlib import contextmanager

import torch

ENV_VAR = "SKTUNE_TORCH_THREADS"


def _checked(value, source):
    try:
        value = int(value)
    except (TypeError, ValueError):
        value = 0
    if value < 1 and value != -1:
        raise ValueError(f"{source} must be a positive int or -1 (torch's own setting); "
                         f"got {value!r}.")
    return value


def fit_threads(torch_threads=None):
    """Intra-op threads for one fit here: an int, or None to leave torch's setting."""
    if torch_threads is None:
        from_env = os.environ.get(ENV_VAR)
        torch_threads = 1 if not from_env else _checked(from_env, ENV_VAR)
    return None if torch_threads == -1 else int(torch_threads)


@contextmanager
def torch_threads(n):
    """Run with ``n`` torch intra-op threads in this thread (None: unchanged)."""
    previous = torch.get_num_threads()
    if n is None or n == previous:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
