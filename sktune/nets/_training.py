"""The skorch net that trains a module, with a lean per-batch path.

The estimators in :mod:`sktune.nets.estimators` compose one of these nets
(``net_``) rather than subclass skorch's ``NeuralNet``: sklearn sees clean,
explicit parameters, while skorch keeps doing what it does well (callbacks,
history, devices, checkpoints). This module is the only place that touches
skorch's training internals.

Where the time goes in skorch's loop (per mini-batch: a ``DataLoader`` that
fetches and collates every sample, ``module.train()``, three callback
notifications, history records) is what the overrides below remove, while
every callback that asks for batch events still gets them.
"""

import io
import itertools
import math
import warnings
from contextlib import nullcontext

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochScoring, EpochTimer, PassthroughScoring, PrintLog
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ..exceptions import DivergenceError
from ._data import (LoaderBatches, SampleData, SliceBatches, TensorData, TransformedBatches,
                    attach_weights, batch_weights)
from ._accumulation import batch_length, halved, mean_reduced, micro_batches, release
from ._fit_state import fit_states
from ._sent_modules import pickler_module
from ._finetune import (frozen_names, frozen_norms, lr_factors, prepare_head,
                        set_requires_grad, user_groups)
from ._precision import autocast_dtype, grad_scaler
from ._shared_weights import copy_for_fit, own_shared
from ._lora import add_adapters, base_frozen, target_layers
from ._outputs import logits_of

# Inference batches are cut larger than training ones (no gradients are kept):
# 4096 rows, fewer for modules of over 4M parameters, whose batches are big
# enough work at rows x parameters = 2**34 (multiply-adds, roughly): 496 rows
# for 34.6M parameters (its wide layers' activations stay a few MB, and its
# weights are still read once per 496 rows), 156 for BERT-base's 110M, and the
# training batch size (the size a fit already holds) for a billion.
_PREDICT_BATCH_SIZE = 4096
_PREDICT_BATCH_WORK = 2 ** 34


def _predict_batch_size(batch_size, module):
    """Rows per inference batch (``batch_size``: the training micro-batch's, the floor)."""
    n_params = sum(p.numel() for p in module.parameters()) if module is not None else 0
    rows = _PREDICT_BATCH_SIZE if n_params == 0 else _PREDICT_BATCH_WORK // n_params
    return max(int(batch_size), min(_PREDICT_BATCH_SIZE, rows))


_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


def _print(*args, **kwargs):
    print(*args, **kwargs)


class _PrintLog(PrintLog):
    """skorch's epoch table, printed when ``verbose`` through :func:`_print`, a
    function pickled by name: a fitted network still pickles when a library has
    replaced ``builtins.print`` since skorch was imported (``ray.init`` does),
    which skorch's default sink (``print`` itself) does not."""

    def __init__(self, keys_ignored=None, sink=_print, tablefmt="simple", floatfmt=".4f",
                 stralign="right"):
        super().__init__(keys_ignored=keys_ignored, sink=sink, tablefmt=tablefmt,
                         floatfmt=floatfmt, stralign=stralign)

    def _sink(self, text, verbose):
        if verbose:  # skorch prints to any sink but print itself whatever verbose says
            self.sink(text)


def _overrides(callback, hook):
    return getattr(type(callback), hook, None) is not getattr(Callback, hook)


def _diverged(net, what, value, batch=None):
    """The :class:`DivergenceError` for a non-finite ``value`` of ``what``."""
    epoch = len(net.history)
    where = f"epoch {epoch}" + ("" if batch is None else f", batch {batch}")
    lr = float(net.optimizer_.param_groups[0]["lr"] if hasattr(net, "optimizer_") else net.lr)
    return DivergenceError(
        f"Training diverged: the {what} became {value} at {where} (lr={lr:g}). The "
        "network's weights are no longer usable. Lower the learning rate `lr` (e.g. "
        "tenfold), scale the inputs, or add gradient clipping.",
        epoch=epoch, batch=batch, loss=value,
    )


def _weighted_loss(criterion, y_pred, y_true, weights):
    """Mean over the batch of ``weight * loss`` per sample.

    The estimators scale the weights to a mean of 1 over the training (and
    validation) part, so a mini-batch's loss estimates the weighted mean loss
    without bias and the learning rate keeps its meaning. The criterion
    computes per-sample losses with ``reduction="none"`` (every torch loss has
    it).
    """
    reduction, criterion.reduction = criterion.reduction, "none"
    try:
        per_sample = criterion(y_pred, y_true)
    finally:
        criterion.reduction = reduction
    per_sample = per_sample.reshape(len(weights), -1).mean(dim=1)  # several outputs: their mean
    return (per_sample * weights).mean()


def _penalised(param):
    """Whether the penalty applies to ``param``: weights of linear and conv layers
    (2 or more dimensions), not biases or normalisation scales."""
    return param.ndim >= 2


class _Interrupted(Exception):
    """A KeyboardInterrupt in transit through skorch's ``partial_fit``."""


def _validation_only(callback):
    """Scoring on validation batches only: those always take skorch's own loop."""
    return isinstance(callback, EpochScoring) and not callback.on_train


class TrainingNet(NeuralNet):
    """skorch ``NeuralNet`` with a sliced-tensor iterator and a lean batch loop.

    Parameters (beyond skorch's)
    ----------------------------
    l1_penalty : float
        Coefficient of ``sum(|w|)`` over the penalised parameters (weights,
        not biases or norm scales), added to the training loss.
    l2_in_loss : float
        Coefficient of ``0.5 * sum(w ** 2)`` added to the loss; used only
        for optimisers whose ``weight_decay`` is not the plain L2 gradient
        (e.g. AdamW); the others get the L2 term as ``weight_decay``.
    weight_decay : float
        ``weight_decay`` of the penalised parameter group.
    target_scale : (mean, scale) pair of arrays or None
        The regressor's target standardisation: the targets it trains on are
        ``(y - mean) / scale``. The history then records ``train_loss`` and
        ``valid_loss`` in the target's units (the criterion on un-standardised
        predictions and targets, in float64, penalty terms left out) and the
        losses being minimised as ``train_loss_scaled`` / ``valid_loss_scaled``.
    train_transform : callable or None
        Applied to every training batch's ``X`` (never to validation or
        prediction batches).
    num_workers : int
        ``DataLoader`` worker processes for dataset inputs (:class:`SampleData`).
    max_grad_norm : float
        Clip the gradients of the learnable parameters to this global L2 norm
        after every backward pass (0: no clipping).
    freeze, unfreeze_at, lr_multipliers, reinit_head
        The estimators' fine-tuning parameters (see :mod:`._finetune`).
    n_outputs : int or None
        Outputs the data needs (checked against a pretrained module's head).
    precision : {'32', 'bf16', '16'}
        Training and inference under ``torch.autocast`` at this precision
        (see :mod:`._precision`).
    micro_batch_size : int or None
        Run each training batch as micro-batches of at most this many samples,
        accumulating their gradients into one step (:mod:`._accumulation`);
        None: whole batches. Halved when the device runs out of memory
        mid-step (``micro_batch_size_`` holds the size in use).
    output_key : str
        Where the predictions are in a module output that is a mapping (a
        Hugging Face ``ModelOutput``: ``'logits'``); see :mod:`._outputs`.
    lora_rank, lora_alpha, lora_dropout, lora_targets
        Low-rank adapters (:mod:`._lora`); rank 0: none.

    A module given as an instance is copied at initialisation: training
    never touches the instance passed in.
    """

    def __init__(self, *args, l1_penalty=0.0, l2_in_loss=0.0, weight_decay=0.0,
                 valid_scoring=None, target_scale=None, train_transform=None, num_workers=0,
                 max_grad_norm=0.0, freeze=None, unfreeze_at=None, lr_multipliers=None,
                 reinit_head=False, n_outputs=None, precision="32", micro_batch_size=None,
                 output_key="logits", lora_rank=0, lora_alpha=None, lora_dropout=0.0,
                 lora_targets=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.l1_penalty = l1_penalty
        self.l2_in_loss = l2_in_loss
        self.weight_decay = weight_decay
        self.valid_scoring = valid_scoring
        self.target_scale = target_scale
        self.train_transform = train_transform
        self.num_workers = num_workers
        self.max_grad_norm = max_grad_norm
        self.freeze = freeze
        self.unfreeze_at = unfreeze_at
        self.lr_multipliers = lr_multipliers
        self.reinit_head = reinit_head
        self.n_outputs = n_outputs
        self.precision = precision
        self.micro_batch_size = micro_batch_size
        self.output_key = output_key
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.lora_targets = lora_targets

    # -- components --------------------------------------------------------
    @property
    def _default_callbacks(self):
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
        ]
        if self.target_scale is not None:
            callbacks += [
                ("train_loss_scaled", PassthroughScoring(name="train_loss_scaled",
                                                         on_train=True)),
                ("valid_loss_scaled", PassthroughScoring(name="valid_loss_scaled")),
            ]
        if self.valid_scoring is not None:
            scoring, name = self.valid_scoring
            callbacks.append((name, EpochScoring(scoring, name=name, lower_is_better=False)))
        callbacks.append(("print_log", _PrintLog()))
        return callbacks

    def initialize(self):
        self.autocast_dtype_ = autocast_dtype(self.precision, self.device)
        self.grad_scaler_ = grad_scaler(self.precision, self.device)
        self.micro_batch_size_ = self.micro_batch_size
        super().initialize()
        # the target statistics as tensors once, not once per batch
        self.target_tensors_ = None if self.target_scale is None else tuple(
            torch.as_tensor(a, dtype=torch.float64, device=self.device)
            for a in self.target_scale)
        return self

    def initialize_callbacks(self):
        super().initialize_callbacks()
        self.batch_hooks_ = any(
            _overrides(cb, hook) for _, cb in self.callbacks_ for hook in _BATCH_HOOKS
            if not _validation_only(cb)
        )
        return self

    def initialize_module(self):
        super().initialize_module()
        pretrained = isinstance(self.module, torch.nn.Module)
        if pretrained:
            # Every fit starts from the given weights and never changes them: what
            # trains is copied, what is frozen is shared with the instance.
            self.frozen_ = self._frozen_names(self.module)
            self.module_ = copy_for_fit(self.module, self.frozen_)
        prepare_head(self.module_, self.n_outputs, self.reinit_head, pretrained)
        if not pretrained:
            self.frozen_ = self._frozen_names(self.module_)
        if self.lora_rank:
            add_adapters(self.module_, target_layers(self.module_, self.lora_targets),
                         int(self.lora_rank), self.lora_alpha, self.lora_dropout)
        set_requires_grad(self.module_, self.frozen_, False)
        self.frozen_norms_ = frozen_norms(self.module_) if self.frozen_ else []
        return self

    def _frozen_names(self, module):
        """What ``freeze`` freezes, and with LoRA every weight but the output layer's."""
        frozen = frozen_names(module, self.freeze)
        if self.lora_rank:
            frozen |= base_frozen(module)
        return frozen

    def unfreeze(self):
        """Let the frozen parameters train from now on (``unfreeze_at``), on copies
        of their own where they were shared with a pretrained instance."""
        if isinstance(self.module, torch.nn.Module):
            own_shared(self.module_, self.frozen_, self.frozen_norms_)
        set_requires_grad(self.module_, self.frozen_, True)
        self.frozen_, self.frozen_norms_ = set(), []

    def _set_training(self, training=True):
        super()._set_training(training)
        if training:  # frozen normalisation layers keep their running statistics
            for norm in self.frozen_norms_:
                norm.eval()

    def penalized_parameters(self):
        """Trainable weights of linear/conv layers (see :func:`_penalised`)."""
        return [p for _, p in self.get_all_learnable_params()
                if _penalised(p) and p.requires_grad]

    def initialize_optimizer(self, triggered_directly=None):
        named = list(self.get_all_learnable_params())
        penalized = {id(p) for _, p in named if _penalised(p)}
        kwargs = self.get_params_for("optimizer")
        kwargs.setdefault("lr", self.lr)
        lr = float(kwargs["lr"])
        # A user's optimizer__weight_decay adds to the penalty's, on weights only.
        decay = self.weight_decay + kwargs.pop("weight_decay", 0.0)
        factors = lr_factors(self.module_, self.lr_multipliers)
        chosen = user_groups(self.module_, kwargs.pop("param_groups", None))
        groups = {}
        for name, p in named:
            index, options = chosen.get(name, (None, {}))
            key = (id(p) in penalized, factors.get(name, 1.0), index)
            if key not in groups:
                group = {"params": [], "lr": lr * key[1],
                         "weight_decay": decay if key[0] else 0.0, **options}
                group["lr_factor"] = group["lr"] / lr if lr else 1.0  # history: the base lr
                groups[key] = group
            groups[key]["params"].append(p)
        # weights' groups first (the layout optimiser state files had before groups)
        ordered = [g for key, g in sorted(groups.items(), key=lambda item: not item[0][0])]
        self.optimizer_ = self.optimizer(ordered, **kwargs)
        self.clipped_parameters_ = [p for _, p in named] if self.max_grad_norm else None
        return self

    def base_lr(self):
        """The learning rate before ``lr_multipliers`` (as the schedule has it now)."""
        group = self.optimizer_.param_groups[0]
        factor = group.get("lr_factor", 1.0)
        return group["lr"] / factor if factor else self.lr

    # -- precision -----------------------------------------------------------
    def autocast(self):
        """``torch.autocast`` at ``precision`` (a no-op for '32')."""
        if self.autocast_dtype_ is None:
            return nullcontext()
        return torch.autocast(torch.device(self.device).type, dtype=self.autocast_dtype_)

    def infer(self, x, **fit_params):
        """The module's predictions for ``x`` (a tensor, or a dict of named
        inputs passed as keywords), read from its output (:func:`logits_of`)."""
        with self.autocast():
            return logits_of(super().infer(x, **fit_params), self.output_key)

    def backward(self, loss):
        """``loss.backward()``, through the gradient scaler for '16', then clipping."""
        self._backward_only(loss)
        self._gradients_done()

    def _backward_only(self, loss):
        """Add ``loss``'s gradients (scaled for '16')."""
        if self.grad_scaler_ is None:
            loss.backward()
        else:
            self.grad_scaler_.scale(loss).backward()

    def _gradients_done(self):
        """The step's gradients are all in: unscale them ('16'), then clip."""
        if self.grad_scaler_ is not None:
            self.grad_scaler_.unscale_(self.optimizer_)  # clip and report true gradients
        self._clip_gradients()

    # -- one step's forward and backward: micro-batches, out-of-memory retry --------
    def forward_backward(self, Xi, yi, **fit_params):
        """Forward and backward of one training batch: the gradients of its loss,
        in micro-batches of ``micro_batch_size_`` (their gradients adding up to
        the batch's), retried with micro-batches of half the size when the
        device runs out of memory. The caller zeroes the gradients before and
        steps the optimiser after.

        Returns
        -------
        loss : torch.Tensor
            The batch's loss (detached when accumulated).
        y_pred : torch.Tensor
            The batch's predictions.
        """
        tried = self.micro_batch_size_
        while True:
            out_of_memory = False
            try:
                result = self._forward_backward(Xi, yi, **fit_params)
            except torch.OutOfMemoryError:
                out_of_memory = True  # handled below, once the failed step's frames are gone
            if not out_of_memory:
                if self.micro_batch_size_ != tried:
                    warnings.warn(
                        f"The device ran out of memory in a training step of "
                        f"{batch_length(Xi)} samples; it ran as micro-batches of "
                        f"{self.micro_batch_size_} samples (their gradients accumulated: "
                        f"batch_size keeps its meaning), which the rest of this fit uses. "
                        f"Set micro_batch_size={self.micro_batch_size_} to start there.",
                        ResourceWarning, stacklevel=2)
                return result
            smaller = halved(self.micro_batch_size_, batch_length(Xi))
            self.optimizer_.zero_grad(set_to_none=True)
            release(self.device)
            if smaller is None:
                raise torch.OutOfMemoryError(
                    "The device ran out of memory on a training step of one sample (after "
                    "halving the micro-batches down to 1): the network does not fit; use a "
                    "smaller network, precision='bf16' or '16', or freeze part of it.")
            self.micro_batch_size_ = smaller

    def _forward_backward(self, Xi, yi, **fit_params):
        parts = micro_batches(Xi, yi, self.micro_batch_size_)
        if len(parts) == 1:
            with self.autocast():
                y_pred = (logits_of(self.module_(Xi), self.output_key)
                          if torch.is_tensor(Xi) and not fit_params
                          else self.infer(Xi, **fit_params))
                loss = self.get_loss(y_pred, yi, X=Xi, training=True)
            self.backward(loss)
            return loss, y_pred
        by_share = mean_reduced(self.criterion_)
        total, predictions = None, []
        for i, (Xc, yc, share) in enumerate(parts):
            with self.autocast():
                y_pred = self.infer(Xc, **fit_params)
                loss = self._criterion_loss(y_pred, yc)
                if by_share:
                    loss = loss * share
                if i == 0:  # the penalty once per step
                    loss = self._add_penalty(loss)
            self._backward_only(loss)
            loss = loss.detach()
            total = loss if total is None else total + loss
            predictions.append(y_pred.detach())
            del y_pred, loss  # this micro-batch's graph goes before the next one's
        self._gradients_done()
        return total, torch.cat(predictions)

    def step_optimizer(self):
        if self.grad_scaler_ is None:
            self.optimizer_.step()
        else:
            self.grad_scaler_.step(self.optimizer_)
            self.grad_scaler_.update()
        self._stepped()

    def _step_optimizer(self, step_fn):
        if self.grad_scaler_ is None:
            out = super()._step_optimizer(step_fn)
            self._stepped()
            return out
        step_fn()  # a scaled step takes no closure
        return self.step_optimizer()

    def _stepped(self):
        """After each optimiser step: a per-step learning-rate schedule steps too."""
        schedule = getattr(self, "step_schedule_", None)
        if schedule is not None:
            schedule.step_taken()

    def _clip_gradients(self):
        """Scale the gradients down to ``max_grad_norm`` (global L2 norm), if set."""
        if self.clipped_parameters_ is not None:
            torch.nn.utils.clip_grad_norm_(self.clipped_parameters_, self.max_grad_norm)

    def train_step_single(self, batch, **fit_params):
        """skorch's step, under autocast, with the scaler and clipping before
        ``on_grad_computed`` and the optimiser's step."""
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        loss, y_pred = self.forward_backward(Xi, yi, **fit_params)
        return {"loss": loss, "y_pred": y_pred}

    def get_dataset(self, X, y=None):
        if isinstance(X, (TensorData, SampleData)):
            return X
        if isinstance(X, np.ndarray) and (y is None or isinstance(y, np.ndarray)):
            return TensorData(X, y, device=self.device)
        return super().get_dataset(X, y)

    def get_iterator(self, dataset, training=False):
        if isinstance(dataset, TensorData):
            size = (self.batch_size if training else _predict_batch_size(
                getattr(self, "micro_batch_size_", None) or self.batch_size,
                getattr(self, "module_", None)))
            batches = SliceBatches(dataset, size, shuffle=training)
        elif isinstance(dataset, SampleData):  # samples read as batches ask for them
            batches = LoaderBatches(dataset, self.batch_size, shuffle=training,
                                    num_workers=self.num_workers, device=self.device)
        else:
            batches = super().get_iterator(dataset, training=training)
        if training and self.train_transform is not None:
            batches = TransformedBatches(batches, self.train_transform)
        return batches

    # -- loss ----------------------------------------------------------------
    def _criterion_loss(self, y_pred, y_true):
        """The criterion on a batch, weighted by the batch's sample weights if any."""
        sample_weights = batch_weights(y_true)
        if y_pred.dtype in (torch.float16, torch.bfloat16):
            y_pred = y_pred.float()  # the loss in float32 (autocast's outputs)
        if not torch.is_tensor(y_true):
            y_true = to_tensor(y_true, device=self.device)
        if y_pred.dim() == 1 and y_true.dim() == 2 and y_true.shape[1] == 1:
            y_pred = y_pred.unsqueeze(1)  # a regression module that returns shape (n,)
        if sample_weights is None:
            return self.criterion_(y_pred, y_true)
        return _weighted_loss(self.criterion_, y_pred, y_true, sample_weights)

    def loss_in_target_units(self, y_pred, y_true):
        """The criterion's value on un-standardised predictions and targets (a float).

        Only with ``target_scale``; float64, without gradients.
        """
        mean, scale = self.target_tensors_
        weights = batch_weights(y_true)
        with torch.no_grad():
            pred = y_pred.detach().double()
            pred = (pred.unsqueeze(1) if pred.dim() == 1 else pred) * scale + mean
            true = to_tensor(y_true, device=y_pred.device).double() * scale + mean
            if weights is not None:
                attach_weights(true, weights.double())
            return self._criterion_loss(pred, true).item()

    def _record_target_units(self, step, y_true, prefix):
        """skorch's steps: the history gets the loss in target units, and the scaled one."""
        if self.target_scale is not None:
            self.history.record_batch(f"{prefix}_loss_scaled", step["loss"].item())
            step["loss"] = torch.tensor(self.loss_in_target_units(step["y_pred"], y_true),
                                        dtype=torch.float64)
        return step

    def train_step(self, batch, **fit_params):
        return self._record_target_units(super().train_step(batch, **fit_params), batch[1],
                                         "train")

    def validation_step(self, batch, **fit_params):
        return self._record_target_units(super().validation_step(batch, **fit_params),
                                         batch[1], "valid")

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = self._criterion_loss(y_pred, y_true)
        return self._add_penalty(loss) if training else loss

    def _add_penalty(self, loss):
        """``loss`` plus the L1 / L2 penalty terms, if any."""
        if self.l1_penalty or self.l2_in_loss:
            weights = self.penalized_parameters()
            if self.l1_penalty:
                loss = loss + self.l1_penalty * sum(w.abs().sum() for w in weights)
            if self.l2_in_loss:
                loss = loss + 0.5 * self.l2_in_loss * sum(w.pow(2).sum() for w in weights)
        return loss

    # -- loop ----------------------------------------------------------------
    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        if self.frozen_ and self.unfreeze_at is not None and len(self.history) > self.unfreeze_at:
            self.unfreeze()
        self.history.record("lr", self.base_lr())

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """skorch's ``partial_fit``, except that Ctrl-C is not swallowed.

        skorch catches ``KeyboardInterrupt`` and returns as if training had
        finished; inside a search that scores a half-trained network (and a
        checkpoint would store it as finished) and Ctrl-C never stops a
        sequential search. Here the interrupt propagates; the network keeps
        the weights it had reached.
        """
        try:
            return super().partial_fit(X, y, classes=classes, **fit_params)
        except _Interrupted:
            raise KeyboardInterrupt from None

    def fit_loop(self, X, y=None, epochs=None, *, _routing_method=None, **fit_params):
        """Train for ``epochs`` (default ``max_epochs``) epochs.

        Stops early when a callback sets ``net.stop_training_ = True``.
        """
        try:
            return self._fit_loop(X, y, epochs, **fit_params)
        except KeyboardInterrupt:
            raise _Interrupted from None  # past skorch's `except KeyboardInterrupt`

    def _fit_loop(self, X, y, epochs, **fit_params):
        self.check_training_readiness()
        epochs = self.max_epochs if epochs is None else epochs
        dataset_train, dataset_valid = self.get_split_datasets(X, y, **fit_params)
        epoch_kwargs = {"dataset_train": dataset_train, "dataset_valid": dataset_valid}
        iterator_train = self.get_iterator(dataset_train, training=True)
        iterator_valid = (None if dataset_valid is None
                          else self.get_iterator(dataset_valid, training=False))
        self.stop_training_ = False
        # A fit that saves its state (FitCheckpoint) continues from the last one saved.
        target = len(self.history) + epochs
        states = fit_states(self)
        if states is not None:
            self.n_train_ = len(dataset_train) if hasattr(dataset_train, "__len__") else None
            states.resume(self, target)
        while len(self.history) < target and not self.stop_training_:
            self.notify("on_epoch_begin", **epoch_kwargs)
            self.run_single_epoch(iterator_train, training=True, prefix="train",
                                  step_fn=self.train_step, **fit_params)
            self.run_single_epoch(iterator_valid, training=False, prefix="valid",
                                  step_fn=self.validation_step, **fit_params)
            self._check_epoch_losses()
            self.notify("on_epoch_end", **epoch_kwargs)
            if states is not None:
                states.epoch_done(self, target)
        if states is not None:
            states.fit_done()
        return self

    def _check_epoch_losses(self):
        """Raise :class:`DivergenceError` if a loss of this epoch is not finite.

        The lean path already checks every batch as it goes; this covers
        skorch's own loop (callbacks with batch hooks) and the validation loss.
        """
        # Validation batches are recorded after the training ones; the epoch's
        # mean valid_loss is only written at on_epoch_end, so read the batches.
        for i, batch in enumerate(self.history[-1]["batches"], start=1):
            for key, what in (("train_loss", "training loss"), ("valid_loss", "validation loss")):
                value = batch.get(key)
                if value is not None and not math.isfinite(value):
                    raise _diverged(self, what, value, batch=i)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        lean = (training and not self.batch_hooks_ and not fit_params
                and step_fn == self.train_step and len(self._optimizers) == 1)
        if not lean:
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        # One train() call per epoch, no closures, no notifications nobody listens to.
        self._set_training(True)
        optimizer, history = self.optimizer_, self.history
        forward_backward, step = self.forward_backward, self.step_optimizer
        batch_count = 0
        scaled = self.target_scale is not None
        for Xi, yi in iterator:
            history.new_batch()
            optimizer.zero_grad()
            loss, y_pred = forward_backward(Xi, yi)
            value = loss.item()
            if scaled:
                history.record_batch("train_loss_scaled", value)
                history.record_batch("train_loss", self.loss_in_target_units(y_pred, yi))
            else:
                history.record_batch("train_loss", value)
            history.record_batch("train_batch_size", batch_length(Xi))
            batch_count += 1
            if not math.isfinite(value):  # a Python float: free, no extra sync
                raise _diverged(self, "training loss", value, batch=batch_count)
            step()
        history.record("train_batch_count", batch_count)
        return None


    # -- pickling ------------------------------------------------------------------
    # skorch pickles every tensor storage of the module, optimiser and criterion
    # as its own torch.save archive and loads each with torch.load, so that a
    # net trained on a GPU loads on a machine without one. On the CPU one
    # archive for all of them does the same in a fraction of the time: a
    # search that continues training (HyperbandSearchCV) ships every net to a
    # worker and back at each rung.
    _TORCH_STATE = "_sktune_cpu_torch_attributes"

    def __getstate__(self):
        names = [k for k in self.__dict__ if isinstance(k, str)
                 and k.startswith(tuple(self.cuda_dependent_attributes_))]
        if not _all_on_cpu(self.__dict__[k] for k in names):
            return super().__getstate__()
        state = self.__dict__.copy()
        buffer = io.BytesIO()
        # cloudpickle: a module class of a script's __main__ pickles in a worker too
        torch.save({k: state.pop(k) for k in names}, buffer, pickle_module=pickler_module())
        state[self._TORCH_STATE] = buffer.getvalue()
        return state

    def __setstate__(self, state):
        blob = state.get(self._TORCH_STATE)
        if blob is None:
            return super().__setstate__(state)
        state = dict(state)
        del state[self._TORCH_STATE]
        # the objects pickled with the net itself (unpickling it runs its code anyway)
        state.update(torch.load(io.BytesIO(blob), map_location="cpu", weights_only=False))
        self.__dict__.update(state)


def _all_on_cpu(objects):
    """Whether every tensor of these modules, optimisers and criteria is on the CPU."""
    for obj in objects:
        if isinstance(obj, torch.nn.Module):
            tensors = itertools.chain(obj.parameters(), obj.buffers())
        elif isinstance(obj, torch.optim.Optimizer):
            tensors = (v for st in obj.state.values() for v in st.values()
                       if isinstance(v, torch.Tensor))
            tensors = itertools.chain(tensors, (p for g in obj.param_groups for p in g["params"]))
        else:
            continue
        if any(t.device.type != "cpu" for t in tensors):
            return False
    return True


class ClassifierTrainingNet(TrainingNet):
    """Training net whose ``predict`` returns class indices (for epoch scoring)."""

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)
