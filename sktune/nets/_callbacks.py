"""skorch callbacks behind the ``lr_schedule`` and ``early_stopping`` parameters.

Both keep their state across ``partial_fit`` calls, so training that is
continued for more epochs follows the same schedule as one long run.
"""

import copy
import os
import sys

import numpy as np
import torch
from skorch.callbacks import Callback

#: ``lr_schedule`` names -> (torch scheduler class name, default knobs).
#: ``None`` as a knob default means "derived from the estimator" (see ``LRSchedule``).
SCHEDULES = {
    "step": ("StepLR", {"step_size": None, "gamma": 0.1}),
    "exponential": ("ExponentialLR", {"gamma": 0.95}),
    "cosine": ("CosineAnnealingLR", {"T_max": None, "eta_min": 0.0}),
    "plateau": ("ReduceLROnPlateau", {"factor": 0.1, "patience": 5, "threshold": 1e-4}),
}


class LRSchedule(Callback):
    """Step a torch learning-rate scheduler once per epoch.

    Parameters
    ----------
    name : {'step', 'exponential', 'cosine', 'plateau'}
    epochs : int
        The estimator's ``epochs``; sets ``T_max`` for 'cosine' and
        ``step_size`` (a third of the run) for 'step' unless given.
    monitor : str
        History key that 'plateau' watches (``valid_loss`` when a validation
        split exists, else ``train_loss``).
    **knobs
        Keyword arguments of the torch scheduler, overriding the defaults.
    """

    def __init__(self, name, epochs, monitor="train_loss", **knobs):
        self.name = name
        self.epochs = epochs
        self.monitor = monitor
        self.knobs = knobs

    def scheduler_kwargs(self):
        _, defaults = SCHEDULES[self.name]
        kwargs = {**defaults, **self.knobs}
        if self.name == "step" and kwargs["step_size"] is None:
            kwargs["step_size"] = max(1, self.epochs // 3)
        if self.name == "cosine" and kwargs["T_max"] is None:
            kwargs["T_max"] = max(1, self.epochs)
        return kwargs

    def on_train_begin(self, net, **kwargs):
        # Created once: continued training keeps the schedule's position. After
        # a pickle round trip the optimiser is a new object: rebind, keep position.
        old = getattr(self, "scheduler_", None)
        if old is None or old.optimizer is not net.optimizer_:
            cls = getattr(torch.optim.lr_scheduler, SCHEDULES[self.name][0])
            self.scheduler_ = cls(net.optimizer_, **self.scheduler_kwargs())
            if old is not None:
                self.scheduler_.load_state_dict(old.state_dict())

    def on_epoch_end(self, net, **kwargs):
        if self.name == "plateau":
            self.scheduler_.step(net.history[-1, self.monitor])
        else:
            self.scheduler_.step()


class EarlyStopping(Callback):
    """Stop when ``valid_loss`` has not improved by ``tol`` for ``patience`` epochs.

    The weights of the best (lowest ``valid_loss``) epoch are restored when training ends, and the
    best epoch is recorded as ``best_epoch_``.
    """

    def __init__(self, patience=10, tol=1e-4, monitor="valid_loss"):
        self.patience = patience
        self.tol = tol
        self.monitor = monitor

    def on_train_begin(self, net, **kwargs):
        self.best_score_ = np.inf
        self.best_epoch_ = None
        self.best_state_ = None
        self.misses_ = 0

    def on_epoch_end(self, net, **kwargs):
        score = net.history[-1, self.monitor]
        enough = score < self.best_score_ - self.tol
        if score < self.best_score_:
            self.best_score_ = score
            self.best_epoch_ = net.history[-1, "epoch"]
            self.best_state_ = copy.deepcopy(net.module_.state_dict())
        self.misses_ = 0 if enough else self.misses_ + 1
        if self.misses_ >= self.patience:
            net.stop_training_ = True

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)


class EpochLog(Callback):
    """Write one line per epoch to stderr: the process, the epoch, the losses.

    Used by ``sktune tune --verbose``: fits run in parallel workers, whose
    stderr is the terminal's, so each line names its process.
    """

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        losses = ", ".join(f"{key} {row[key]:.4f}" for key in ("train_loss", "valid_loss")
                           if key in row)
        sys.stderr.write(f"[fit in process {os.getpid()}] epoch {row['epoch']}: {losses} "
                         f"({row['dur']:.2f} s)\n")
        sys.stderr.flush()
