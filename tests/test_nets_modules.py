"""Built-in and custom modules selected through ``module=`` and ``module__<arg>``."""

import numpy as np
import pytest
import torch
from torch import nn

from sktune import NeuralNetClassifier, NeuralNetRegressor
from sktune.modules import ACTIVATIONS, MLP, ConvNet, ResidualMLP
from sktune.nets import modules as nets_modules


def _fast(cls, **params):
    base = dict(hidden_layer_sizes=(16,), epochs=2, batch_size=32, lr=1e-2, random_state=0)
    return cls(**{**base, **params})


def _layers(module, kind):
    return [m for m in module.modules() if isinstance(m, kind)]


class TwoLayer(nn.Module):
    """A user module: takes what the estimator derives plus its own arguments."""

    def __init__(self, n_features, n_outputs, width=5, scale=1.0):
        super().__init__()
        self.scale = scale
        self.fc1 = nn.Linear(n_features, width)
        self.fc2 = nn.Linear(width, n_outputs)

    def forward(self, X):
        return self.scale * self.fc2(torch.relu(self.fc1(X)))


class FixedSize(nn.Module):
    """A user module that takes none of the derived arguments."""

    def __init__(self, size_in=8, size_out=2):
        super().__init__()
        self.fc = nn.Linear(size_in, size_out)

    def forward(self, X):
        return self.fc(X)


class Squeezed(nn.Module):
    """A regression module that returns shape (n,) instead of (n, 1)."""

    def __init__(self, n_features):
        super().__init__()
        self.fc = nn.Linear(n_features, 1)

    def forward(self, X):
        return self.fc(X).squeeze(-1)


def test_public_modules_are_the_nets_modules():
    assert MLP is nets_modules.MLP and ResidualMLP is nets_modules.ResidualMLP
    assert ConvNet is nets_modules.ConvNet
    assert set(ACTIVATIONS) == {"relu", "tanh", "logistic", "gelu", "identity"}


@pytest.mark.parametrize("module", [None, MLP, ResidualMLP])
def test_flat_modules_selectable(module, iris_data):
    X, y = iris_data
    est = _fast(NeuralNetClassifier, module=module, hidden_layer_sizes=(8, 8)).fit(X, y)
    assert type(est.module_) is (module or MLP)
    assert est.module_ is est.net_.module_
    proba = est.predict_proba(X)
    assert proba.shape == (150, 3)
    out = _layers(est.module_, nn.Linear)[-1]
    assert out.out_features == 3


def test_residual_mlp_structure(iris_data):
    X, y = iris_data
    est = _fast(NeuralNetClassifier, module=ResidualMLP, hidden_layer_sizes=(8, 6)).fit(X, y)
    m = est.module_
    assert m.stem.in_features == 4 and m.stem.out_features == 8
    assert len(m.blocks) == 2
    assert len(_layers(m, nn.LayerNorm)) == 3  # one per block + head
    assert m.head[-1].out_features == 3


def test_residual_mlp_needs_a_hidden_layer(iris_data):
    X, y = iris_data
    with pytest.raises(ValueError, match="at least one hidden layer"):
        _fast(NeuralNetClassifier, module=ResidualMLP, hidden_layer_sizes=()).fit(X, y)


def test_convnet_on_flat_digits(digits_data):
    X, y = digits_data
    est = _fast(NeuralNetClassifier, module=ConvNet, module__channels=(4, 8),
                hidden_layer_sizes=(16,), epochs=3).fit(X[:400], y[:400])
    assert est.module_.input_shape == (1, 8, 8)
    assert [c.out_channels for c in _layers(est.module_, nn.Conv2d)] == [4, 8]
    assert est.n_features_in_ == 64
    assert est.predict_proba(X[400:450]).shape == (50, 10)
    # it learned something: better than chance (0.1) on held-out digits
    assert est.score(X[400:800], y[400:800]) > 0.3


def test_convnet_with_image_shaped_input(digits_data):
    X, y = digits_data
    X4 = X.reshape(-1, 1, 8, 8)
    est = _fast(NeuralNetClassifier, module=ConvNet, module__input_shape=(1, 8, 8),
                module__channels=(4,), epochs=3).fit(X4[:400], y[:400])
    assert est.module_.input_shape == (1, 8, 8)
    pred4 = est.predict(X4[400:450])
    assert pred4.shape == (50,)
    assert set(pred4) <= set(range(10))
    assert est.score(X4[400:800], y[400:800]) > 0.3  # chance is 0.1
    assert est.n_iter_ == 3 and np.isfinite(est.history_[:, "train_loss"]).all()


def test_convnet_flat_and_image_input_agree(digits_data):
    X, y = digits_data
    X4 = X.reshape(-1, 1, 8, 8).astype(np.float32)
    est = _fast(NeuralNetClassifier, module=ConvNet, module__input_shape=(1, 8, 8),
                module__channels=(4,), epochs=2).fit(X4[:300], y[:300])
    est.module_.eval()
    with torch.no_grad():
        flat = est.module_(torch.as_tensor(X4[300:340].reshape(40, -1)))
        image = est.module_(torch.as_tensor(X4[300:340]))
    torch.testing.assert_close(flat, image)
    np.testing.assert_allclose(est.predict_proba(X4[300:340]),
                               torch.softmax(image.double(), 1).numpy(), rtol=1e-6)


def test_convnet_non_square_features_need_input_shape(binary_data):
    X, y = binary_data  # 8 features: not a square image
    with pytest.raises(ValueError, match="input_shape"):
        _fast(NeuralNetClassifier, module=ConvNet).fit(X, y)
    est = _fast(NeuralNetClassifier, module=ConvNet, module__input_shape=(2, 2, 2),
                module__channels=(3,)).fit(X, y)
    assert est.module_.input_shape == (2, 2, 2)
    with pytest.raises(ValueError, match="does not match"):
        _fast(NeuralNetClassifier, module=ConvNet, module__input_shape=(1, 3, 3)).fit(X, y)


def test_convnet_image_input_wrong_shape_at_predict_raises_value_error(digits_data):
    X, y = digits_data
    X4 = X.reshape(-1, 1, 8, 8)
    est = _fast(NeuralNetClassifier, module=ConvNet, module__input_shape=(1, 8, 8),
                module__channels=(4,), epochs=1).fit(X4[:200], y[:200])
    with pytest.raises(ValueError):
        est.predict(X4[:5, :, :4, :4])  # 16 features instead of 64


def test_convnet_fitted_on_images_predicts_flat_rows(digits_data):
    # ConvNet accepts flat rows or images; fitting on one and predicting the
    # other is documented ("works inside sklearn pipelines").
    X, y = digits_data
    X4 = X.reshape(-1, 1, 8, 8)
    est = _fast(NeuralNetClassifier, module=ConvNet, module__input_shape=(1, 8, 8),
                module__channels=(4,), epochs=1).fit(X4[:200], y[:200])
    np.testing.assert_array_equal(est.predict(X[200:230]), est.predict(X4[200:230]))


def test_custom_module_with_routed_args(binary_data):
    X, y = binary_data
    est = _fast(NeuralNetClassifier, module=TwoLayer, module__width=7, module__scale=0.5)
    est.fit(X, y)
    assert isinstance(est.module_, TwoLayer)
    assert est.module_.fc1.in_features == 8 and est.module_.fc1.out_features == 7
    assert est.module_.fc2.out_features == 2
    assert est.module_.scale == 0.5
    assert est.predict(X).shape == (200,)


def test_custom_module_not_given_arguments_it_does_not_accept(binary_data):
    X, y = binary_data
    est = _fast(NeuralNetClassifier, module=FixedSize).fit(X, y)
    assert est.module_.fc.in_features == 8 and est.module_.fc.out_features == 2
    with pytest.raises(TypeError, match="size_inn"):
        _fast(NeuralNetClassifier, module=FixedSize, module__size_inn=3).fit(X, y)


def test_custom_regression_module_returning_1d(regression_data):
    X, y = regression_data
    est = _fast(NeuralNetRegressor, module=Squeezed, epochs=20, lr=0.05).fit(X, y)
    assert est.predict(X).shape == (len(X),)
    losses = est.history_[:, "train_loss"]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("cls", [NeuralNetClassifier, NeuralNetRegressor])
def test_empty_hidden_layer_sizes_gives_linear_model(cls, binary_data, regression_data):
    X, y = binary_data if cls is NeuralNetClassifier else regression_data
    est = _fast(cls, hidden_layer_sizes=(), dropout=0.5).fit(X, y)
    leaves = [m for m in est.module_.modules() if not list(m.children())]
    assert len(leaves) == 1 and isinstance(leaves[0], nn.Linear)
    n_out = 2 if cls is NeuralNetClassifier else 1
    assert (leaves[0].in_features, leaves[0].out_features) == (8, n_out)
    # a linear model: the raw output is an affine function of the input
    a, b = X[:10], X[10:20]
    est.module_.eval()
    with torch.no_grad():
        out = lambda Z: est.module_(torch.as_tensor(Z, dtype=torch.float32)).numpy()
        np.testing.assert_allclose(out(0.5 * a + 0.5 * b), 0.5 * out(a) + 0.5 * out(b),
                                   atol=1e-5)


@pytest.mark.parametrize("module", [None, ResidualMLP, ConvNet])
def test_dropout_layers_present_only_when_dropout_positive(module, digits_data):
    X, y = digits_data
    kw = dict(module=module, hidden_layer_sizes=(8, 8), epochs=1)
    if module is ConvNet:
        kw["module__channels"] = (2,)
    with_dropout = _fast(NeuralNetClassifier, dropout=0.3, **kw).fit(X[:100], y[:100])
    drops = _layers(with_dropout.module_, nn.Dropout)
    # MLP: after each of the 2 hidden layers; ResidualMLP: one per block; ConvNet:
    # before each of its 3 Linear layers (the first on the flattened features)
    assert len(drops) == (3 if module is ConvNet else 2) and all(d.p == 0.3 for d in drops)
    without = _fast(NeuralNetClassifier, dropout=0.0, **kw).fit(X[:100], y[:100])
    assert _layers(without.module_, nn.Dropout) == []


def _convnet(hidden, dropout, channels=(4,)):
    """A ConvNet on 8x8 digits and its modules in the order forward runs them."""
    net = ConvNet(64, 10, channels=channels, hidden_layer_sizes=hidden, dropout=dropout)
    order = [*net.features, *net.classifier.layers]
    leaves = [m for m in net.modules() if not list(m.children())]
    assert leaves == order  # forward is classifier(features(X)): nothing else runs
    return net, order


@pytest.mark.parametrize("hidden, head", [
    ((), [nn.Flatten, nn.Dropout, nn.Linear]),
    ((64,), [nn.Flatten, nn.Dropout, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]),
], ids=["no hidden layer", "one hidden layer"])
def test_convnet_dropout_sits_before_each_fully_connected_layer(hidden, head):
    convs = [nn.Conv2d, nn.ReLU, nn.MaxPool2d]
    net, order = _convnet(hidden, 0.25)
    assert [type(m) for m in order] == convs + head
    assert [m.p for m in order if isinstance(m, nn.Dropout)] == [0.25] * len(hidden + (1,))
    # dropout=0: the same layers without any Dropout (nor an Identity in its place)
    _, plain = _convnet(hidden, 0.0)
    assert [type(m) for m in plain] == convs + [t for t in head if t is not nn.Dropout]


@pytest.mark.parametrize("hidden", [(), (64,)], ids=["no hidden layer", "one hidden layer"])
def test_convnet_drops_each_linear_layers_input_in_train_mode_only(hidden):
    p = 0.5
    torch.manual_seed(0)
    net, order = _convnet(hidden, p)
    linears = [i for i, m in enumerate(order) if isinstance(m, nn.Linear)]
    seen = {}
    for i in linears:  # what reaches each Dropout, and what the Linear after it reads
        order[i - 2].register_forward_hook(lambda m, a, out, i=i: seen.update({(i, "in"): out}))
        order[i].register_forward_hook(lambda m, a, out, i=i: seen.update({(i, "read"): a[0]}))
    X = torch.rand(32, 64)
    with torch.no_grad():
        net.train()
        train_out = net(X)
        for i in linears:
            before, read = seen[i, "in"], seen[i, "read"]
            kept = read != 0
            torch.testing.assert_close(read[kept], before[kept] / (1 - p))
            dropped = (before != 0) & ~kept
            assert 0.3 < dropped.sum() / (before != 0).sum() < 0.7
        net.eval()
        assert not torch.equal(net(X), train_out)
        for i in linears:
            assert torch.equal(seen[i, "read"], seen[i, "in"])
        no_dropout = net.features[:-1]  # the convolutions and Flatten
        torch.testing.assert_close(net(X), net.classifier(no_dropout(X.reshape(-1, 1, 8, 8))))
    # without dropout, training mode changes nothing
    plain, _ = _convnet(hidden, 0.0)
    with torch.no_grad():
        assert torch.equal(plain.train()(X), plain.eval()(X))


@pytest.mark.parametrize("dropout, linears", [(0.0, [0, 2]), (0.3, [0, 3])])
def test_convnet_dropout_keeps_parameter_names(dropout, linears):
    # the Dropout on the flattened features (issue 37) ends `features`, after Flatten, so
    # state_dicts saved before it (persistence loads them strictly, and the optimiser's
    # state by parameter order) still load, and names in freeze patterns still fit
    from sktune.nets._finetune import find_head, layers

    net, _ = _convnet((64,), dropout, channels=(4, 8))
    assert list(net.state_dict()) == [
        f"{layer}.{kind}" for layer in ["features.0", "features.3",
                                        *(f"classifier.layers.{i}" for i in linears)]
        for kind in ("weight", "bias")]
    before = ConvNet(64, 10, channels=(4, 8), dropout=dropout)
    before.features = nn.Sequential(*(m for m in before.features  # the layout before
                                      if not isinstance(m, nn.Dropout)))
    assert str(net.load_state_dict(before.state_dict())) == "<All keys matched successfully>"
    assert [name for name, _ in layers(net)] == ["features", "classifier"]
    assert find_head(net)[0] == f"classifier.layers.{linears[-1]}"
    assert isinstance(net.get_submodule("features.0"), nn.Conv2d)


def test_residual_mlp_widths_and_dropout_placement():
    net = ResidualMLP(4, 3, hidden_layer_sizes=(8, 6), dropout=0.2)
    assert (net.stem.in_features, net.stem.out_features) == (4, 8)
    widths = [(b.fc1.in_features, b.fc1.out_features, b.fc2.out_features) for b in net.blocks]
    assert widths == [(8, 6, 6), (6, 6, 6)]  # block i: width i -> i + 1, the last keeps it
    first, last = net.blocks
    assert isinstance(first.skip, nn.Linear) and first.skip.bias is None
    assert isinstance(last.skip, nn.Identity)
    assert [type(m) for m in net.head] == [nn.LayerNorm, nn.ReLU, nn.Linear]
    assert [n for n, m in net.named_modules() if isinstance(m, nn.Dropout)] == [
        "blocks.0.drop", "blocks.1.drop"]
    assert all(isinstance(b.drop, nn.Identity)
               for b in ResidualMLP(4, 3, hidden_layer_sizes=(8, 6)).blocks)


def test_dropout_is_off_at_prediction(binary_data):
    X, y = binary_data
    est = _fast(NeuralNetClassifier, dropout=0.5, hidden_layer_sizes=(32,)).fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), est.predict_proba(X))
    est.module_.eval()
    with torch.no_grad():
        logits = est.module_(torch.as_tensor(X, dtype=torch.float32)).double()
    np.testing.assert_allclose(est.predict_proba(X), torch.softmax(logits, 1).numpy(),
                               rtol=1e-12)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_activation_reaches_the_module(activation, binary_data):
    X, y = binary_data
    est = _fast(NeuralNetClassifier, activation=activation, hidden_layer_sizes=(4, 4),
                epochs=1).fit(X, y)
    acts = _layers(est.module_, ACTIVATIONS[activation])
    assert len(acts) == 2
    others = [cls for name, cls in ACTIVATIONS.items() if name != activation]
    assert not any(_layers(est.module_, cls) for cls in others)


def test_identity_activation_gives_linear_function(regression_data):
    X, y = regression_data
    est = _fast(NeuralNetRegressor, activation="identity", hidden_layer_sizes=(8, 8)).fit(X, y)
    a, b = X[:5], X[5:10]
    np.testing.assert_allclose(est.predict(0.5 * a + 0.5 * b),
                               0.5 * est.predict(a) + 0.5 * est.predict(b), atol=1e-5)


@pytest.mark.parametrize("module", [MLP, ResidualMLP, ConvNet])
def test_module_classes_standalone(module):
    net = module(n_features=16, n_outputs=3, hidden_layer_sizes=(5,))
    assert net(torch.zeros(4, 16)).shape == (4, 3)
