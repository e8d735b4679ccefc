"""skorch callbacks behind the ``lr_schedule`` and ``early_stopping`` parameters.

Both keep their state across ``partial_fit`` calls, so training that is
continued for more epochs follows the same schedule as one long run.

Schedules come in two kinds: torch's schedulers stepped once per epoch
(:class:`LRSchedule`: 'step', 'exponential', 'plateau'), and the
transformer fine-tuning schedules stepped once per optimiser step, with a
linear warmup (:class:`StepSchedule`: 'linear', 'cosine', 'constant'), whose
learning rates equal transformers' ``get_scheduler`` of the same name step
for step.
"""

import copy
import math
import os
import sys
from numbers import Integral, Real

import numpy as np
import torch
from skorch.callbacks import Callback

#: ``lr_schedule`` names -> (torch scheduler class name, default knobs).
#: ``None`` as a knob default means "derived from the estimator" (see ``LRSchedule``).
SCHEDULES = {
    "step": ("StepLR", {"step_size": None, "gamma": 0.1}),
    "exponential": ("ExponentialLR", {"gamma": 0.95}),
    "plateau": ("ReduceLROnPlateau", {"factor": 0.1, "patience": 5, "threshold": 1e-4}),
}
#: ``lr_schedule`` names stepped per optimiser step -> their knobs' defaults.
STEP_SCHEDULES = {
    "linear": {"warmup": 0},
    "cosine": {"warmup": 0, "eta_min": 0.0},
    "constant": {"warmup": 0},
    "onecycle": {"warmup": 0.3, "div_factor": 25.0, "final_div_factor": 1e4},
}


def check_step_knobs(name, knobs):
    """Raise ``ValueError`` for knobs a per-step schedule does not take or bad values."""
    unknown = sorted(set(knobs) - set(STEP_SCHEDULES[name]))
    if unknown:
        raise ValueError(
            f"lr_schedule={name!r} takes the knobs {sorted(STEP_SCHEDULES[name])} "
            f"(lr_schedule__<knob>); got {unknown}. Per-epoch torch schedulers with other "
            f"knobs: {sorted(SCHEDULES)}; per-step ones: {sorted(STEP_SCHEDULES)} (e.g. "
            "'cosine').")
    warmup = knobs.get("warmup", STEP_SCHEDULES[name]["warmup"])
    if isinstance(warmup, bool) or not (
            (isinstance(warmup, Integral) and warmup >= 0)
            or (isinstance(warmup, Real) and 0 <= warmup <= 1)):
        raise ValueError(
            f"lr_schedule__warmup must be a number of optimiser steps (an int >= 0) or a "
            f"fraction of all steps (a float in [0, 1]); got {warmup!r}.")
    eta_min = knobs.get("eta_min", 0.0)
    if not (isinstance(eta_min, Real) and eta_min >= 0):
        raise ValueError(f"lr_schedule__eta_min must be a learning rate >= 0; got {eta_min!r}.")
    if name == "onecycle":
        if not warmup:
            raise ValueError("lr_schedule='onecycle' rises to lr first: lr_schedule__warmup "
                             "must be > 0 (default 0.3 of the steps).")
        for knob in ("div_factor", "final_div_factor"):
            value = knobs.get(knob, 1.0)
            if isinstance(value, bool) or not (isinstance(value, Real) and value >= 1):
                raise ValueError(f"lr_schedule__{knob} must be a number >= 1; got {value!r}.")


def warmup_steps(warmup, total):
    """Warmup steps: an int as it is, a float as a fraction of ``total`` (rounded
    up, as transformers' ``TrainingArguments.warmup_ratio``)."""
    if isinstance(warmup, Integral):
        return int(warmup)
    return math.ceil(total * float(warmup))


class _Shape:
    """The factor of the base learning rate at an optimiser step (``LambdaLR``'s
    function; an object so that schedules pickle and their state saves).

    The arithmetic is transformers' (``get_linear_schedule_with_warmup``,
    ``get_cosine_schedule_with_warmup`` with half a cycle,
    ``get_constant_schedule_with_warmup``), so the rates are equal, not only close;
    ``floor`` (``eta_min`` / the group's base rate) lifts cosine's end."""

    def __init__(self, name, warmup, total, floor=0.0):
        self.name, self.warmup, self.total, self.floor = name, warmup, total, floor

    def __call__(self, step):
        if step < self.warmup:
            return float(step) / float(max(1, self.warmup))
        if self.name == "constant":
            return 1.0
        if self.name == "linear":
            return max(0.0, float(self.total - step) / float(max(1, self.total - self.warmup)))
        progress = float(step - self.warmup) / float(max(1, self.total - self.warmup))
        decay = max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))
        return decay if not self.floor else self.floor + (1.0 - self.floor) * decay


class StepSchedule(Callback):
    """A learning-rate schedule stepped after every optimiser step: a linear
    warmup from 0, then constant, linear decay to 0 or half a cosine to
    ``eta_min``, over all steps of the fit (``epochs`` times the batches of an
    epoch), as transformers' ``get_scheduler(name, ...)``; or torch's
    ``OneCycleLR`` ('onecycle': from ``lr / div_factor`` up to ``lr`` over the
    warmup, then down to ``lr / (div_factor * final_div_factor)``, both
    halves cosine; momentum is not cycled). After the fit's last step the
    rate stays where it ended (training continued with ``partial_fit``).

    Parameters
    ----------
    name : {'linear', 'cosine', 'constant', 'onecycle'}
    epochs : int
        The estimator's ``epochs``: the fit's steps are ``epochs`` times the
        training batches of an epoch.
    warmup : int or float, default=0
        Warmup steps (an int), or a fraction of all steps (a float in [0, 1],
        rounded up).
    eta_min : float, default=0.0
        The learning rate the cosine ends at ('cosine' only).
    """

    def __init__(self, name, epochs, warmup=0, eta_min=0.0, div_factor=25.0,
                 final_div_factor=1e4):
        self.name = name
        self.epochs = epochs
        self.warmup = warmup
        self.eta_min = eta_min
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor

    def on_train_begin(self, net, X=None, **kwargs):
        # Created once: continued training keeps the schedule's position. After
        # a pickle round trip the optimiser is a new object: rebind, keep position.
        old = getattr(self, "scheduler_", None)
        if old is None or old.optimizer is not net.optimizer_:
            total = int(self.epochs) * max(1, -(-len(X) // int(net.batch_size)))
            warm = warmup_steps(self.warmup, total)
            self.total_steps_, self.warmup_steps_ = total, warm
            if self.name == "onecycle":
                self.scheduler_ = torch.optim.lr_scheduler.OneCycleLR(
                    net.optimizer_, max_lr=[g["lr"] for g in net.optimizer_.param_groups],
                    total_steps=total, pct_start=min(1.0, warm / total),
                    div_factor=float(self.div_factor),
                    final_div_factor=float(self.final_div_factor), cycle_momentum=False)
            else:
                shapes = [_Shape(self.name, warm, total,
                                 float(self.eta_min) / group["lr"] if group["lr"] else 0.0)
                          for group in net.optimizer_.param_groups]
                self.scheduler_ = torch.optim.lr_scheduler.LambdaLR(net.optimizer_, shapes)
            if old is not None:
                _continue_from(self.scheduler_, old)
        net.step_schedule_ = self

    def step_taken(self):
        """One optimiser step was taken (the training net calls this); past the
        fit's last step the rate stays where the schedule ended."""
        if self.scheduler_.last_epoch < self.total_steps_:
            self.scheduler_.step()


def _continue_from(scheduler, old):
    """``scheduler`` (new, on the unpickled optimiser) where ``old`` was: its
    position, and the rates it had set (a new scheduler sets its first ones)."""
    scheduler.load_state_dict(old.state_dict())
    last = getattr(old, "_last_lr", None)
    if last is not None:
        for group, lr in zip(scheduler.optimizer.param_groups, last):
            group["lr"] = lr


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
                _continue_from(self.scheduler_, old)

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
