"""Named inputs (a tokenizer's dict output) and module outputs read as logits."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, cross_validate, train_test_split

from sktune import NeuralNetClassifier, NeuralNetRegressor
from sktune.data import DatasetView, InputDict

VOCAB, LENGTH = 50, 12


def token_data(n=120, seed=0):
    """Token ids padded with 0 and their attention mask; the label is whether
    token 7 occurs in the unpadded part."""
    rng = np.random.RandomState(seed)
    lengths = rng.randint(4, LENGTH + 1, size=n)
    ids = rng.randint(1, VOCAB, size=(n, LENGTH))
    mask = (np.arange(LENGTH)[None, :] < lengths[:, None]).astype(np.int64)
    ids = ids * mask
    y = ((ids == 7).any(axis=1) | (ids[:, 0] < 20)).astype(int)
    return {"input_ids": ids, "attention_mask": mask}, y


class BagOfTokens(torch.nn.Module):
    """forward(input_ids, attention_mask) -> logits: masked mean of embeddings."""

    def __init__(self, vocab=VOCAB, dim=16, n_outputs=2):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)
        self.head = torch.nn.Linear(dim, n_outputs)

    def forward(self, input_ids, attention_mask):
        assert input_ids.dtype == torch.int64 and attention_mask.dtype == torch.int64
        m = attention_mask.unsqueeze(-1).float()
        pooled = (self.embed(input_ids) * m).sum(1) / m.sum(1).clamp(min=1)
        return self.head(pooled)


class PackedTokens(torch.nn.Module):
    """The same network taking one array: ids and mask side by side."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, X):
        ids, mask = X[:, :LENGTH].long(), X[:, LENGTH:].long()  # arrays arrive as float32
        return self.inner(ids, mask)


class DictOutput(BagOfTokens):
    def forward(self, input_ids, attention_mask):
        logits = super().forward(input_ids, attention_mask)
        return {"hidden": logits * 0, "logits": logits}


class TupleOutput(BagOfTokens):
    def forward(self, input_ids, attention_mask):
        return (super().forward(input_ids, attention_mask), None)


def _net(module, **kw):
    return NeuralNetClassifier(module=module, epochs=3, batch_size=16, lr=0.01,
                               random_state=0, **kw)


def test_a_dict_fit_equals_the_same_fit_through_one_array():
    X, y = token_data()
    torch.manual_seed(0)
    body = BagOfTokens()
    named = _net(body).fit(X, y)
    packed_X = np.hstack([X["input_ids"], X["attention_mask"]])
    packed = _net(PackedTokens(body)).fit(packed_X, y)
    np.testing.assert_allclose(named.predict_proba(X), packed.predict_proba(packed_X),
                               atol=1e-6)
    for a, b in zip(named.net_.module_.parameters(), packed.net_.module_.parameters()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    assert named.score(X, y) == packed.score(packed_X, y)
    sizes = [b["train_batch_size"] for b in named.history_[-1, "batches"]]
    assert sizes == [b["train_batch_size"] for b in packed.history_[-1, "batches"]]
    assert sum(sizes) == len(y)  # samples, not the two inputs


def test_inputs_of_a_tokenizer_kind_go_in_as_they_are():
    """Any mapping: a plain dict, a UserDict (what a BatchEncoding is), torch tensors."""
    from collections import UserDict

    X, y = token_data()
    as_dict = _net(BagOfTokens).fit(X, y)
    tensors = UserDict({k: torch.as_tensor(v, dtype=torch.int32) for k, v in X.items()})
    as_user = _net(BagOfTokens).fit(tensors, y)
    np.testing.assert_allclose(as_dict.predict_proba(X), as_user.predict_proba(tensors),
                               atol=1e-6)


def test_input_dict_splits_like_an_array():
    X, y = token_data(n=30)
    inputs = InputDict(X)
    assert len(inputs) == 30 and inputs.shape == (30,) and sorted(inputs) == sorted(X)
    train, test = train_test_split(inputs, random_state=0)
    assert isinstance(train, InputDict) and len(train) + len(test) == 30
    rows = np.array([3, 1, 4])
    np.testing.assert_array_equal(inputs[rows]["input_ids"], X["input_ids"][rows])
    mask = np.zeros(30, bool)
    mask[[2, 5]] = True
    np.testing.assert_array_equal(inputs[mask]["attention_mask"], X["attention_mask"][[2, 5]])
    assert len(inputs[5:9]) == 4
    tensors = InputDict({k: torch.as_tensor(v) for k, v in X.items()})
    assert torch.equal(tensors[rows]["input_ids"], torch.as_tensor(X["input_ids"][rows]))
    assert "30 samples" in repr(inputs) and "input_ids" in repr(inputs)


@pytest.mark.parametrize("bad, match", [
    (dict(input_ids=np.zeros((4, 3), int), attention_mask=np.zeros((5, 3), int)),
     "different numbers of rows"),
    ({}, "at least one input"),
    (dict(input_ids=np.array(["a", "b"], dtype=object)), "not numeric"),
    ({0: np.zeros((4, 3))}, "must be strings"),
])
def test_input_dict_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        InputDict(bad)


def test_cross_validate_and_a_parallel_search_take_an_input_dict():
    X, y = token_data()
    X = InputDict(X)
    scores = cross_validate(_net(BagOfTokens), X, y, cv=3)["test_score"]
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    search = GridSearchCV(_net(BagOfTokens), {"lr": [0.003, 0.03]}, cv=2, n_jobs=2).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.predict(X).shape == (len(X),)


def test_sktune_searches_take_a_plain_dict():
    from sktune import BayesSearchCV
    from sktune.space import Real

    X, y = token_data(n=60)
    search = BayesSearchCV(_net(BagOfTokens).set_params(epochs=1),
                           {"lr": Real(1e-3, 1e-1, prior="log-uniform")},
                           n_iter=2, cv=2, random_state=0).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_named_input_errors():
    X, y = token_data(n=40)
    with pytest.raises(ValueError, match=r"inputs \['token_type_ids'\] that BagOfTokens.forward "
                                         r"does not take"):
        _net(BagOfTokens).fit({**X, "token_type_ids": X["input_ids"] * 0}, y)
    net = _net(BagOfTokens).fit(X, y)
    with pytest.raises(ValueError, match="was fitted on inputs"):
        net.predict({"input_ids": X["input_ids"]})
    with pytest.raises(ValueError, match="fitted on named inputs"):
        net.predict(X["input_ids"])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        _net(BagOfTokens).fit(X, y[:-1])
    flat = _net(None).fit(np.random.rand(40, 3), y)
    with pytest.raises(ValueError, match="give X as an array"):
        flat.predict(X)


@pytest.mark.parametrize("module, kw", [
    (DictOutput, {}),
    (TupleOutput, {}),
])
def test_outputs_are_read_as_logits(module, kw):
    X, y = token_data(n=60)
    torch.manual_seed(1)
    reference = _net(BagOfTokens()).fit(X, y)
    torch.manual_seed(1)
    other = _net(module(), **kw).fit(X, y)
    np.testing.assert_allclose(other.predict_proba(X), reference.predict_proba(X), atol=1e-6)


def test_output_key_names_the_predictions():
    class Named(BagOfTokens):
        def forward(self, input_ids, attention_mask):
            return {"scores": super().forward(input_ids, attention_mask)}

    X, y = token_data(n=40)
    assert _net(Named, output_key="scores").fit(X, y).predict(X).shape == (40,)
    with pytest.raises(ValueError, match=r"keys \['scores'\] and no 'logits'; set output_key"):
        _net(Named).fit(X, y)


def test_a_regressor_and_micro_batches_take_named_inputs():
    X, y = token_data(n=64)
    target = X["attention_mask"].sum(1).astype(float)
    reg = NeuralNetRegressor(module=BagOfTokens, module__n_outputs=1, epochs=2, batch_size=16,
                             random_state=0).fit(X, target)
    assert reg.predict(X).shape == (64,)
    whole = _net(BagOfTokens).fit(X, y)
    split = _net(BagOfTokens, micro_batch_size=4).fit(X, y)
    np.testing.assert_allclose(whole.predict_proba(X), split.predict_proba(X), atol=1e-5)


class _DictSamples(torch.utils.data.Dataset):
    """Samples as a Hugging Face dataset gives them: a dict with the label inside."""

    def __init__(self, X, y, label_key="labels"):
        self.X, self.y, self.label_key = X, y, label_key

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        sample = {k: torch.as_tensor(v[i]) for k, v in self.X.items()}
        if self.label_key:
            sample[self.label_key] = int(self.y[i])
        return sample


@pytest.mark.parametrize("label_key", ["labels", "label"])
def test_a_dataset_of_dict_samples_trains_as_the_same_named_arrays(label_key):
    X, y = token_data(n=64)
    dataset = _DictSamples(X, y, label_key)
    from_dataset = _net(BagOfTokens).fit(dataset)  # the labels are read from the samples
    from_arrays = _net(BagOfTokens).fit(X, y)
    np.testing.assert_allclose(from_dataset.predict_proba(dataset), from_arrays.predict_proba(X),
                               atol=1e-6)
    assert from_dataset.score(dataset) == from_arrays.score(X, y)
    scores = cross_validate(_net(BagOfTokens), DatasetView(dataset), y, cv=2)["test_score"]
    assert np.all(np.isfinite(scores))


def test_dict_samples_errors():
    X, y = token_data(n=20)
    ragged = _DictSamples(X, y)
    ragged.X = {"input_ids": [x[: 5 + i % 3] for i, x in enumerate(X["input_ids"])],
                "attention_mask": [m[: 5 + i % 3] for i, m in enumerate(X["attention_mask"])]}
    with pytest.raises(ValueError, match="pad every sample to one length"):
        _net(BagOfTokens).fit(ragged)
    net = _net(BagOfTokens).fit(_DictSamples(X, y))
    with pytest.raises(ValueError, match="fitted on inputs"):
        net.predict(_DictSamples({"input_ids": X["input_ids"]}, y))
