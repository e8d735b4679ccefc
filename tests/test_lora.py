"""Low-rank adapters (lora_rank, lora_alpha, lora_dropout, lora_targets)."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sktune import BayesSearchCV, NeuralNetClassifier
from sktune.space import Categorical

from test_named_inputs import BagOfTokens, token_data


class Encoder(torch.nn.Module):
    """A small pretrained-style network: embedding, two linear layers, a head."""

    def __init__(self, vocab=50, dim=16, n_outputs=2):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)
        self.query = torch.nn.Linear(dim, dim)
        self.value = torch.nn.Linear(dim, dim)
        self.head = torch.nn.Linear(dim, n_outputs)

    def forward(self, input_ids, attention_mask):
        m = attention_mask.unsqueeze(-1).float()
        h = self.embed(input_ids)
        h = torch.tanh(self.query(h)) * self.value(h)
        return self.head((h * m).sum(1) / m.sum(1).clamp(min=1))


def _net(module, **kw):
    params = dict(module=module, epochs=3, batch_size=16, lr=0.01, random_state=0)
    params.update(kw)
    return NeuralNetClassifier(**params)


@pytest.fixture
def pretrained():
    torch.manual_seed(0)
    return Encoder()


def test_adapters_train_and_the_base_weights_stay_bit_identical(pretrained):
    X, y = token_data()
    before = {k: v.clone() for k, v in pretrained.state_dict().items()}
    net = _net(pretrained, lora_rank=4).fit(X, y)
    trained = sorted(n for n, p in net.net_.module_.named_parameters() if p.requires_grad)
    assert trained == ["head.bias", "head.weight", "query.lora_A", "query.lora_B",
                       "value.lora_A", "value.lora_B"]
    state = net.net_.module_.state_dict()
    for name in ("embed.weight", "query.weight", "query.bias", "value.weight", "value.bias"):
        assert torch.equal(state[name], before[name]), name
        # shared with the instance, not copied
        assert state[name].data_ptr() == pretrained.state_dict()[name].data_ptr(), name
    assert all(torch.equal(v, pretrained.state_dict()[k]) for k, v in before.items())
    assert state["query.lora_B"].abs().sum() > 0  # the adapters learnt
    losses = net.history_[:, "train_loss"]
    assert losses[-1] < losses[0]


def test_rank_zero_is_plain_fine_tuning(pretrained):
    X, y = token_data()
    plain = _net(pretrained).fit(X, y)
    zero = _net(pretrained, lora_rank=0, lora_alpha=32, lora_targets="*query").fit(X, y)
    np.testing.assert_array_equal(plain.predict_proba(X), zero.predict_proba(X))


def test_the_update_starts_at_zero_and_scales_with_alpha(pretrained):
    """B starts at zero: before any step the network computes the pretrained outputs;
    alpha / rank scales the update."""
    X, y = token_data(n=40)
    untrained = _net(pretrained, lora_rank=2, lr=1e-12, epochs=1).fit(X, y)
    plain = _net(pretrained, lr=1e-12, epochs=1).fit(X, y)
    np.testing.assert_allclose(untrained.predict_proba(X), plain.predict_proba(X), atol=1e-6)
    net = _net(pretrained, lora_rank=2, lora_alpha=6, lora_targets="query", epochs=1).fit(X, y)
    layer = net.net_.module_.query
    x = torch.randn(3, 16)
    expected = torch.nn.functional.linear(x, layer.weight, layer.bias) + 3.0 * (
        x @ layer.lora_A.T @ layer.lora_B.T)
    torch.testing.assert_close(layer(x), expected)


def test_targets_patterns_and_errors(pretrained):
    X, y = token_data(n=40)
    net = _net(pretrained, lora_rank=2, lora_targets=["val*"], epochs=1).fit(X, y)
    assert hasattr(net.net_.module_.value, "lora_A")
    assert not hasattr(net.net_.module_.query, "lora_A")
    with pytest.raises(ValueError, match=r"lora_targets pattern 'key' matches no linear layer.*"
                                         r"query, value, head"):
        _net(pretrained, lora_rank=2, lora_targets="key").fit(X, y)
    with pytest.raises(ValueError, match="lora_rank"):
        _net(pretrained, lora_rank=-1).fit(X, y)


def test_lora_on_a_module_class_and_with_dropout():
    X, y = token_data(n=40)
    net = _net(Encoder, lora_rank=3, lora_dropout=0.2).fit(X, y)
    assert net.net_.module_.query.lora_A.shape == (3, 16)
    assert not net.net_.module_.embed.weight.requires_grad


def test_a_search_over_ranks_round_trips_through_save_and_load(pretrained, tmp_path):
    import sktune

    X, y = token_data()
    search = BayesSearchCV(_net(pretrained, epochs=2), {"lora_rank": Categorical([0, 2, 8])},
                           n_iter=3, cv=2, n_jobs=2, random_state=0).fit(X, y)
    assert sorted(search.cv_results_["param_lora_rank"].tolist()) == [0, 2, 8]
    assert clone(search.estimator).module is pretrained
    best = _net(pretrained, lora_rank=4).fit(X, y)
    sktune.save(best, tmp_path / "lora.sktune")
    back = sktune.load(tmp_path / "lora.sktune")
    np.testing.assert_array_equal(back.predict_proba(X), best.predict_proba(X))
    assert "query.lora_A" in back.net_.module_.state_dict()


def test_gpt2_conv1d_layers_take_adapters():
    transformers = pytest.importorskip("transformers")
    X, y = token_data(n=40)
    config = transformers.GPT2Config(vocab_size=50, n_positions=12, n_embd=16, n_layer=1,
                                     n_head=2, num_labels=2, pad_token_id=0)
    torch.manual_seed(0)
    model = transformers.GPT2ForSequenceClassification(config)
    net = _net(model, lora_rank=2, lora_targets="*c_attn", epochs=1).fit(X, y)
    trained = sorted(n for n, p in net.net_.module_.named_parameters() if p.requires_grad)
    assert trained == ["score.weight", "transformer.h.0.attn.c_attn.lora_A",
                       "transformer.h.0.attn.c_attn.lora_B"]
    assert net.net_.module_.transformer.h[0].attn.c_attn.lora_B.shape == (48, 2)
