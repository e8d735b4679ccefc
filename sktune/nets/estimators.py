"""``NeuralNetClassifier`` and ``NeuralNetRegressor``: torch networks as sklearn estimators."""

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets

from ._base import BaseNeuralNet, with_keyword
from ._targets import scales_targets, standardise, target_statistics
from ._training import ClassifierTrainingNet, TrainingNet

_PARAMETERS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Width of each hidden layer; ``()`` gives a linear (logistic) model.
        Passed to ``module`` when its constructor accepts it.
    activation : {'relu', 'tanh', 'logistic', 'gelu', 'identity'}, default='relu'
        Hidden-layer non-linearity.
    dropout : float in [0, 1), default=0.0
        Dropout probability, passed to ``module``: :class:`~sktune.modules.MLP`
        drops after each hidden activation, :class:`~sktune.modules.ConvNet`
        also on its flattened convolution features (each module's docstring
        says where).
    module : torch.nn.Module subclass, nn.Module instance or None, default=None
        The network class; None is :class:`sktune.modules.MLP`. Its
        constructor receives whichever of ``n_features``, ``n_outputs``,
        ``hidden_layer_sizes``, ``activation`` and ``dropout`` it accepts,
        plus every ``module__<arg>`` parameter (a Hugging Face model class
        takes ``module__config``). It must return one output
        per class (logits) or per target: a tensor, or a mapping (a Hugging
        Face ``ModelOutput``) holding them under ``output_key``, or a tuple
        whose first item they are. ``X`` given as named inputs (a mapping
        such as a tokenizer's output) goes to its ``forward`` as keyword
        arguments. An instance (a pretrained
        network) is copied at the start of every fit, so each fit (every
        candidate and fold of a search) starts from its weights and the
        instance itself is never modified (docs/finetuning.md).
    criterion : torch loss class or None, default=None
        None is ``CrossEntropyLoss`` (classifier) or ``MSELoss``
        (regressor); ``criterion__<arg>`` parameters are passed to it.
    optimizer : {'sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'} or \
torch.optim.Optimizer subclass, default='adam'
        ``optimizer__<arg>`` parameters are passed to it. Built-in choices
        use torch's fused kernels where available (same update, faster).
    lr : float, default=1e-3
        Learning rate.
    momentum : float in [0, 1], default=0.9
        Momentum of 'sgd' and 'rmsprop' (ignored by the others).
    lr_schedule : {None, 'constant', 'linear', 'cosine', 'onecycle', 'step', \
'exponential', 'plateau'} or skorch callback, default=None
        Learning-rate schedule; its knobs are given as
        ``lr_schedule__<knob>``. Stepped after every optimiser step, as
        transformers' ``get_scheduler`` (the rates are equal step for step):
        'linear' (warmup, then linear decay to 0 at the fit's last step),
        'cosine' (warmup, then half a cosine down to ``eta_min`` = 0) and
        'constant' (warmup, then ``lr``); their ``warmup`` (default 0) is a
        number of optimiser steps (an int) or a fraction of all steps
        (``epochs`` times the batches of an epoch; a float in [0, 1],
        rounded up). 'onecycle' is torch's ``OneCycleLR`` per step (from
        ``lr / div_factor`` up to ``lr`` over ``warmup`` = 0.3 of the steps,
        then down to ``lr / (div_factor * final_div_factor)``; defaults 25 and
        1e4; momentum not cycled). Stepped once per epoch, torch's schedulers with their
        arguments as knobs: 'step' (``step_size`` = epochs // 3, ``gamma`` =
        0.1), 'exponential' (``gamma`` = 0.95), 'plateau' (``factor`` = 0.1,
        ``patience`` = 5; watches the validation loss when there is a
        validation split, else the training loss). A skorch ``LRScheduler``
        callback is used as given.
    batch_size : int, default=64
        Largest mini-batch size. An epoch's samples are spread evenly over
        ``ceil(n_samples / batch_size)`` batches (67 samples at 64 give
        batches of 34 and 33, not 64 and 3: Adam would take a full step on
        the 3-sample batch's noise).
    epochs : int, default=50
        Passes over the training data (the most, with early stopping).
    penalty : {None, 'l1', 'l2', 'elasticnet'}, default='l2'
        Regularisation ``alpha * R(w)`` of the weights (not biases or
        normalisation scales), with sklearn's ``R`` (as in ``SGDClassifier``).
    alpha : float, default=1e-4
        Regularisation strength.
    l1_ratio : float in [0, 1], default=0.15
        Share of L1 in 'elasticnet'.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data given to ``fit`` (so,
        inside cross-validation, of the training fold only), stop when the
        validation loss has not improved by ``tol`` for ``n_iter_no_change``
        epochs, and restore the weights of the best epoch.
    validation_fraction : float in (0, 1) or None, default=None
        Share of the training data held out for validation. None means 0.1
        with early stopping and no split without; a float without early
        stopping still records validation loss and score per epoch.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Smallest decrease of the validation loss that counts as improvement.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation
        split, so equal seeds give identical fits (on the same device and
        torch build). torch's global random state is left untouched.
    device : str or torch.device, default='cpu'
        'cpu', 'cuda', 'cuda:1', ... or 'auto' (CUDA when available).
        With several GPUs visible, 'cuda' and 'auto' spread parallel fits
        (``n_jobs``, Dask workers) over them: each fit claims the least busy
        GPU for its duration, one fit per GPU at a time by default
        (``SKTUNE_WORKERS_PER_DEVICE=k`` allows k, ``none`` removes the
        cap). An explicit index ('cuda:1') is used as given.
    torch_threads : int or None, default=None
        torch intra-op threads used by ``fit`` and ``predict``. None means
        the ``SKTUNE_TORCH_THREADS`` environment variable if set, else 1:
        searches parallelise across fits (``n_jobs``), which uses cores
        better for the networks people tune, never oversubscribes, and keeps
        results identical whatever ``n_jobs`` (torch's CPU results depend
        slightly on the thread count). -1 leaves torch's own setting (every
        core unless ``OMP_NUM_THREADS`` says otherwise): use it, or an int,
        to train one large model on many cores.
    verbose : int, default=0
        Print a table of per-epoch metrics when > 0.
    warm_start : bool, default=False
        When True, ``fit`` continues training the fitted network instead
        of starting anew.
    callbacks : list of skorch callbacks or (name, callback) pairs, default=None
        Extra skorch callbacks (``EpochScoring``, ``Checkpoint``,
        ``TensorBoard``, ...); they receive the inner skorch net ``net_``.
    train_transform : callable or None, default=None
        Augmentation applied to every training batch ``X`` (a tensor on the
        training device), never to validation, scoring or prediction: one of
        :mod:`sktune.data`'s (``RandomShift``, ``GaussianNoise``, ...,
        whose knobs are ``train_transform__<knob>`` parameters) or any
        callable that returns a tensor with one row per input row.
    num_workers : int, default=0
        ``DataLoader`` processes that read the samples of a dataset ``X``
        while the network trains (0: read in the fit's own process). Results
        do not depend on it. Arrays do not use it.
    max_grad_norm : float or None, default=None
        Clip the gradients to this global L2 norm (over all learnable
        parameters, as ``torch.nn.utils.clip_grad_norm_``) after every
        backward pass, before the optimiser's step; None or 0 is no clipping.
    freeze : int, str, list of str or None, default=None
        Parameters that do not train: the first ``k`` layers of the network
        (its top-level children that hold parameters, looking through a
        single wrapping child), or those whose names match the patterns
        (``fnmatch`` on parameter names, or module names: ``'features'``).
        Frozen parameters get no gradient, no step and no weight decay; the
        BatchNorm layers among them keep their running statistics.
    unfreeze_at : int or None, default=None
        The frozen parameters join training after this many epochs
        (gradual unfreezing); None keeps them frozen.
    lr_multipliers : dict or float or None, default=None
        Discriminative learning rates: ``{pattern: factor}`` multiplies
        ``lr`` for the matching parameters (the first matching pattern
        counts); a float ``d`` is layer-wise decay, the last layer training
        at ``lr`` and each earlier one at ``d`` times the next one's.
        skorch's ``optimizer__param_groups=[(pattern, {"lr": ...})]`` works
        too.
    reinit_head : bool or str, default=False
        Re-initialise the output layer (the last ``nn.Linear``, or the one
        named) at the start of the fit, replacing it when its width is not
        the number of classes or targets (a pretrained head of another
        width otherwise raises).
    precision : {'32', 'bf16', '16'}, default='32'
        Run the forward pass and the loss under ``torch.autocast`` in
        bfloat16 or float16 (with a gradient scaler for '16'); weights and
        optimiser stay float32. A device that cannot run it raises at fit.
    micro_batch_size : int or None, default=None
        Gradient accumulation: each training batch of ``batch_size`` samples
        runs forward and backward as even micro-batches of at most this many
        samples, whose gradients add up to the whole batch's before the one
        optimiser step (loss weighting, penalties, ``max_grad_norm``, the
        '16' gradient scaler and schedules see one step per batch). The
        update equals the unsplit one up to float round-off, except in
        layers that compute batch statistics (BatchNorm normalises each
        micro-batch by its own) and where random draws differ (dropout
        masks are drawn per micro-batch). ``batch_size`` stays the hyperparameter;
        this is a memory setting, at most ``batch_size``. None: whole
        batches. Whatever it is, a step that runs out of device memory
        (``torch.OutOfMemoryError``, e.g. CUDA's) is retried with
        micro-batches of half the size, with a warning naming the size that
        worked, which the rest of the fit keeps (``net_.micro_batch_size_``).
    output_key : str, default='logits'
        Where the predictions are when ``module`` returns a mapping (a Hugging
        Face ``ModelOutput``, a dict); a tensor is the predictions and a
        tuple's first item is.
    lora_rank : int, default=0
        Low-rank adaptation (LoRA): with ``lora_rank=r > 0`` every weight of
        the network is frozen except the output layer's, and each linear
        layer that ``lora_targets`` selects learns a rank-``r`` update
        ``(lora_alpha / r) * B A`` (``B`` starting at zero, so training
        starts from the network's own outputs). 0: no adapters (full
        fine-tuning, or what ``freeze`` says), so ``Categorical([0, 4,
        16])`` searches LoRA against full fine-tuning. A pretrained
        instance's frozen weights are shared by every fit (docs/transformers.md).
    lora_alpha : float or None, default=None
        The adapters' scale numerator (peft's ``lora_alpha``); None: the rank
        (a scale of 1).
    lora_dropout : float in [0, 1), default=0.0
        Dropout on the adapters' input during training.
    lora_targets : str, list of str or None, default=None
        The linear layers that get adapters: patterns of layer names
        (fnmatch, e.g. ``['*.query', '*.value']``); None: every linear layer
        but the output layer. ``nn.Linear`` and Hugging Face's ``Conv1D``
        (GPT-2) count as linear.
    **kwargs
        ``module__<arg>``, ``optimizer__<arg>``, ``criterion__<arg>`` and
        ``lr_schedule__<arg>`` parameters, routed as described above.
"""

_ATTRIBUTES_DOC = """
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
    history_ : skorch History
        One entry per epoch: ``epoch``, ``train_loss``, ``lr``, ``dur``
        (seconds) and, with a validation split, ``valid_loss`` and the
        validation score; ``history_[:, 'train_loss']`` gives a column.
    n_iter_ : int
        Number of epochs trained so far.
    net_ : skorch NeuralNet
        The skorch net that holds the module (``module_``), optimiser and
        callbacks.
    module_ : torch.nn.Module
        The trained network.
"""


class NeuralNetClassifier(ClassifierMixin, BaseNeuralNet):
    __doc__ = f"""A torch network as a scikit-learn classifier.

    Binary and multiclass, any label type; trained with cross-entropy on
    the network's logits; ``predict_proba`` is their softmax.
    {_PARAMETERS_DOC}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.{_ATTRIBUTES_DOC}
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sktune import NeuralNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NeuralNetClassifier(hidden_layer_sizes=(32,), lr=0.01, epochs=30,
    ...                           random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    _net_class = ClassifierTrainingNet
    _default_criterion = torch.nn.CrossEntropyLoss
    _valid_scoring = ("accuracy", "valid_acc")
    _stratify = True
    _y_validation = {}
    _metric = staticmethod(accuracy_score)
    score = BaseNeuralNet.score  # not ClassifierMixin's: y may come from a dataset

    def _prepare_targets(self, y, classes=None, reset=True, sample_weight=None):
        check_classification_targets(y)
        if reset:
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if len(labels) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in the "
                    f"data, but the data contains only one class: {labels.tolist()[0]!r}."
                )
            self.classes_ = labels
        unseen = np.setdiff1d(y, self.classes_)
        if len(unseen):
            raise ValueError(
                f"y contains labels {unseen.tolist()} not in classes_ {self.classes_.tolist()}; "
                "pass every label in `classes` on the first call to partial_fit."
            )
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _n_outputs(self, y_enc):
        return len(self.classes_)

    def predict_proba(self, X):
        """Class probabilities: the softmax of the network's logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, as for ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        logits = self._forward(X).double()
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X):
        """Most probable class label per sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, as for ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        index = self._forward(X).argmax(dim=1).numpy()
        return self.classes_[index]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


class NeuralNetRegressor(RegressorMixin, BaseNeuralNet):
    __doc__ = f"""A torch network as a scikit-learn regressor.

    Single or multiple targets, trained with mean squared error on targets
    standardised per output (``target_scaling``), so the defaults work on
    targets of any scale.
    {_PARAMETERS_DOC}
    target_scaling : {{'auto', True, False}}, default='auto'
        Standardise each target (subtract its mean, divide by its standard
        deviation, both computed on the data given to ``fit`` and weighted by
        ``sample_weight``) before training, and invert at ``predict``. Inside
        cross-validation the statistics come from the training fold only; the
        first ``fit`` (or ``partial_fit``) fixes them and continued training
        keeps them. 'auto' scales for the default criterion and torch's
        ``MSELoss``, ``L1Loss``, ``SmoothL1Loss`` and ``HuberLoss`` (whose
        ``delta`` is then in standard deviations), and leaves other criteria
        (a custom loss, ``PoissonNLLLoss``) on the raw targets. ``True``
        forces it (refused for losses that need raw targets, such as
        ``PoissonNLLLoss``); ``False`` trains on the raw targets exactly as
        without this parameter. With scaling, ``history_``'s ``train_loss``
        and ``valid_loss`` are the criterion's value in the target's units
        (penalty terms left out); ``train_loss_scaled`` and
        ``valid_loss_scaled`` are what the optimiser minimises, and what
        ``early_stopping``, ``tol`` and the 'plateau' schedule watch, so
        ``tol`` is a share of the target's variance.

    Attributes
    ----------
    target_mean_ : ndarray of shape (n_outputs,) or None
        Mean of each target used by ``target_scaling``; None without scaling.
    target_scale_ : ndarray of shape (n_outputs,) or None
        Standard deviation of each target (1 for a constant target); None
        without scaling.{_ATTRIBUTES_DOC}
    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sktune import NeuralNetRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> reg = NeuralNetRegressor(hidden_layer_sizes=(), lr=0.05, epochs=50,
    ...                          random_state=0).fit(X, 1000 * y + 5000)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> bool(reg.score(X, 1000 * y + 5000) > 0.99)
    True
    """

    _net_class = TrainingNet
    _default_criterion = torch.nn.MSELoss
    _valid_scoring = ("r2", "valid_r2")
    _stratify = False
    _y_validation = {"y_numeric": True, "multi_output": True}
    _metric = staticmethod(r2_score)
    score = BaseNeuralNet.score  # not RegressorMixin's: y may come from a dataset
    _parameter_constraints = {
        **BaseNeuralNet._parameter_constraints,
        "target_scaling": [StrOptions({"auto"}), "boolean"],
    }

    def __init__(self, *args, target_scaling="auto", **kwargs):
        super().__init__(*args, **kwargs)
        self.target_scaling = target_scaling

    __init__.__signature__ = with_keyword(BaseNeuralNet.__init__, target_scaling="auto")

    def _trained_on_scaled_targets(self):
        # getattr: a model saved before target scaling existed has no target_mean_
        return getattr(self, "target_mean_", None) is not None

    def _prepare_targets(self, y, classes=None, reset=True, sample_weight=None):
        scaled = (scales_targets(self.target_scaling, self.criterion) if reset
                  else self._trained_on_scaled_targets())
        # Scaled targets are standardised in float64 first: float32 would drop the
        # low digits of large targets (1e9 + noise) before the scale is taken out.
        y = np.asarray(y, dtype=np.float64 if scaled else np.float32)
        if reset:
            self._y_ndim = y.ndim
        elif y.ndim != self._y_ndim or (y.ndim == 2 and y.shape[1] != self._n_targets):
            raise ValueError(
                f"y has shape {y.shape[1:]} per sample but the regressor was fitted with "
                f"{'1 target' if self._y_ndim == 1 else f'{self._n_targets} targets'}."
            )
        y2 = y.reshape(len(y), -1)
        if reset:
            self._n_targets = y2.shape[1]
            self.target_mean_, self.target_scale_ = (
                target_statistics(y2, sample_weight) if scaled else (None, None))
        if not scaled:
            return y2
        return standardise(y2, self.target_mean_, self.target_scale_)

    def _net_kwargs(self):
        if not self._trained_on_scaled_targets():
            return {}
        return {"target_scale": (self.target_mean_, self.target_scale_)}

    def _n_outputs(self, y_enc):
        return y_enc.shape[1]

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, as for ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The same shape per sample as the ``y`` given to ``fit``.
        """
        out = self._forward(X).double().numpy()
        if self._trained_on_scaled_targets():
            out = out * self.target_scale_ + self.target_mean_
        return out.ravel() if self._y_ndim == 1 else out.reshape(len(out), -1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
