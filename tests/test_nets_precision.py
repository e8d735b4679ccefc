"""precision: training and inference under torch.autocast ('bf16', '16' with a GradScaler)."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sktune import NeuralNetClassifier, NeuralNetRegressor
from sktune.nets import _precision


class _Dtypes(Callback):
    """Records the dtype of the first Linear's output in training batches, and the
    global gradient norm that the optimiser's step sees."""

    def __init__(self):
        self.outputs, self.norms = [], []

    def initialize(self):
        self.outputs, self.norms = [], []
        return self

    def on_train_begin(self, net, **kwargs):
        first = next(m for m in net.module_.modules() if isinstance(m, torch.nn.Linear))
        first.register_forward_hook(lambda m, i, o: self.outputs.append(o.dtype))

    def on_grad_computed(self, net, named_parameters, **kwargs):
        grads = [p.grad for _, p in named_parameters if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.stack(
            [torch.linalg.vector_norm(g) for g in grads]))))


def _fit(data, **params):
    X, y = data
    base = dict(hidden_layer_sizes=(32,), epochs=5, lr=1e-2, random_state=0)
    return NeuralNetClassifier(**{**base, **params}).fit(X, y)


@pytest.mark.parametrize("precision, dtype", [("32", torch.float32), ("bf16", torch.bfloat16),
                                              ("16", torch.float16)])
def test_precision_runs_the_forward_pass_in_that_dtype_on_cpu(digits_data, precision, dtype):
    seen = _Dtypes()
    est = _fit(digits_data, precision=precision, callbacks=[seen])
    assert set(seen.outputs) == {dtype}
    # weights and optimiser stay float32; the loss is float32 and finite
    assert all(p.dtype == torch.float32 for p in est.module_.parameters())
    assert np.isfinite(est.history_[:, "train_loss"]).all()
    assert est.score(*digits_data) > 0.9
    proba = est.predict_proba(digits_data[0][:5])
    assert proba.dtype == np.float64 and np.allclose(proba.sum(axis=1), 1)


def test_bf16_learns_as_well_as_float32_on_digits(digits_data):
    full = _fit(digits_data, epochs=10, precision="32")
    half = _fit(digits_data, epochs=10, precision="bf16")
    assert abs(full.score(*digits_data) - half.score(*digits_data)) < 0.03
    # not the same computation: bf16 rounds the products
    assert not np.array_equal(full.predict_proba(digits_data[0]),
                              half.predict_proba(digits_data[0]))


def test_the_lean_loop_and_skorchs_loop_agree_in_bf16(digits_data):
    lean = _fit(digits_data, precision="bf16", epochs=2)
    hooked = _fit(digits_data, precision="bf16", epochs=2, callbacks=[_Dtypes()])
    np.testing.assert_allclose(lean.history_[:, "train_loss"],
                               hooked.history_[:, "train_loss"], rtol=1e-5)


def test_float16_scales_the_loss_and_clips_the_unscaled_gradients(digits_data):
    seen = _Dtypes()
    est = _fit(digits_data, precision="16", max_grad_norm=0.5, lr=0.05, callbacks=[seen])
    scaler = est.net_.grad_scaler_
    assert isinstance(scaler, torch.amp.GradScaler) and scaler.get_scale() > 1
    # the step sees true gradients (unscaled), clipped to the norm: not scaled ones
    assert max(seen.norms) <= 0.5 * (1 + 1e-4)
    assert max(seen.norms) > 0.25
    assert est.score(*digits_data) > 0.85


def test_no_scaler_without_float16(digits_data):
    assert _fit(digits_data, precision="bf16", epochs=1).net_.grad_scaler_ is None


def test_a_regressor_trains_in_bf16(regression_data):
    X, y = regression_data
    est = NeuralNetRegressor(hidden_layer_sizes=(32,), epochs=30, lr=1e-2, precision="bf16",
                             random_state=0).fit(X, y)
    assert est.predict(X).dtype == np.float64
    assert est.score(X, y) > 0.8


def test_a_precision_the_device_cannot_run_is_a_clear_error(digits_data, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("autocast: bfloat16 is not supported here")

    monkeypatch.setattr(_precision.torch, "autocast", broken)
    with pytest.raises(ValueError, match="precision='bf16' cannot run on cpu.*precision='32'"):
        _fit(digits_data, precision="bf16", epochs=1)
