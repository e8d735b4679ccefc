"""Parameters: get/set_params, clone, routed ``<prefix>__<arg>`` params, validation at fit."""

import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skorch.callbacks import LRScheduler

from sktune import NeuralNetClassifier, NeuralNetRegressor
from sktune.modules import MLP, ConvNet

ESTIMATORS = [NeuralNetClassifier, NeuralNetRegressor]

DECLARED = [
    "hidden_layer_sizes", "activation", "dropout", "module", "criterion", "optimizer", "lr",
    "momentum", "lr_schedule", "batch_size", "epochs", "penalty", "alpha", "l1_ratio",
    "early_stopping", "validation_fraction", "n_iter_no_change", "tol", "random_state",
    "device", "torch_threads", "verbose", "warm_start", "callbacks", "train_transform",
    "num_workers", "max_grad_norm", "freeze", "unfreeze_at", "lr_multipliers", "reinit_head",
    "precision", "micro_batch_size", "output_key", "lora_rank", "lora_alpha", "lora_dropout",
    "lora_targets",
]


def _fast(cls, **params):
    base = dict(hidden_layer_sizes=(8,), epochs=1, batch_size=32, random_state=0)
    return cls(**{**base, **params})


def _data(cls, binary_data, regression_data):
    return binary_data if cls is NeuralNetClassifier else regression_data


# -- get_params / set_params / clone ---------------------------------------
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_get_params_exposes_every_declared_parameter(cls):
    params = cls().get_params()
    own = {"target_scaling"} if cls is NeuralNetRegressor else set()
    assert set(DECLARED) <= set(params)
    # and nothing else by default: no hidden state leaks into the params
    assert set(params) == set(DECLARED) | own


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_get_params_reflects_constructor_values(cls):
    values = dict(hidden_layer_sizes=(7, 5), activation="tanh", dropout=0.25, module=MLP,
                  optimizer="sgd", lr=0.3, momentum=0.5, lr_schedule="cosine", batch_size=17,
                  epochs=4, penalty="elasticnet", alpha=0.02, l1_ratio=0.3,
                  early_stopping=True, validation_fraction=0.2, n_iter_no_change=3,
                  tol=0.01, random_state=5, device="cpu", verbose=0, warm_start=True)
    params = cls(**values).get_params()
    for key, value in values.items():
        assert params[key] == value, key


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_routed_params_appear_in_get_params_and_survive_clone(cls):
    est = cls(module__input_shape=(1, 8, 8), optimizer__betas=(0.8, 0.9),
              criterion__reduction="mean", lr_schedule="step", lr_schedule__gamma=0.5)
    params = est.get_params()
    assert params["module__input_shape"] == (1, 8, 8)
    assert params["optimizer__betas"] == (0.8, 0.9)
    assert params["criterion__reduction"] == "mean"
    assert params["lr_schedule__gamma"] == 0.5
    cloned = clone(est)
    assert cloned is not est
    assert cloned.get_params() == params


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_set_params_routed_round_trip(cls):
    est = cls()
    assert est.set_params(module__channels=(4,), lr=0.5) is est
    assert est.get_params()["module__channels"] == (4,)
    assert est.lr == 0.5
    est.set_params(module__channels=(8, 16))
    assert est.get_params()["module__channels"] == (8, 16)
    # set_params(**get_params()) is the identity
    before = est.get_params()
    est.set_params(**before)
    assert est.get_params() == before
    # and it carries over to a clone
    assert clone(est).get_params()["module__channels"] == (8, 16)


def test_set_params_routed_reaches_the_fitted_module(digits_data):
    X, y = digits_data
    est = _fast(NeuralNetClassifier, module=ConvNet)
    est.set_params(module__channels=(3,))
    est.fit(X[:100], y[:100])
    convs = [m for m in est.module_.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [3]


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_set_params_invalid_plain_name_raises(cls):
    est = cls()
    with pytest.raises(ValueError, match="nonexistent"):
        est.set_params(nonexistent=1)
    # a misspelt prefix is not a routed parameter either
    with pytest.raises(ValueError):
        est.set_params(modul__units=3)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("name", ["foo", "modul__units", "lr_schedul__gamma", "epochs_"])
def test_unknown_extra_param_raises_at_fit_naming_it(cls, name, binary_data, regression_data):
    X, y = _data(cls, binary_data, regression_data)
    est = cls(**{name: 1})  # nothing raised in __init__
    with pytest.raises(ValueError, match=re.escape(name)):
        est.fit(X, y)
    assert not hasattr(est, "net_")


def test_set_params_on_lr_schedule_callback_object_is_nested():
    sched = LRScheduler(policy="StepLR", step_size=1)
    est = NeuralNetClassifier(lr_schedule=sched)
    assert est.get_params()["lr_schedule__step_size"] == 1
    est.set_params(lr_schedule__step_size=3)
    assert sched.step_size == 3
    assert "lr_schedule__step_size" not in vars(est)  # not stored as an extra param
    assert clone(est).lr_schedule.step_size == 3


# -- validation --------------------------------------------------------------
INVALID = [
    # (params, substrings the message must contain)
    (dict(optimizer="adamm"), ["optimizer", "adamm", "adam"]),
    (dict(optimizer=42), ["optimizer", "42", "sgd"]),
    (dict(optimizer=torch.nn.Linear), ["optimizer", "Linear"]),
    (dict(activation="softmax"), ["activation", "softmax", "relu"]),
    (dict(lr=0), ["lr", "0", "(0.0, inf)"]),
    (dict(lr=-0.1), ["lr", "-0.1", "(0.0, inf)"]),
    (dict(dropout=1), ["dropout", "1", "[0.0, 1.0)"]),
    (dict(dropout=-0.1), ["dropout", "-0.1", "[0.0, 1.0)"]),
    (dict(penalty="l3"), ["penalty", "l3", "l1", "elasticnet"]),
    (dict(lr_schedule="triangle"), ["lr_schedule", "triangle", "cosine"]),
    (dict(hidden_layer_sizes=(0,)), ["hidden_layer_sizes", "(0,)", "positive"]),
    (dict(hidden_layer_sizes=(10, -3)), ["hidden_layer_sizes", "(10, -3)", "positive"]),
    (dict(hidden_layer_sizes=(10.5,)), ["hidden_layer_sizes", "10.5"]),
    (dict(module=MLP(4, 2), module__dropout=0.5), ["instance", "module__", "dropout"]),
    (dict(precision="8"), ["precision", "8", "bf16"]),
    (dict(freeze=1.5), ["freeze", "1.5"]),
    (dict(freeze=["a", 3]), ["freeze", "patterns"]),
    (dict(unfreeze_at=-1), ["unfreeze_at", "-1"]),
    (dict(lr_multipliers={"layers.0": -1.0}), ["lr_multipliers", ">= 0"]),
    (dict(lr_multipliers=0.0), ["lr_multipliers", "0.0"]),
    (dict(reinit_head=3), ["reinit_head", "3"]),
    (dict(module=int), ["module", "int"]),
    (dict(lr_schedule__gamma=0.5), ["lr_schedule__", "gamma", "None", "step"]),
    (dict(lr_schedule="constant", lr_schedule__gamma=0.5), ["gamma", "constant", "cosine"]),
    (dict(epochs=0), ["epochs", "0"]),
    (dict(batch_size=0), ["batch_size", "0"]),
    (dict(momentum=1.5), ["momentum", "1.5"]),
    (dict(alpha=-1.0), ["alpha", "-1.0"]),
    (dict(l1_ratio=2.0), ["l1_ratio", "2.0"]),
    (dict(validation_fraction=1.0), ["validation_fraction", "1.0"]),
    (dict(n_iter_no_change=0), ["n_iter_no_change", "0"]),
    (dict(tol=-1.0), ["tol", "-1.0"]),
    (dict(early_stopping="yes"), ["early_stopping", "yes"]),
    (dict(callbacks=[object()]), ["callbacks", "object"]),
    (dict(device=3), ["device", "3"]),
]


def _param_id(params):
    """A stable test id (no memory addresses, so xdist workers agree)."""
    def short(value):
        if isinstance(value, type):
            return value.__name__
        if isinstance(value, (str, int, float, tuple)):
            return repr(value)
        return type(value).__name__
    return ",".join(f"{key}={short(value)}" for key, value in params.items())


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("params, fragments", INVALID,
                         ids=[_param_id(p) for p, _ in INVALID])
def test_invalid_params_raise_at_fit_with_clear_message(cls, params, fragments,
                                                        binary_data, regression_data):
    X, y = _data(cls, binary_data, regression_data)
    est = _fast(cls, **params)  # __init__ never raises
    for key, value in params.items():
        assert getattr(est, key) is value
    with pytest.raises(ValueError) as info:
        est.fit(X, y)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert not hasattr(est, "net_")


@pytest.mark.parametrize("params, fragments", INVALID[:6],
                         ids=[_param_id(p) for p, _ in INVALID[:6]])
def test_invalid_params_raise_at_first_partial_fit(params, fragments, binary_data):
    X, y = binary_data
    est = _fast(NeuralNetClassifier, **params)
    with pytest.raises(ValueError) as info:
        est.partial_fit(X, y)
    assert all(f in str(info.value) for f in fragments)


def test_set_params_defers_validation_to_fit(binary_data):
    X, y = binary_data
    est = _fast(NeuralNetClassifier).fit(X, y)
    est.set_params(optimizer="adamm")  # accepted as is
    assert est.optimizer == "adamm"
    with pytest.raises(ValueError, match="adamm"):
        est.fit(X, y)


@pytest.mark.parametrize("epochs", [0, -1, 1.5, "2"])
def test_partial_fit_epochs_validated(epochs, binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="epochs"):
        _fast(NeuralNetClassifier).partial_fit(X, y, epochs=epochs)


def test_valid_edge_values_are_accepted(binary_data):
    X, y = binary_data
    for params in [dict(hidden_layer_sizes=5), dict(hidden_layer_sizes=[4, 3]),
                   dict(hidden_layer_sizes=np.array([6])), dict(momentum=0.0),
                   dict(momentum=1.0), dict(alpha=0.0), dict(penalty=None),
                   dict(lr_schedule="constant"), dict(criterion=torch.nn.CrossEntropyLoss),
                   dict(criterion__label_smoothing=0.1), dict(device=torch.device("cpu"))]:
        est = _fast(NeuralNetClassifier, **params).fit(X, y)
        assert est.n_iter_ == 1, params


def test_int_hidden_layer_sizes_is_one_layer(binary_data):
    X, y = binary_data
    est = _fast(NeuralNetClassifier, hidden_layer_sizes=5).fit(X, y)
    linears = [m for m in est.module_.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(8, 5), (5, 2)]


def test_criterion_params_are_routed(binary_data):
    X, y = binary_data
    est = _fast(NeuralNetClassifier, criterion__label_smoothing=0.3).fit(X, y)
    assert est.net_.criterion_.label_smoothing == 0.3


def test_momentum_is_not_passed_to_optimizers_without_it(binary_data):
    X, y = binary_data
    est = _fast(NeuralNetClassifier, optimizer="adam", momentum=0.3).fit(X, y)
    assert "momentum" not in est.net_.optimizer_.defaults


# -- device -------------------------------------------------------------------
def test_device_auto_resolves_to_cpu_without_gpu(binary_data):
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    X, y = binary_data
    est = _fast(NeuralNetClassifier, device="auto").fit(X, y)
    assert est.device == "auto"  # the parameter is not mutated
    assert est.net_.device == "cpu"
    assert all(p.device.type == "cpu" for p in est.module_.parameters())
    assert est.predict(X).shape == (len(X),)


def test_device_nonsense_raises_clear_error(binary_data):
    X, y = binary_data
    est = _fast(NeuralNetClassifier, device="nonsense")
    with pytest.raises(ValueError, match="device='nonsense'") as info:
        est.fit(X, y)
    assert "cpu" in str(info.value) and "auto" in str(info.value)


def test_device_cuda_without_gpu_raises_clear_error(binary_data):
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    X, y = binary_data
    with pytest.raises(ValueError, match="cuda"):
        _fast(NeuralNetClassifier, device="cuda").fit(X, y)
