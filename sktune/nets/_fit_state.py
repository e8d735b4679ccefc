"""Fits that resume where they were killed: a fit's training state, saved as it trains.

:class:`FitCheckpoint` (a skorch callback, public) names a file; the training
net (:class:`~sktune.nets._training.TrainingNet`) saves its training state
there at the end of an epoch once ``every`` seconds have passed since the
last save, and a fit that finds the file at its start continues from it: the
epochs it holds are not trained again. What a state holds:

- the module's parameters and buffers that train (frozen ones are rebuilt
  identically by the fit's seeded start, or shared with a pretrained
  instance, and are not written);
- the optimiser's state, the '16' gradient scaler's, the micro-batch size in
  use, whether the frozen part was unfrozen (``unfreeze_at``);
- the history, the callbacks' fitted attributes (those ending in ``_``; a
  torch scheduler's by its ``state_dict``: the learning-rate schedule,
  early stopping's best weights and patience), ``stop_training_``;
- torch's random number generators (CPU, and the fit's GPU).

So a resumed CPU fit ends with the weights, history and scores of an
uninterrupted one, bit for bit. A state is written to a temporary file and
renamed over the last one: a killed process leaves the previous state or the
new one, never half of one. It is not ``fsync``-ed (a fully fine-tuned
BERT-base state is 1 GB: flushing it to disk every few minutes would cost
seconds of training each time); after a power loss a state the disk did not
get is read as no state (with a warning), and the fit starts again, which is
never wrong. Saves are spaced so that writing them takes at most 5 % of the
fit: after a save of ``s`` seconds the next one waits ``max(every, 19 s)``,
a fit's first save included (``s`` is then the process's last save: the fits
of a search save states of one size). ``every=0`` saves after every epoch,
whatever it costs. States are written without torch's per-record CRC-32 (it
doubles the time to write a large state; a state cut short fails to load
without it).
The file is removed when the fit ends normally (``keep=False``).

A search with ``checkpoint=`` gives each (candidate, split) fit a state file
in a folder beside its checkpoint (:class:`FitStates`), through
:func:`fit_states` (a context variable the training net reads), so pipelines
and user estimators that contain a sktune network resume too.
"""

import contextvars
import hashlib
import os
import pickle
import time
import warnings
from contextlib import contextmanager

import torch
from skorch.callbacks import Callback

from ..exceptions import CheckpointMismatchError

_FORMAT = 1
#: Saves wait at least this many times the last save's duration: saving takes at
#: most 1 / (1 + 19) = 5 % of a fit's time.
_SAVE_SPACING = 19.0
#: The last save's duration in this process, for any fit: a fit's first save
#: waits for it too (the fits of a search save states of one size).
_last_save_seconds = 0.0
_current = contextvars.ContextVar("sktune_fit_state", default=None)


class FitCheckpoint(Callback):
    """Save a fit's training state every ``every`` seconds; resume from it.

    Give it to a network's ``callbacks``: when the fit is killed (preemption,
    ``kill -9``, Ctrl-C, a crash) and run again, it continues from the last
    saved epoch instead of from scratch. States are saved at the end of an
    epoch, once ``every`` seconds have passed since the fit started or last
    saved, so a kill costs at most ``every`` seconds plus one epoch of work
    (unless saving is slow: saves are spaced so that they take at most 5 %
    of the fit's time, i.e. at least 19 times a save's duration apart).
    On the CPU the resumed fit equals an uninterrupted one bit for bit
    (weights, history, predictions).

    Parameters
    ----------
    path : str or path-like
        The state file (one fit's; its folder must exist).
    every : float, default=300.0
        Seconds between saves, at least; and at least 19 times the last
        save's duration, so that saving takes at most 5 % of the fit.
        0: after every epoch, whatever it costs.
    keep : bool, default=False
        Keep the file when the fit ends normally (else it is removed).

    Notes
    -----
    The file belongs to one fit: the same network (its trainable
    parameters' names and shapes), optimiser, batch size, number of
    training samples and number of epochs; a file saved by another fit
    raises :class:`~sktune.exceptions.CheckpointMismatchError` (a
    ``ValueError``: delete the file, or use another path); a file that cannot
    be read (cut short by a power loss) is ignored with a warning. It is
    written atomically (temporary file, rename). Its size is about the
    trainable weights and the optimiser's state (Adam: three times the
    trainable weights), plus the callbacks' state (early stopping keeps a
    copy of the best weights).

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_iris
    >>> from sktune import NeuralNetClassifier
    >>> from sktune.nets import FitCheckpoint
    >>> X, y = load_iris(return_X_y=True)
    >>> path = os.path.join(tempfile.mkdtemp(), "fit.pt")
    >>> net = NeuralNetClassifier(epochs=5, random_state=0,
    ...                           callbacks=[FitCheckpoint(path, every=60)])
    >>> net.fit(X, y).score(X, y) > 0.5
    True
    >>> os.path.exists(path)  # removed once the fit has ended
    False
    """

    def __init__(self, path, every=300.0, keep=False):
        self.path = path
        self.every = every
        self.keep = keep

    # -- what the training net calls ------------------------------------------------
    def resume(self, net, target):
        """Load the saved state into ``net`` if there is one; ``target`` is the
        length of the history when this training call ends."""
        self._last_save_ = time.monotonic()
        path = os.fspath(self.path)
        if not os.path.exists(path):
            return False
        try:
            with open(path, "rb") as f:
                state = torch.load(f, map_location=net.device, weights_only=False)
        except Exception as exc:  # noqa: BLE001 - cut short (power loss), not ours
            warnings.warn(f"The fit state {path!r} cannot be read ({type(exc).__name__}: "
                          f"{exc}); the fit starts from the beginning.", RuntimeWarning,
                          stacklevel=2)
            return False
        expected = _signature(net, target)
        if state.get("format") != _FORMAT or state.get("signature") != expected:
            differs = sorted(k for k in set(expected) | set(state.get("signature", {}))
                             if expected.get(k) != state.get("signature", {}).get(k))
            raise CheckpointMismatchError(
                f"The fit state in {path!r} was saved by another fit ({', '.join(differs) or 'its format'} "
                f"differ(s)); a state resumes only the fit that saved it (same network, "
                f"optimiser, batch size, training samples and epochs). Delete the file or "
                f"give FitCheckpoint another path.")
        _restore(net, state)
        return True

    def epoch_done(self, net, target):
        """Save the state if ``every`` seconds (and 19 times the last save's
        duration) have passed since the last save."""
        global _last_save_seconds
        every = float(self.every)
        spacing = every and max(every, _SAVE_SPACING * _last_save_seconds)  # 0: every epoch
        if time.monotonic() - self._last_save_ >= spacing:
            tick = time.monotonic()
            save_state(net, target, os.fspath(self.path))
            self._last_save_ = time.monotonic()
            _last_save_seconds = self._last_save_ - tick

    def fit_done(self):
        """The fit ended normally: remove the file (unless ``keep``)."""
        if not self.keep:
            try:
                os.remove(os.fspath(self.path))
            except FileNotFoundError:
                pass


class FitStates:
    """Where a search's fits keep their states: one file per (candidate, split)
    in ``folder``, saved every ``every`` seconds."""

    def __init__(self, folder, every):
        self.folder = os.fspath(folder)
        self.every = every

    def path(self, key):
        """The state file of the fit named by ``key`` (text)."""
        return os.path.join(self.folder, hashlib.sha256(key.encode()).hexdigest()[:32] + ".pt")

    @contextmanager
    def fit(self, key):
        """Within the block, a sktune network's fit keeps its state in ``path(key)``."""
        os.makedirs(self.folder, exist_ok=True)
        token = _current.set(FitCheckpoint(self.path(key), every=self.every))
        try:
            yield
        finally:
            _current.reset(token)


def fit_states(net):
    """The :class:`FitCheckpoint` of ``net``'s fit: one of its callbacks, else
    the one a search set for this fit (:meth:`FitStates.fit`), else None."""
    for _, callback in getattr(net, "callbacks_", ()):
        if isinstance(callback, FitCheckpoint):
            return callback
    return _current.get()


# -- the state ---------------------------------------------------------------------------
def _signature(net, target):
    """What a saved state must share with the fit that loads it."""
    module = net.module_
    return {
        "module": f"{type(module).__module__}.{type(module).__qualname__}",
        "weights": [(k, tuple(v.shape), str(v.dtype)) for k, v in module.state_dict().items()],
        "optimizer": f"{type(net.optimizer_).__module__}.{type(net.optimizer_).__qualname__}",
        "batch_size": int(net.batch_size),
        "n_train": getattr(net, "n_train_", None),
        "epochs": int(target),
    }


def _shared_names(net):
    """State-dict keys of what a fit does not write: frozen parameters and the
    buffers of the normalisation layers frozen with them."""
    names = set(getattr(net, "frozen_", ()))
    norms = {id(m) for m in getattr(net, "frozen_norms_", ())}
    for prefix, module in net.module_.named_modules():
        if id(module) in norms:
            names.update(f"{prefix}.{b}" if prefix else b
                         for b, _ in module.named_buffers(recurse=False))
    return names


def _callback_state(callback):
    """A callback's fitted attributes that can be saved (torch objects by state_dict)."""
    state = {}
    for name, value in vars(callback).items():
        if not name.endswith("_") or name.startswith("_"):
            continue
        if hasattr(value, "state_dict") and hasattr(value, "load_state_dict"):
            state[name] = ("state_dict", value.state_dict())
            continue
        if not torch.is_tensor(value) and not isinstance(value, dict):
            try:  # small objects only (tensors and dicts of them are saved as they are)
                pickle.dumps(value)
            except Exception:  # noqa: BLE001 - a writer, a lock...: rebuilt by the callback
                continue
        state[name] = ("value", value)
    return state


def save_state(net, target, path):
    """Write ``net``'s training state to ``path`` atomically."""
    shared = _shared_names(net)
    scaler = getattr(net, "grad_scaler_", None)
    device = torch.device(net.device)
    state = {
        "format": _FORMAT,
        "signature": _signature(net, target),
        "module": {k: v for k, v in net.module_.state_dict().items() if k not in shared},
        "optimizer": net.optimizer_.state_dict(),
        "grad_scaler": None if scaler is None else scaler.state_dict(),
        "micro_batch_size": getattr(net, "micro_batch_size_", None),
        "frozen": sorted(getattr(net, "frozen_", ())),
        "history": list(net.history),
        "callbacks": {name: _callback_state(cb) for name, cb in net.callbacks_
                      if not isinstance(cb, FitCheckpoint)},
        "stop_training": bool(getattr(net, "stop_training_", False)),
        "rng": torch.get_rng_state(),
        "cuda_rng": (torch.cuda.get_rng_state(device.index or 0)
                     if device.type == "cuda" else None),
    }
    temporary = f"{path}.{os.getpid()}.tmp"
    # No CRC-32 of each record: it doubles the time to write a large state, and a
    # state cut short does not load anyway (its zip directory is at the end).
    crc = torch.serialization.get_crc32_options()
    torch.serialization.set_crc32_options(False)
    try:
        with open(temporary, "wb") as f:
            torch.save(state, f)
    finally:
        torch.serialization.set_crc32_options(crc)
    os.replace(temporary, path)


def _restore(net, state):
    from skorch.history import History

    if net.frozen_ and not state["frozen"]:
        net.unfreeze()  # copies the shared weights before they are loaded into
    missing, unexpected = net.module_.load_state_dict(state["module"], strict=False)
    shared = _shared_names(net)
    if unexpected or set(missing) - shared:
        raise ValueError(f"The fit state does not match the network: missing "
                         f"{sorted(set(missing) - shared)}, unexpected {sorted(unexpected)}.")
    net.optimizer_.load_state_dict(state["optimizer"])
    if state["grad_scaler"] is not None and net.grad_scaler_ is not None:
        net.grad_scaler_.load_state_dict(state["grad_scaler"])
    net.micro_batch_size_ = state["micro_batch_size"]
    net.history = History(state["history"])
    callbacks = dict(net.callbacks_)
    for name, attributes in state["callbacks"].items():
        callback = callbacks.get(name)
        if callback is None:
            continue
        for attribute, (kind, value) in attributes.items():
            current = getattr(callback, attribute, None)
            if kind == "state_dict" and hasattr(current, "load_state_dict"):
                current.load_state_dict(value)
            elif kind == "value":
                setattr(callback, attribute, value)
    net.stop_training_ = state["stop_training"]
    torch.set_rng_state(state["rng"])
    device = torch.device(net.device)
    if state["cuda_rng"] is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda_rng"], device.index or 0)
