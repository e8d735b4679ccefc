"""Fine-tuning: pretrained module instances, freeze, unfreeze_at, lr_multipliers,
skorch-style param_groups, reinit_head."""

import copy
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from torch import nn

from sktune import BayesSearchCV, NeuralNetClassifier, NeuralNetRegressor, load, save
from sktune.exceptions import PersistenceError
from sktune.modules import MLP, ConvNet
from sktune.nets._finetune import layers
from sktune.search._fits.checkpoint import fingerprint


@pytest.fixture(scope="module")
def digits(digits_data):
    X, y = digits_data
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def pretrained(digits):
    """A ConvNet trained on the first 600 digits."""
    X, y = digits
    src = NeuralNetClassifier(module=ConvNet, epochs=4, lr=3e-3, random_state=0)
    return src.fit(X[:600], y[:600]).module_


def _target(digits):
    X, y = digits
    return X[600:800], y[600:800]


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a, b, prefix=""):
    return all(torch.equal(a[k], b[k]) for k in a if k.startswith(prefix))


def _changed(a, b, prefix):
    keys = [k for k in a if k.startswith(prefix)]
    return bool(keys) and all(not torch.equal(a[k], b[k]) for k in keys)


def _net(pretrained, **params):
    base = dict(module=pretrained, epochs=2, lr=3e-3, random_state=0)
    return NeuralNetClassifier(**{**base, **params})


# -- a pretrained instance ----------------------------------------------------------
def test_an_instance_is_copied_for_each_fit_and_never_modified(pretrained, digits):
    X, y = _target(digits)
    before = _state(pretrained)
    a = _net(pretrained).fit(X, y)
    assert _same(_state(pretrained), before)  # the instance passed in is untouched
    assert a.module_ is not pretrained
    assert _changed(_state(a.module_), before, "features")  # it trained (a copy)
    b = _net(pretrained).fit(X, y)  # the same start, the same seed: the same network
    assert _same(_state(a.module_), _state(b.module_))
    # and it did start from the pretrained weights: a scratch ConvNet ends elsewhere
    scratch = _net(ConvNet).fit(X, y)
    assert a.score(*digits) > scratch.score(*digits) + 0.1


def test_every_candidate_and_fold_fine_tunes_from_the_same_weights(pretrained, digits):
    X, y = _target(digits)
    before = _state(pretrained)
    cv = KFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(_net(pretrained), {"lr": [1e-3, 3e-3]}, cv=cv, n_jobs=2).fit(X, y)
    assert _same(_state(pretrained), before)
    for i, lr in enumerate([1e-3, 3e-3]):  # each equals fits started by hand from the instance
        by_hand = cross_val_score(_net(pretrained, lr=lr), X, y, cv=cv)
        np.testing.assert_allclose(
            [search.cv_results_[f"split{k}_test_score"][i] for k in range(3)], by_hand)


def test_clone_shares_the_instance_and_pickle_keeps_the_weights(pretrained, digits):
    est = _net(pretrained, callbacks=[])
    cloned = clone(est)
    assert cloned.module is pretrained  # no fit changes it: never deep-copied by clone
    assert cloned.callbacks == [] and cloned.callbacks is not est.callbacks  # others are
    X, y = _target(digits)
    fitted = est.fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    assert _same(_state(restored.module), _state(pretrained))


def test_save_and_load_keep_the_pretrained_instance(pretrained, digits, tmp_path):
    X, y = _target(digits)
    est = _net(pretrained, freeze=1).fit(X, y)
    path = tmp_path / "ft.sktune"
    save(est, path)
    loaded = load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert type(loaded.module) is ConvNet and _same(_state(loaded.module), _state(pretrained))
    again = clone(loaded).fit(X, y)  # refitting the loaded one fine-tunes like the original
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))


class _Sneaky(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(64, 10)
        self.hook = os.system  # a function: never to be restored from a file


def test_load_refuses_a_module_file_that_names_anything_but_modules(pretrained, digits,
                                                                   tmp_path):
    X, y = _target(digits)
    path = tmp_path / "ft.sktune"
    save(_net(pretrained, epochs=1).fit(X, y), path)
    bad = tmp_path / "bad.sktune"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "module.pt":
                import io
                buffer = io.BytesIO()
                torch.save(_Sneaky(), buffer)
                data = buffer.getvalue()
            dst.writestr(item, data)
    with pytest.raises(PersistenceError, match="system.*refused|refused"):
        load(bad)


def test_save_refuses_an_instance_of_a_class_it_could_not_import_back(digits, tmp_path):
    class Local(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(64, 10)

        def forward(self, X):
            return self.linear(X)

    est = NeuralNetClassifier(module=Local(), epochs=1, random_state=0).fit(*_target(digits))
    with pytest.raises(PersistenceError, match="Local.*not defined at the top level"):
        save(est, tmp_path / "local.sktune")


def test_checkpoints_fingerprint_the_instance_by_its_weights(pretrained, digits, tmp_path):
    assert fingerprint(_net(pretrained)) == fingerprint(_net(copy.deepcopy(pretrained)))
    other = copy.deepcopy(pretrained)
    with torch.no_grad():
        other.classifier.layers[0].weight.add_(1e-3)
    assert fingerprint(_net(pretrained)) != fingerprint(_net(other))
    X, y = _target(digits)
    path = tmp_path / "ckpt.db"
    kwargs = dict(n_iter=3, cv=2, random_state=0, checkpoint=path)
    first = BayesSearchCV(_net(pretrained, epochs=1), {"lr": (1e-3, 1e-2, "log-uniform")},
                          **kwargs).fit(X, y)
    resumed = BayesSearchCV(_net(copy.deepcopy(pretrained), epochs=1),
                            {"lr": (1e-3, 1e-2, "log-uniform")}, **kwargs).fit(X, y)
    np.testing.assert_array_equal(resumed.cv_results_["mean_test_score"],
                                  first.cv_results_["mean_test_score"])


def test_module_params_with_an_instance_are_refused(pretrained, digits):
    with pytest.raises(ValueError, match="instance.*module__channels.*nothing to build"):
        _net(pretrained, module__channels=(8,)).fit(*_target(digits))


# -- freeze -----------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_frozen_parameters_stay_bit_identical_under_weight_decay(pretrained, digits, optimizer):
    X, y = _target(digits)
    before = _state(pretrained)
    est = _net(pretrained, freeze="features", optimizer=optimizer, alpha=0.1,
               penalty="l2").fit(X, y)
    after = _state(est.module_)
    assert _same(after, before, "features")
    assert _changed(after, before, "classifier")
    assert not any(p.requires_grad for p in est.module_.features.parameters())
    # the frozen weights have no gradient: no optimiser state was made for them
    state = est.net_.optimizer_.state
    assert all(p not in state for p in est.module_.features.parameters())


def test_freeze_counts_layers_and_looks_through_a_single_wrapper(digits):
    X, y = digits
    mlp = MLP(64, 10, hidden_layer_sizes=(16, 16))
    assert [name for name, _ in layers(mlp)] == ["layers.0", "layers.2", "layers.4"]
    conv = ConvNet(64, 10)
    assert [name for name, _ in layers(conv)] == ["features", "classifier"]
    before = _state(mlp)
    est = NeuralNetClassifier(module=mlp, freeze=2, epochs=2, random_state=0).fit(X, y)
    after = _state(est.module_)
    assert _same(after, before, "layers.0") and _same(after, before, "layers.2")
    assert _changed(after, before, "layers.4")


def test_freeze_patterns_match_parameter_and_module_names(pretrained, digits):
    X, y = _target(digits)
    before = _state(pretrained)
    est = _net(pretrained, freeze=["features.0", "classifier.layers.0.bias"]).fit(X, y)
    after = _state(est.module_)
    assert _same(after, before, "features.0.")
    assert _same(after, before, "classifier.layers.0.bias")
    assert _changed(after, before, "features.3.")
    assert _changed(after, before, "classifier.layers.0.weight")


class _BatchNormNet(nn.Module):
    def __init__(self, n_features=64, n_outputs=10):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_features, 32), nn.BatchNorm1d(32), nn.ReLU())
        self.neck = nn.Sequential(nn.Linear(32, 32), nn.BatchNorm1d(32), nn.ReLU())
        self.head = nn.Linear(32, n_outputs)

    def forward(self, X):
        return self.head(self.neck(self.body(X)))


def test_batchnorm_statistics_of_frozen_parts_stay_as_they_are(digits):
    X, y = digits
    net = NeuralNetClassifier(module=_BatchNormNet, epochs=2, random_state=0).fit(X[:500],
                                                                                 y[:500])
    pretrained = net.module_
    before = _state(pretrained)
    est = NeuralNetClassifier(module=pretrained, freeze="body", epochs=2,
                              random_state=0).fit(X[600:800], y[600:800])
    after = _state(est.module_)
    assert _same(after, before, "body.1.")  # running_mean, running_var, num_batches_tracked
    assert _changed(after, before, "neck.1.running_mean")  # trainable BatchNorm keeps learning


def test_unfreeze_at_lets_the_frozen_parameters_train_after_that_many_epochs(pretrained, digits):
    X, y = _target(digits)
    before = _state(pretrained)
    two = _net(pretrained, freeze=1, unfreeze_at=2, epochs=2).fit(X, y)
    assert _same(_state(two.module_), before, "features")
    three = _net(pretrained, freeze=1, unfreeze_at=2, epochs=3).fit(X, y)
    assert _changed(_state(three.module_), before, "features")
    assert all(p.requires_grad for p in three.module_.parameters())
    # continued training unfreezes at the same epoch as one fit would
    two.partial_fit(X, y)
    np.testing.assert_array_equal(two.predict_proba(X), three.predict_proba(X))
    # without freeze it changes nothing
    plain = _net(pretrained, unfreeze_at=1).fit(X, y)
    np.testing.assert_array_equal(plain.predict_proba(X), _net(pretrained).fit(X, y)
                                  .predict_proba(X))


def test_freezing_everything_or_matching_nothing_is_a_clear_error(pretrained, digits):
    X, y = _target(digits)
    with pytest.raises(ValueError, match="every parameter.*nothing to train"):
        _net(pretrained, freeze=["features", "classifier"]).fit(X, y)
    with pytest.raises(ValueError, match="freeze=3.*2 .*features, classifier"):
        _net(pretrained, freeze=3).fit(X, y)
    with pytest.raises(ValueError, match=r"'backbone'.*matches no parameter.*features.0.weight"):
        _net(pretrained, freeze="backbone").fit(X, y)
    with pytest.raises(ValueError, match="lr_multipliers pattern 'body'"):
        _net(pretrained, lr_multipliers={"body": 0.1}).fit(X, y)


# -- learning rates -------------------------------------------------------------------
def _group_lrs(est):
    return sorted({(round(g["lr"], 12), len(g["params"])) for g in
                   est.net_.optimizer_.param_groups})


def test_lr_multipliers_give_parameter_groups_their_own_learning_rate(pretrained, digits):
    X, y = _target(digits)
    est = _net(pretrained, optimizer="sgd", momentum=0.0, alpha=0.0, lr=0.1, epochs=1,
               lr_multipliers={"features.0": 0.0, "features": 0.5}).fit(X, y)
    lrs = {id(p): g["lr"] for g in est.net_.optimizer_.param_groups for p in g["params"]}
    module = est.module_
    assert lrs[id(module.features[0].weight)] == 0.0  # the first pattern that matches wins
    assert lrs[id(module.features[3].weight)] == pytest.approx(0.05)
    assert lrs[id(module.classifier.layers[2].weight)] == pytest.approx(0.1)
    assert _same(_state(module), _state(pretrained), "features.0.")  # lr 0: no step
    assert est.history_[:, "lr"] == [0.1]  # the history keeps the base lr


def test_a_float_lr_multiplier_is_layer_wise_decay(digits):
    X, y = digits
    mlp = MLP(64, 10, hidden_layer_sizes=(16, 16))
    est = NeuralNetClassifier(module=mlp, lr=0.01, lr_multipliers=0.5, epochs=1,
                              random_state=0).fit(X, y)
    lrs = {id(p): g["lr"] for g in est.net_.optimizer_.param_groups for p in g["params"]}
    layer_lrs = [lrs[id(est.module_.layers[i].weight)] for i in (0, 2, 4)]
    assert layer_lrs == pytest.approx([0.0025, 0.005, 0.01])


def test_lr_multipliers_scale_with_the_schedule(digits):
    X, y = digits
    est = NeuralNetClassifier(hidden_layer_sizes=(16,), lr=0.01, lr_schedule="step",
                              lr_schedule__step_size=1, lr_schedule__gamma=0.5,
                              lr_multipliers={"layers.0": 0.1}, epochs=3,
                              random_state=0).fit(X, y)
    assert est.history_[:, "lr"] == pytest.approx([0.01, 0.005, 0.0025])
    lrs = sorted({g["lr"] for g in est.net_.optimizer_.param_groups})
    assert lrs == pytest.approx([0.00125 * 0.1, 0.00125])


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_skorch_style_param_groups_work(pretrained, digits, optimizer):
    X, y = _target(digits)
    est = _net(pretrained, optimizer=optimizer,
               optimizer__param_groups=[("features.*", {"lr": 0.0}),
                                        ("classifier.layers.0.*", {"lr": 1e-2})]).fit(X, y)
    assert _same(_state(est.module_), _state(pretrained), "features")
    lrs = {id(p): g["lr"] for g in est.net_.optimizer_.param_groups for p in g["params"]}
    assert lrs[id(est.module_.classifier.layers[0].weight)] == 1e-2
    assert lrs[id(est.module_.classifier.layers[2].weight)] == 3e-3
    with pytest.raises(ValueError, match="pairs"):
        _net(pretrained, optimizer__param_groups=["features"]).fit(X, y)


# -- the output layer ---------------------------------------------------------------------
def test_a_head_of_the_wrong_width_asks_for_reinit_head(pretrained, digits):
    X, y = digits
    five = y < 5
    with pytest.raises(ValueError, match="'classifier.layers.2' has 10 outputs.*needs 5.*"
                                         "reinit_head=True"):
        _net(pretrained).fit(X[five][:200], y[five][:200])
    est = _net(pretrained, reinit_head=True, freeze="features").fit(X[five][:200], y[five][:200])
    head = est.module_.classifier.layers[2]
    assert head.out_features == 5 and est.predict_proba(X[:3]).shape == (3, 5)
    assert _same(_state(est.module_), _state(pretrained), "features")
    assert pretrained.classifier.layers[2].out_features == 10


def test_reinit_head_draws_a_new_output_layer_from_the_seeded_stream(pretrained, digits):
    X, y = _target(digits)
    keep = _net(pretrained, freeze=["features", "classifier.layers.0"], epochs=1, lr=1e-9,
                optimizer="sgd", momentum=0.0)
    new = clone(keep).set_params(reinit_head=True)
    kept, fresh = keep.fit(X, y).module_, new.fit(X, y).module_
    w0 = pretrained.classifier.layers[2].weight
    assert torch.allclose(kept.classifier.layers[2].weight, w0, atol=1e-6)
    assert not torch.allclose(fresh.classifier.layers[2].weight, w0, atol=1e-3)
    again = clone(new).fit(X, y).module_
    assert torch.equal(again.classifier.layers[2].weight, fresh.classifier.layers[2].weight)
    named = clone(new).set_params(reinit_head="classifier.layers.2").fit(X, y).module_
    assert torch.equal(named.classifier.layers[2].weight, fresh.classifier.layers[2].weight)
    with pytest.raises(ValueError, match="'features.0' is not an nn.Linear.*classifier.layers.2"):
        clone(new).set_params(reinit_head="features.0").fit(X, y)


def test_a_pretrained_regressor_replaces_its_head(digits):
    X, y = digits
    src = NeuralNetRegressor(hidden_layer_sizes=(16,), epochs=2, random_state=0).fit(
        X, np.c_[y, -y])
    est = NeuralNetRegressor(module=src.module_, reinit_head=True, epochs=2,
                             random_state=0).fit(X, y)
    assert est.predict(X[:4]).shape == (4,)
    assert est.module_.layers[-1].out_features == 1
