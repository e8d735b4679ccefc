"""The shared machinery of sktune's network estimators.

An estimator here is a plain scikit-learn estimator (explicit ``__init__``
parameters, validation in ``fit``, fitted attributes ending in ``_``) that
builds a skorch :class:`~sktune.nets._training.TrainingNet` in ``fit`` and
keeps it as ``net_``. See ``docs/design.md`` for why this composes skorch
instead of subclassing it.
"""

import inspect
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.helper import predefined_split
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions
from sklearn.utils.validation import (_check_sample_weight, _check_y, check_consistent_length,
                                      check_is_fitted, validate_data)

from ..data._inputs import is_inputs
from ..data._view import as_view, is_dataset

try:  # scikit-learn >= 1.9: callbacks (sklearn.callback) reach the networks of a search
    from sklearn.callback import CallbackSupportMixin
    from sklearn.callback._callback_support import callback_management_context
except ImportError:  # pragma: no cover - older scikit-learn
    CallbackSupportMixin = object
    callback_management_context = None

from ._callbacks import (SCHEDULES, STEP_SCHEDULES, EarlyStopping, LRSchedule, StepSchedule,
                         check_step_knobs)
from ._data import SampleData, TensorData, sample_shape
from ._devices import placed_device
from ._named_inputs import check_forward_takes, typed_inputs
from ._options import (COUPLED_WEIGHT_DECAY, FUSED_OPTIMIZERS, MOMENTUM_OPTIMIZERS,
                       OPTIMIZERS, ROUTED_PREFIXES, penalty_coefficients)
from ._threads import fit_threads, torch_threads
from .modules import ACTIVATIONS, MLP, ResidualMLP

#: Built-in modules that need 2-D input (custom modules and ConvNet may take n-D).
_FLAT_INPUT_MODULES = (None, MLP, ResidualMLP)


def _routed_key(key):
    prefix, sep, rest = key.partition("__")
    return bool(sep) and bool(rest) and prefix in ROUTED_PREFIXES


#: Public attributes set by ``fit`` (everything else public is a parameter).
_FITTED_ATTRIBUTES = frozenset({"net_", "history_", "n_iter_", "classes_", "n_features_in_",
                                "feature_names_in_", "target_mean_", "target_scale_"})


def _is_extra_param(key, declared):
    """A parameter given through ``**kwargs``: public, not fitted, not declared."""
    return not (key in declared or key.startswith("_") or key in _FITTED_ATTRIBUTES)


def with_keyword(init, **defaults):
    """The signature of ``init`` with keyword-only parameters ``defaults`` added.

    A subclass that adds parameters to :class:`BaseNeuralNet` writes
    ``def __init__(self, *args, name=default, **kwargs)`` and sets this as its
    ``__init__.__signature__``: scikit-learn (``get_params``, ``clone``,
    ``repr``) and ``help`` then see every parameter by name, as if the whole
    signature had been written out.

    >>> def f(self, a=1, **kwargs): ...
    >>> str(with_keyword(f, b=2))
    '(self, a=1, *, b=2, **kwargs)'
    """
    signature = inspect.signature(init)
    params = list(signature.parameters.values())
    tail = [p for p in params if p.kind is p.VAR_KEYWORD]
    head = [p for p in params if p.kind is not p.VAR_KEYWORD]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
             for name, default in defaults.items()]
    return signature.replace(parameters=[*head, *added, *tail])


def _checked_weights(sample_weight, X):
    """``sample_weight`` checked by sklearn, as float32; None when all are equal
    (equal weights train exactly like no weights).

    >>> _checked_weights([1, 3], np.zeros((2, 1)))
    array([1., 3.], dtype=float32)
    >>> _checked_weights([2, 2], np.zeros((2, 1))) is None
    True
    """
    if sample_weight is None:
        return None
    weights = _check_sample_weight(sample_weight, X, dtype=np.float32, ensure_non_negative=True)
    return None if np.all(weights == weights[0]) else weights


def _mean_one(weights, part):
    """``weights`` scaled to a mean of 1, so that the mean of ``weight * loss``
    over a batch estimates the weighted mean loss and ``lr`` keeps its meaning."""
    if weights is None:
        return None
    mean = float(weights.mean(dtype=np.float64))
    if not mean > 0:
        raise ValueError(f"sample_weight is zero on every sample of the {part}; give some of "
                         "them a positive weight (or use another validation_fraction).")
    return weights / np.float32(mean)


class BaseNeuralNet(CallbackSupportMixin, BaseEstimator):
    """Base class of :class:`NeuralNetClassifier` and :class:`NeuralNetRegressor`.

    Subclasses set ``_net_class``, ``_default_criterion``, ``_valid_scoring``
    and implement ``_prepare_targets`` / ``_n_outputs``.
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "module": [None, HasMethods(["forward"])],
        "criterion": [None, HasMethods(["forward"])],
        "optimizer": [StrOptions(set(OPTIMIZERS)), HasMethods(["step", "zero_grad"])],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "lr_schedule": [None, StrOptions({*STEP_SCHEDULES, *SCHEDULES}),
                        HasMethods(["on_epoch_end"])],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "penalty": [None, StrOptions({"l1", "l2", "elasticnet"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "early_stopping": ["boolean"],
        "validation_fraction": [None, Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "torch_threads": [None, Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "callbacks": [None, list],
        "train_transform": [None, callable],
        "num_workers": [Interval(Integral, 0, None, closed="left")],
        "max_grad_norm": [None, Interval(Real, 0, None, closed="left")],
        "freeze": [None, Interval(Integral, 0, None, closed="left"), str, list, tuple],
        "unfreeze_at": [None, Interval(Integral, 0, None, closed="left")],
        "lr_multipliers": [None, dict, Interval(Real, 0, None, closed="neither")],
        "reinit_head": ["boolean", str],
        "precision": [StrOptions({"32", "bf16", "16"})],
        "micro_batch_size": [None, Interval(Integral, 1, None, closed="left")],
        "output_key": [str],
        "lora_rank": [Interval(Integral, 0, None, closed="left")],
        "lora_alpha": [None, Interval(Real, 0, None, closed="neither")],
        "lora_dropout": [Interval(Real, 0, 1, closed="left")],
        "lora_targets": [None, str, list, tuple],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        dropout=0.0,
        module=None,
        criterion=None,
        optimizer="adam",
        lr=1e-3,
        momentum=0.9,
        lr_schedule=None,
        batch_size=64,
        epochs=50,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        early_stopping=False,
        validation_fraction=None,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        device="cpu",
        torch_threads=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
        train_transform=None,
        num_workers=0,
        max_grad_norm=None,
        freeze=None,
        unfreeze_at=None,
        lr_multipliers=None,
        reinit_head=False,
        precision="32",
        micro_batch_size=None,
        output_key="logits",
        lora_rank=0,
        lora_alpha=None,
        lora_dropout=0.0,
        lora_targets=None,
        **kwargs,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.module = module
        self.criterion = criterion
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.epochs = epochs
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.torch_threads = torch_threads
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.train_transform = train_transform
        self.num_workers = num_workers
        self.max_grad_norm = max_grad_norm
        self.freeze = freeze
        self.unfreeze_at = unfreeze_at
        self.lr_multipliers = lr_multipliers
        self.reinit_head = reinit_head
        self.precision = precision
        self.micro_batch_size = micro_batch_size
        self.output_key = output_key
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.lora_targets = lora_targets
        vars(self).update(kwargs)

    # -- parameters ------------------------------------------------------
    def _extra_params(self):
        """Parameters given through ``**kwargs`` (``module__units=...`` and the like)."""
        declared = self._get_param_names()
        return {k: v for k, v in vars(self).items() if _is_extra_param(k, declared)}

    def _routed_params(self, prefix):
        """The ``<prefix>__<arg>`` parameters, keyed by ``<arg>``."""
        head = prefix + "__"
        return {k[len(head):]: v for k, v in self._extra_params().items()
                if k.startswith(head)}

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(self._extra_params())
        return params

    def set_params(self, **params):
        plain = {}
        extra = self._extra_params()
        for key, value in params.items():
            nested_in_object = (key.startswith("lr_schedule__")
                                and hasattr(self.lr_schedule, "set_params"))
            if (_routed_key(key) and not nested_in_object) or key in extra:
                setattr(self, key, value)
            else:
                plain[key] = value
        return super().set_params(**plain) if plain else self

    def _check_params(self):
        """Validate what the declarative constraints cannot express; raise early."""
        self._validate_params()
        unknown = sorted(k for k in self._extra_params() if not _routed_key(k))
        if unknown:
            raise ValueError(
                f"Unknown parameter(s) {unknown} for {type(self).__name__}; extra "
                f"parameters must be named <prefix>__<arg> with prefix in {ROUTED_PREFIXES}."
            )
        sizes = ((self.hidden_layer_sizes,) if isinstance(self.hidden_layer_sizes, Integral)
                 else tuple(self.hidden_layer_sizes))
        if not all(isinstance(s, Integral) and s >= 1 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be a tuple of positive ints (or () for a linear "
                f"model); got {self.hidden_layer_sizes!r}."
            )
        if self.module is not None and not (
            isinstance(self.module, type) and issubclass(self.module, torch.nn.Module)
        ) and not isinstance(self.module, torch.nn.Module):
            raise ValueError(
                f"module must be None, a torch.nn.Module subclass (built with module__<name> "
                f"arguments) or an nn.Module instance (a pretrained network, copied for each "
                f"fit); got {self.module!r}."
            )
        if isinstance(self.module, torch.nn.Module) and self._routed_params("module"):
            raise ValueError(
                f"module is an instance ({type(self.module).__name__}), so the module__ "
                f"parameters {sorted('module__' + k for k in self._routed_params('module'))} "
                "have nothing to build; "
                "pass the class as module to build it from them, or drop them.")
        if isinstance(self.freeze, (list, tuple)) and not all(
                isinstance(p, str) for p in self.freeze):
            raise ValueError(f"freeze must be an int, a pattern or a list of patterns "
                             f"(str); got {self.freeze!r}.")
        if isinstance(self.lr_multipliers, dict) and not all(
                isinstance(k, str) and isinstance(v, Real) and v >= 0
                for k, v in self.lr_multipliers.items()):
            raise ValueError(f"lr_multipliers must map patterns (str) to factors >= 0 "
                             f"(or be one float: the layer-wise decay); got "
                             f"{self.lr_multipliers!r}.")
        if not isinstance(self.optimizer, str) and not (
            isinstance(self.optimizer, type) and issubclass(self.optimizer, torch.optim.Optimizer)
        ):
            raise ValueError(
                f"optimizer must be one of {sorted(OPTIMIZERS)} or a torch.optim.Optimizer "
                f"subclass; got {self.optimizer!r}."
            )
        if self.micro_batch_size is not None and self.micro_batch_size > self.batch_size:
            raise ValueError(
                f"micro_batch_size={self.micro_batch_size} is larger than batch_size="
                f"{self.batch_size}: a micro-batch is a part of one optimiser step's batch. "
                f"Use micro_batch_size <= batch_size (in a search over batch_size, <= the "
                f"smallest batch_size searched), or None to run whole batches.")
        knobs = self._routed_params("lr_schedule")
        if knobs and self.lr_schedule is None:
            raise ValueError(
                f"lr_schedule__ parameters {sorted(knobs)} were given but "
                f"lr_schedule=None; choose one of {sorted({*SCHEDULES, *STEP_SCHEDULES})}."
            )
        if isinstance(self.lr_schedule, str) and self.lr_schedule in STEP_SCHEDULES:
            check_step_knobs(self.lr_schedule, knobs)
        for cb in self.callbacks or ():
            obj = cb[1] if isinstance(cb, tuple) and len(cb) == 2 else cb
            if not isinstance(obj, Callback):
                raise ValueError(
                    f"callbacks must be a list of skorch callbacks or (name, callback) "
                    f"pairs; got {cb!r}."
                )
        return sizes

    # -- building the skorch net -------------------------------------------
    def _module_kwargs(self, module_cls, n_features, n_outputs, sizes):
        derived = {
            "n_features": n_features,
            "n_outputs": n_outputs,
            "hidden_layer_sizes": sizes,
            "activation": self.activation,
            "dropout": self.dropout,
        }
        shape = getattr(self, "_sample_shape", None)
        # n-D samples as fitted: images' (C, H, W), sequences' (steps, features)
        if shape is not None and len(shape) == getattr(module_cls, "input_ndim", 3):
            derived["input_shape"] = tuple(int(s) for s in shape)
        accepted = inspect.signature(module_cls).parameters
        kwargs = {k: v for k, v in derived.items() if k in accepted}
        kwargs.update(self._routed_params("module"))
        return kwargs

    def _optimizer_kwargs(self, optimizer_cls, device):
        kwargs = {}
        if self.optimizer in MOMENTUM_OPTIMIZERS:
            kwargs["momentum"] = float(self.momentum)
        user = self._routed_params("optimizer")
        builtin = isinstance(self.optimizer, str)  # a user's class may not take `fused`
        if (builtin and issubclass(optimizer_cls, FUSED_OPTIMIZERS) and "fused" not in user
                and "foreach" not in user and torch.device(device).type in ("cpu", "cuda")):
            kwargs["fused"] = True
        kwargs.update(user)
        return kwargs

    def _callbacks(self, monitor):
        callbacks = list(self.callbacks or [])
        knobs = self._routed_params("lr_schedule")
        if isinstance(self.lr_schedule, str) and self.lr_schedule in STEP_SCHEDULES:
            if self.lr_schedule != "constant" or knobs.get("warmup"):
                callbacks.append(("lr_schedule", StepSchedule(
                    self.lr_schedule, self.epochs,
                    **{**STEP_SCHEDULES[self.lr_schedule], **knobs})))
        elif isinstance(self.lr_schedule, str):
            callbacks.append(("lr_schedule", LRSchedule(
                self.lr_schedule, self.epochs, monitor=monitor, **knobs)))
        elif self.lr_schedule is not None:
            callbacks.append(("lr_schedule", self.lr_schedule))
        if self.early_stopping:
            callbacks.append(("early_stopping", EarlyStopping(
                patience=self.n_iter_no_change, tol=self.tol, monitor=monitor)))
        # scikit-learn callbacks that log fits (sktune.tracking) hand a skorch callback
        context = getattr(self, "_callback_fit_ctx", None)
        for i, tracker in enumerate(getattr(self, "_skl_callbacks", [])):
            if context is not None and hasattr(tracker, "fit_callback"):
                callbacks.append((f"tracking_{i}", tracker.fit_callback(context)))
        return callbacks

    def _validation_fraction(self):
        if self.validation_fraction is not None:
            return self.validation_fraction
        return 0.1 if self.early_stopping else None

    def _module_class(self):
        """The network's class (the class of a pretrained instance)."""
        if isinstance(self.module, torch.nn.Module):
            return type(self.module)
        return MLP if self.module is None else self.module

    def _build_net(self, sizes, n_features, n_outputs, device):
        instance = isinstance(self.module, torch.nn.Module)
        module_cls = self._module_class()
        optimizer_cls = OPTIMIZERS.get(self.optimizer, self.optimizer)
        l1, l2 = penalty_coefficients(self.penalty, self.alpha, self.l1_ratio)
        coupled = optimizer_cls in COUPLED_WEIGHT_DECAY
        module_kwargs = ({} if instance else
                         self._module_kwargs(module_cls, n_features, n_outputs, sizes))
        routed = {
            **{f"module__{k}": v for k, v in module_kwargs.items()},
            **{f"optimizer__{k}": v for k, v in
               self._optimizer_kwargs(optimizer_cls, device).items()},
            **{f"criterion__{k}": v for k, v in self._routed_params("criterion").items()},
        }
        extra = self._net_kwargs()
        loss = "loss_scaled" if "target_scale" in extra else "loss"  # what training minimises
        monitor = f"valid_{loss}" if self._validation_fraction() else f"train_{loss}"
        return self._net_class(
            module=self.module if instance else module_cls,
            criterion=self.criterion or self._default_criterion,
            optimizer=optimizer_cls,
            lr=float(self.lr),
            max_epochs=int(self.epochs),
            batch_size=int(self.batch_size),
            train_split=None,
            callbacks=self._callbacks(monitor),
            verbose=self.verbose,
            device=device,
            l1_penalty=l1,
            weight_decay=l2 if coupled else 0.0,
            l2_in_loss=0.0 if coupled else l2,
            valid_scoring=self._valid_scoring if self._validation_fraction() else None,
            train_transform=self.train_transform,
            num_workers=int(self.num_workers),
            max_grad_norm=float(self.max_grad_norm or 0.0),
            freeze=self.freeze,
            unfreeze_at=self.unfreeze_at,
            lr_multipliers=self.lr_multipliers,
            reinit_head=self.reinit_head,
            n_outputs=int(n_outputs),
            precision=self.precision,
            micro_batch_size=None if self.micro_batch_size is None else int(self.micro_batch_size),
            output_key=self.output_key,
            lora_rank=int(self.lora_rank),
            lora_alpha=None if self.lora_alpha is None else float(self.lora_alpha),
            lora_dropout=float(self.lora_dropout),
            lora_targets=self.lora_targets,
            **extra,
            **routed,
        )

    def _net_kwargs(self):
        """Arguments of the training net that a subclass adds (the regressor's scaling)."""
        return {}

    # -- data ----------------------------------------------------------------
    def _token_inputs(self):
        """Whether the module reads integer token ids (it has a ``vocab_size``)."""
        if isinstance(self.module, torch.nn.Module):
            return getattr(self.module, "vocab_size", None) is not None
        return self._routed_params("module").get("vocab_size") is not None

    def _input_dtype(self, X):
        """float32, or int64 for token ids (which must be integers already)."""
        if not self._token_inputs():
            return np.float32
        kind = getattr(X, "dtype", np.asarray(X).dtype).kind
        if kind not in "iu":
            raise ValueError(f"{type(self).__name__}'s module reads token ids (vocab_size is "
                             f"set), so X must hold integers; got dtype "
                             f"{getattr(X, 'dtype', np.asarray(X).dtype)}.")
        return np.int64

    def _flat_input(self):
        return (self.module in _FLAT_INPUT_MODULES
                or type(self.module) in _FLAT_INPUT_MODULES)

    def _validate_X(self, X, y="no_validation", reset=True):
        """sklearn's checks on ``X`` (and ``y``); n-D samples are checked flat.

        ``n_features_in_`` counts all values of a sample (``C*H*W`` for
        images), so a ConvNet fitted on images also predicts flat rows. A
        dataset stays a :class:`~sktune.data.DatasetView` (see
        :meth:`_validate_dataset`).
        """
        if is_dataset(X):
            return self._validate_dataset(X, y, reset)
        self._check_input_kind(X, reset)
        if is_inputs(X):
            return self._validate_inputs(X, y, reset)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None (y may be None only when X is a dataset whose samples "
                             "carry their labels).")
        shape = None
        if not self._flat_input() and getattr(X, "ndim", 2) > 2:
            X = np.asarray(X)
            shape = X.shape[1:]
            X = X.reshape(len(X), -1)
        no_y = isinstance(y, str) and y == "no_validation"
        args, extra = ((X,), {}) if no_y else ((X, y), self._y_validation)
        out = validate_data(self, *args, reset=reset, dtype=self._input_dtype(X), **extra)
        X, y = (out, None) if no_y else out
        if reset:
            self._input_names = None
            self._sample_shape = shape
        elif shape is not None and self._sample_shape is not None and shape != self._sample_shape:
            raise ValueError(f"X has samples of shape {shape}, but {type(self).__name__} was "
                             f"fitted on samples of shape {self._sample_shape}.")
        if self._sample_shape is not None:
            X = X.reshape(len(X), *self._sample_shape)
        return X, y

    def _check_input_kind(self, X, reset, named=None):
        """Named inputs after a fit on arrays, or arrays after one on named inputs:
        say so (the network's forward takes one or the other). ``named``: whether
        ``X`` (a dataset) holds named inputs; None: whether it is a mapping."""
        names = getattr(self, "_input_names", None)
        named = is_inputs(X) if named is None else named
        if reset:
            return
        if names is not None and not named:
            raise ValueError(f"{type(self).__name__} was fitted on named inputs {list(names)} "
                             f"(a mapping such as a tokenizer's output); give X the same way, "
                             f"not as a {type(X).__name__}.")
        if names is None and named and hasattr(self, "n_features_in_"):
            raise ValueError(f"{type(self).__name__} was fitted on an array of "
                             f"{self.n_features_in_} features; give X as an array, not as "
                             f"named inputs.")

    def _validate_inputs(self, X, y="no_validation", reset=True):
        """Named inputs (a mapping of arrays: a tokenizer's output, an
        :class:`~sktune.data.InputDict`) as an ``InputDict`` of int64 / float32
        arrays, one row per sample; their names go to ``forward`` as keywords."""
        X = typed_inputs(X)
        self._check_input_names(X, reset, "X has")
        if isinstance(y, str) and y == "no_validation":
            return X, None
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed with named "
                             "inputs, but the target y is None.")
        y = _check_y(y, **self._y_validation)
        check_consistent_length(X, y)
        return X, y

    def _check_input_names(self, names, reset, what):
        """Fitting (``reset``): record the named inputs ``names`` (no feature count
        then); predicting: raise unless they are the fitted ones (``what``: whose)."""
        if reset:
            for attr in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(attr, None)
            self._input_names = tuple(names)
            self._sample_shape = None
        elif set(names) != set(self._input_names):
            raise ValueError(f"{what} inputs {sorted(names)}, but {type(self).__name__} was "
                             f"fitted on inputs {sorted(self._input_names)}.")

    def _dataset_targets(self, view, y):
        """``y`` checked against the dataset ``view`` (None: its own labels); None
        when there is no ``y`` to check (prediction)."""
        if isinstance(y, str) and y == "no_validation":
            return None
        if y is None:
            y = view.targets
        y = _check_y(y, **self._y_validation)
        check_consistent_length(view, y)
        return y

    def _validate_named_dataset(self, view, shapes, y, reset):
        """A dataset of dict samples: its inputs' names are checked as named inputs'."""
        self._check_input_names(shapes, reset, "the dataset's samples have")
        return view, self._dataset_targets(view, y)

    def _validate_dataset(self, X, y="no_validation", reset=True):
        """A dataset as ``(view, y)``: the first sample gives the input shape; ``y``
        None reads the labels from the dataset (``DatasetView.targets``)."""
        view = as_view(X)
        shape = sample_shape(view)
        if isinstance(shape, dict):  # dict samples: named inputs
            return self._validate_named_dataset(view, shape, y, reset)
        self._check_input_kind(view, reset, named=False)
        n_values = int(np.prod(shape))
        if reset:
            self._input_names = None
            self.n_features_in_ = n_values
            self.__dict__.pop("feature_names_in_", None)
            self._sample_shape = None if self._flat_input() else shape
        elif n_values != self.n_features_in_ or (
                self._sample_shape is not None and len(shape) > 1
                and shape != self._sample_shape):
            fitted = self._sample_shape or (self.n_features_in_,)
            raise ValueError(f"the dataset's samples have shape {shape}, but "
                             f"{type(self).__name__} was fitted on samples of shape {fitted}.")
        return view, self._dataset_targets(view, y)

    def _torch_data(self, X, y=None, sample_weight=None, device="cpu"):
        """What the training net reads: tensors for arrays, samples for a dataset."""
        if isinstance(X, (np.ndarray, dict)):  # an array, or named inputs (InputDict)
            return TensorData(X, y, device=device, sample_weight=sample_weight)
        return SampleData(X, y, sample_weight=sample_weight, flat=self._flat_input(),
                          tokens=self._token_inputs())

    @contextmanager
    def _seeded_torch(self, device):
        """Run with torch's RNG seeded from ``random_state``, continuing across calls.

        The caller's global RNG state is restored afterwards.
        """
        dev = torch.device(device)
        cuda = [dev.index or 0] if dev.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            if self._rng_state is None:
                torch.manual_seed(self._torch_seed)
            else:
                torch.set_rng_state(self._rng_state[0])
                if cuda:
                    torch.cuda.set_rng_state(self._rng_state[1], cuda[0])
            try:
                yield
            finally:
                self._rng_state = (torch.get_rng_state(),
                                   torch.cuda.get_rng_state(cuda[0]) if cuda else None)

    def _split(self, X, y, sample_weight=None):
        """Training and validation ``(X, y, sample_weight)`` (validation None without a split)."""
        fraction = self._validation_fraction()
        if not fraction:
            return (X, y, sample_weight), None
        stratify = y if self._stratify else None
        try:
            train, valid = train_test_split(np.arange(len(X)), test_size=fraction,
                                            stratify=stratify, random_state=self._split_seed)
        except ValueError:
            if stratify is None:
                raise ValueError(
                    f"validation_fraction={fraction} leaves no training or validation "
                    f"sample out of {len(X)}; use more data or another fraction."
                ) from None
            # Too few members in some class to stratify: fall back to a plain split.
            train, valid = train_test_split(np.arange(len(X)), test_size=fraction,
                                            random_state=self._split_seed)
        w = (None, None) if sample_weight is None else (sample_weight[train],
                                                         sample_weight[valid])
        return (X[train], y[train], w[0]), (X[valid], y[valid], w[1])

    # -- training ------------------------------------------------------------
    def _initialize(self, X, y_enc, sizes, device):
        rng = check_random_state(self.random_state)
        self._torch_seed, self._split_seed = (int(s) for s in rng.randint(2**31 - 1, size=2))
        self._rng_state = None
        self.net_ = self._build_net(sizes, getattr(self, "n_features_in_", None),
                                    self._n_outputs(y_enc), device)
        with self._seeded_torch(self.net_.device):
            self.net_.initialize()
        if getattr(self, "_input_names", None) is not None:
            check_forward_takes(self.net_.module_, self._input_names)

    def _train(self, X, y_enc, epochs, sample_weight=None):
        (X_train, y_train, w_train), valid = self._split(X, y_enc, sample_weight)
        device = self.net_.device
        if sample_weight is not None and not hasattr(self.net_.criterion_, "reduction"):
            raise ValueError(
                f"sample_weight needs per-sample losses, but the criterion "
                f"{type(self.net_.criterion_).__name__} has no `reduction` attribute; use a "
                "criterion that takes reduction='none' like torch's losses do, or no weights."
            )
        self.net_.train_split = (None if valid is None else predefined_split(self._torch_data(
            valid[0], valid[1], device=device,
            sample_weight=_mean_one(valid[2], "validation split"))))
        train = self._torch_data(X_train, y_train, device=device,
                                 sample_weight=_mean_one(w_train, "training data"))
        with self._seeded_torch(device), torch_threads(fit_threads(self.torch_threads)):
            self.net_.partial_fit(train, epochs=epochs)
        self.history_ = self.net_.history
        self.n_iter_ = len(self.history_)
        return self

    def _fit(self, X, y, *, epochs, classes=None, incremental=False, sample_weight=None):
        continuing = incremental and hasattr(self, "net_")
        sizes = None if continuing else self._check_params()
        X, y = self._validate_X(X, y, reset=not continuing)
        sample_weight = _checked_weights(sample_weight, X)
        y_enc = self._prepare_targets(y, classes=classes, reset=not continuing,
                                      sample_weight=sample_weight)
        if continuing:  # on the device the network is on
            return self._train(X, y_enc, epochs, sample_weight)
        with placed_device(self.device) as device:  # claims a GPU for the fit if several
            self._initialize(X, y_enc, sizes, device)
            return self._train(X, y_enc, epochs, sample_weight)

    def fit(self, X, y=None, sample_weight=None):
        """Train the network on ``(X, y)`` for ``epochs`` epochs.

        With ``warm_start=True`` and a fitted network, training continues from
        the current weights, optimiser state and learning-rate schedule.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), mapping or torch Dataset
            Training data (cast to float32); n-D arrays are accepted by
            custom modules and :class:`~sktune.modules.ConvNet`. A map-style
            torch ``Dataset`` (or :class:`~sktune.data.DatasetView`, or
            skorch's ``SliceDataset``) is read batch by batch, with
            ``num_workers`` loader processes (docs/datasets.md). A mapping
            of arrays with one row per sample (named inputs: a tokenizer's
            ``input_ids`` and ``attention_mask``, an
            :class:`~sktune.data.InputDict`) goes to the module's
            ``forward`` as keyword arguments, integers as int64
            (docs/transformers.md).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets; None only for a dataset ``X``, whose samples' labels
            are then read.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights: each sample's loss counts ``weight`` times
            (weights are scaled to a mean of 1, so ``lr`` keeps its meaning).
            The validation loss (``early_stopping``, ``validation_fraction``)
            is the weighted mean too.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if not self.warm_start:
            self._reset()
        if callback_management_context is None:
            return self._fit(X, y, epochs=self.epochs, incremental=self.warm_start,
                             sample_weight=sample_weight)
        with callback_management_context(self):
            context = self._init_callback_context()
            context.call_on_fit_task_begin(estimator=self, X=X, y=y)
            self._fit(X, y, epochs=self.epochs, incremental=self.warm_start,
                      sample_weight=sample_weight)
            context.call_on_fit_task_end(estimator=self, X=X, y=y)
        return self

    def partial_fit(self, X, y=None, classes=None, epochs=1, sample_weight=None):
        """Continue training for ``epochs`` more epochs (one by default).

        The first call initialises the network like ``fit``; later calls
        keep weights, optimiser state, learning-rate schedule and random
        stream, so ``fit`` with ``epochs=a`` followed by ``partial_fit``
        with ``epochs=b`` trains like one ``fit`` with ``epochs=a + b``
        (except for schedules whose shape depends on ``epochs``).

        Parameters
        ----------
        X, y : array-like or torch Dataset
            Training data, as for :meth:`fit` (``y`` None for a dataset
            whose samples carry their labels).
        classes : array-like, default=None
            Classifier only: all labels that will ever be seen; inferred
            from ``y`` on the first call when None.
        epochs : int, default=1
            Number of passes over ``(X, y)``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, as for :meth:`fit` (scaled to a mean of 1
            within this call).

        Returns
        -------
        self : object
            The estimator, trained further.
        """
        if not (isinstance(epochs, Integral) and epochs >= 1):
            raise ValueError(f"epochs must be a positive int; got {epochs!r}.")
        return self._fit(X, y, epochs=int(epochs), classes=classes, incremental=True,
                         sample_weight=sample_weight)

    def _reset(self):
        for attr in ("net_", "history_", "n_iter_"):
            self.__dict__.pop(attr, None)

    # -- inference -------------------------------------------------------
    def _forward(self, X):
        """Raw module outputs for ``X`` as a CPU float tensor."""
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        with torch_threads(fit_threads(self.torch_threads)):
            data = self._torch_data(X, device=self.net_.device)
            return self.net_.forward(data, training=False).float()

    def _scoring_targets(self, X, y):
        """``y``, or the labels of a dataset ``X`` when ``y`` is None."""
        if y is not None:
            return y
        if not is_dataset(X):
            raise ValueError(f"{type(self).__name__}.score needs y unless X is a dataset "
                             "whose samples carry their labels.")
        return as_view(X).targets

    def score(self, X, y=None, sample_weight=None):
        """The default metric on ``(X, y)``: accuracy (classifier) or R² (regressor).

        Parameters
        ----------
        X : array-like or torch Dataset
            Samples, as for ``fit``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            True targets; None reads them from a dataset ``X``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the metric.

        Returns
        -------
        score : float
        """
        y = self._scoring_targets(X, y)
        return float(self._metric(y, self.predict(X), sample_weight=sample_weight))

    @property
    def module_(self):
        """The trained ``torch.nn.Module``."""
        check_is_fitted(self)
        return self.net_.module_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def __sklearn_clone__(self):
        """scikit-learn's clone, except that a pretrained ``module`` instance is
        kept by reference, not deep-copied: no fit changes it (each fit trains
        a copy of what trains, docs/large-networks.md), and a search clones the
        estimator for every candidate and fold."""
        if not isinstance(self.module, torch.nn.Module):
            return super().__sklearn_clone__()
        twin = object.__new__(type(self))  # self's attributes, without the instance
        twin.__dict__.update(self.__dict__, module=None)
        new = super(BaseNeuralNet, twin).__sklearn_clone__()
        new.module = self.module
        return new

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
