"""Sequence modules: RNN and Transformer over float steps and integer token ids."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import train_test_split
from torch.utils.data import TensorDataset

from sktune import NeuralNetClassifier
from sktune.data import DatasetView
from sktune.modules import RNN, Transformer

VOCAB = 20
A, B = 1, 2  # the two marker tokens; 0 pads


def order_task(n=1200, length=12, seed=0):
    """Token sequences of random lengths (padded with 0 at the end) holding the markers
    A and B once each; the label is whether A comes before B. The same tokens in
    another order flip the label, so a bag of tokens cannot solve it."""
    rng = np.random.default_rng(seed)
    X = rng.integers(3, VOCAB, size=(n, length))
    lengths = rng.integers(4, length + 1, size=n)
    y = np.empty(n, dtype=int)
    for i, size in enumerate(lengths):
        a, b = rng.choice(size, size=2, replace=False)
        X[i, a], X[i, b] = A, B
        X[i, size:] = 0
        y[i] = int(a < b)
    return X, y


@pytest.fixture(scope="module")
def digit_sequences(digits_data):
    X, y = digits_data
    X = X.astype(np.float32).reshape(-1, 8, 8)  # 8 steps (rows) of 8 features (pixels)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def tokens():
    X, y = order_task()
    return train_test_split(X, y, test_size=0.25, random_state=0)


SEQUENCE_NETS = [
    (RNN, dict(module__hidden_size=48, lr=1e-2, epochs=8)),
    (Transformer, dict(module__d_model=32, module__dim_feedforward=64, lr=3e-3, epochs=10,
                       dropout=0.0)),
]


@pytest.mark.parametrize("module, params", SEQUENCE_NETS, ids=["RNN", "Transformer"])
def test_digits_read_as_eight_steps_of_eight_features(digit_sequences, module, params):
    X_train, X_test, y_train, y_test = digit_sequences
    est = NeuralNetClassifier(module=module, random_state=0, **params).fit(X_train, y_train)
    assert est.module_.inputs.shape == (8, 8)  # the estimator passed input_shape
    assert est.score(X_test, y_test) > 0.9


@pytest.mark.parametrize("module, params", SEQUENCE_NETS, ids=["RNN", "Transformer"])
def test_token_ids_whose_label_depends_on_their_order(tokens, module, params):
    X_train, X_test, y_train, y_test = tokens
    est = NeuralNetClassifier(module=module, module__vocab_size=VOCAB, random_state=0,
                              **{**params, "epochs": 12}).fit(X_train, y_train)
    assert est.score(X_test, y_test) > 0.9
    # a bag of tokens cannot tell the orders apart: an MLP on token counts is at chance
    counts = [np.stack([np.bincount(r, minlength=VOCAB) for r in part])
              for part in (X_train, X_test)]
    bag = NeuralNetClassifier(epochs=20, random_state=0).fit(counts[0], y_train)
    assert bag.score(counts[1], y_test) < 0.65


@pytest.mark.parametrize("module, params", [
    (RNN, {}), (RNN, dict(module__pooling="mean", module__bidirectional=True)),
    (RNN, dict(module__pooling="max", module__cell="lstm", module__num_layers=2)),
    (Transformer, dict(module__d_model=16)), (Transformer, dict(module__pooling="max",
                                                                module__d_model=16)),
    (Transformer, dict(module__pooling="cls", module__d_model=16)),
], ids=["rnn-last", "rnn-mean-bi", "lstm-max", "tr-mean", "tr-max", "tr-cls"])
def test_padding_is_masked_out(tokens, module, params):
    """More padding at the end of every sequence changes no output (the estimator
    takes the width it was fitted on; the modules take any length)."""
    X_train, X_test, y_train, _ = tokens
    est = NeuralNetClassifier(module=module, module__vocab_size=VOCAB, epochs=1,
                              random_state=0, **params).fit(X_train, y_train)
    net = est.module_.eval()
    ids = torch.as_tensor(X_test)
    padded = torch.cat([ids, torch.zeros(len(ids), 5, dtype=ids.dtype)], dim=1)
    shorter = ids[:, :4]  # rows whose padding starts by step 4 lose only padding
    short = (ids[:, 4:] == 0).all(dim=1)
    with torch.no_grad():
        out = net(ids)
        torch.testing.assert_close(net(padded), out, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(net(shorter)[short], out[short], atol=1e-5, rtol=1e-5)
    assert short.sum() > 10


def test_flat_rows_with_input_shape_train_like_3d_arrays(digit_sequences):
    X_train, _, y_train, _ = digit_sequences
    params = dict(module=RNN, module__hidden_size=16, epochs=2, random_state=0)
    seq = NeuralNetClassifier(**params).fit(X_train, y_train)
    flat = NeuralNetClassifier(module__input_shape=(8, 8), **params).fit(
        X_train.reshape(len(X_train), -1), y_train)
    np.testing.assert_array_equal(seq.history_[:, "train_loss"], flat.history_[:, "train_loss"])


def test_a_dataset_of_token_ids_trains_like_the_array(tokens):
    X_train, X_test, y_train, _ = tokens
    params = dict(module=Transformer, module__vocab_size=VOCAB, module__d_model=16, epochs=2,
                  random_state=0)
    array = NeuralNetClassifier(**params).fit(X_train, y_train)
    dataset = NeuralNetClassifier(**params).fit(DatasetView(TensorDataset(torch.as_tensor(X_train),
                                                                 torch.as_tensor(y_train))))
    np.testing.assert_allclose(dataset.history_[:, "train_loss"], array.history_[:, "train_loss"],
                               rtol=1e-6)
    np.testing.assert_allclose(dataset.predict_proba(X_test), array.predict_proba(X_test),
                               atol=1e-6)


def test_token_errors_are_clear(tokens):
    X_train, _, y_train, _ = tokens
    est = NeuralNetClassifier(module=RNN, module__vocab_size=10, epochs=1, random_state=0)
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 10\).*up to|to 19"):
        est.fit(X_train, y_train)
    with pytest.raises(ValueError, match="token ids.*integers; got dtype float"):
        est.set_params(module__vocab_size=VOCAB).fit(X_train.astype(np.float32), y_train)
    with pytest.raises(ValueError, match="d_model=30 must be a multiple of nhead=4"):
        NeuralNetClassifier(module=Transformer, module__d_model=30).fit(X_train, y_train)
    with pytest.raises(ValueError, match="cell must be one of.*gru.*lstm"):
        NeuralNetClassifier(module=RNN, module__cell="rnn").fit(X_train, y_train)


def test_reinit_head_finds_the_sequence_models_output_layer(tokens):
    X_train, _, y_train, _ = tokens
    src = NeuralNetClassifier(module=RNN, module__vocab_size=VOCAB, epochs=1,
                              random_state=0).fit(X_train, y_train)
    three = np.arange(len(y_train)) % 3
    est = NeuralNetClassifier(module=src.module_, reinit_head=True, freeze="inputs", epochs=1,
                              random_state=0).fit(X_train, three)
    assert est.module_.head.out_features == 3
    assert torch.equal(est.module_.inputs.embedding.weight, src.module_.inputs.embedding.weight)


def _hook_input(module, into, key):
    module.register_forward_hook(lambda m, args, out: into.update({key: args[0]}))


def test_rnn_dropout_between_recurrent_layers_and_before_head():
    stacked = RNN(64, 10, input_shape=(8, 8), hidden_size=16, num_layers=2, dropout=0.5)
    assert stacked.rnn.dropout == 0.5 and isinstance(stacked.drop, torch.nn.Dropout)
    one = RNN(64, 10, input_shape=(8, 8), hidden_size=16, dropout=0.5)
    assert one.rnn.dropout == 0.0 and one.drop.p == 0.5  # torch warns on 1 layer with dropout
    none = RNN(64, 10, input_shape=(8, 8), hidden_size=16, num_layers=2)
    assert none.rnn.dropout == 0.0 and isinstance(none.drop, torch.nn.Identity)
    assert not any(isinstance(m, torch.nn.Dropout) for m in none.modules())
    # in train mode the head reads the pooled state with dropout; in eval mode as it is
    torch.manual_seed(0)
    seen = {}
    _hook_input(one.head, seen, "head")
    X = torch.rand(64, 8, 8)
    with torch.no_grad():
        one.eval()(X)
        pooled = seen["head"]
        one.train()(X)  # one recurrent layer: nothing random before the pooling
    kept = seen["head"] != 0
    torch.testing.assert_close(seen["head"][kept], pooled[kept] / 0.5)
    assert 0.3 < 1 - kept.float().mean() < 0.7


def test_transformer_dropout_only_inside_the_encoder_layers():
    net = Transformer(64, 10, input_shape=(8, 8), d_model=16, dim_feedforward=32, dropout=0.3)
    drops = {n: m.p for n, m in net.named_modules() if isinstance(m, torch.nn.Dropout)}
    assert drops == {f"encoder.layers.{i}.{name}": 0.3
                     for i in range(2) for name in ("dropout", "dropout1", "dropout2")}
    assert all(layer.self_attn.dropout == 0.3 for layer in net.encoder.layers)
    # nothing between the pooled encoder output and head, even in train mode
    seen = {}
    _hook_input(net.head, seen, "head")
    net.encoder.register_forward_hook(lambda m, args, out: seen.update(encoded=out))
    with torch.no_grad():
        net.train()(torch.rand(4, 8, 8))
    torch.testing.assert_close(seen["head"], seen["encoded"][:, 1:].mean(dim=1))
