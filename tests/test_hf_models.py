"""Hugging Face models as the module, with their inputs as a tokenizer gives them.

Models are built from small configs (the classes ``from_pretrained`` returns,
random weights: nothing is downloaded).
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sktune import BayesSearchCV, NeuralNetClassifier
from sktune.space import Real

from test_named_inputs import LENGTH, VOCAB, token_data

transformers = pytest.importorskip("transformers")


def bert_config(**kw):
    settings = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=37, max_position_embeddings=LENGTH, num_labels=2)
    settings.update(kw)
    return transformers.BertConfig(**settings)


def _net(module, **kw):
    params = dict(module=module, epochs=2, batch_size=16, lr=1e-3, random_state=0)
    params.update(kw)
    return NeuralNetClassifier(**params)


class IdsOnly(torch.nn.Module):
    """The wrapper users write today: one array of token ids and mask side by side,
    logits out."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, X):
        X = X.long()
        return self.model(input_ids=X[:, :LENGTH], attention_mask=X[:, LENGTH:]).logits


def test_a_model_class_with_its_config():
    X, y = token_data(n=64)
    net = _net(transformers.BertForSequenceClassification, module__config=bert_config()).fit(X, y)
    assert isinstance(net.net_.module_, transformers.BertForSequenceClassification)
    proba = net.predict_proba(X)
    assert proba.shape == (64, 2) and np.allclose(proba.sum(1), 1, atol=1e-5)


def test_a_dict_fit_equals_the_fit_through_a_wrapper_taking_token_ids():
    X, y = token_data(n=64)
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(bert_config())
    named = _net(model).fit(X, y)
    packed_X = np.hstack([X["input_ids"], X["attention_mask"]])
    packed = _net(IdsOnly(model)).fit(packed_X, y)
    np.testing.assert_allclose(named.predict_proba(X), packed.predict_proba(packed_X), atol=1e-5)
    for (name, a), (_, b) in zip(named.net_.module_.named_parameters(),
                                 packed.net_.module_.model.named_parameters()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0, msg=name)


def test_a_pretrained_instance_is_fine_tuned_with_its_body_frozen():
    X, y = token_data(n=64)
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(bert_config())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    net = _net(model, freeze="bert", lr_schedule="linear", lr_schedule__warmup=0.1).fit(X, y)
    trained = [n for n, p in net.net_.module_.named_parameters() if p.requires_grad]
    assert trained == ["classifier.weight", "classifier.bias"]
    after = net.net_.module_.state_dict()
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # instance
    assert all(torch.equal(after[k], v) for k, v in before.items() if k.startswith("bert."))
    assert not torch.equal(after["classifier.weight"], before["classifier.weight"])
    assert clone(net).module is model  # never copied by clone
    again = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(again.predict_proba(X), net.predict_proba(X))


def test_a_parallel_search_over_a_hf_model_on_a_tokenizers_dict():
    X, y = token_data(n=96)
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(bert_config())
    search = BayesSearchCV(
        _net(model, epochs=1, lr_schedule="linear"),
        {"lr": Real(1e-4, 1e-2, prior="log-uniform"), "lr_schedule__warmup": Real(0.0, 0.3)},
        n_iter=4, cv=2, n_jobs=2, random_state=0).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.predict(X).shape == (96,)


def test_gpt2_and_vit():
    X, y = token_data(n=48)
    gpt2 = transformers.GPT2Config(vocab_size=VOCAB, n_positions=LENGTH, n_embd=32, n_layer=1,
                                   n_head=2, num_labels=2, pad_token_id=0)
    net = _net(transformers.GPT2ForSequenceClassification, module__config=gpt2).fit(X, y)
    assert net.predict(X).shape == (48,)
    vit = transformers.ViTConfig(image_size=8, patch_size=4, num_channels=3, hidden_size=32,
                                 num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=37, num_labels=3)
    rng = np.random.RandomState(0)
    images = {"pixel_values": rng.rand(48, 3, 8, 8)}
    labels = rng.randint(0, 3, 48)
    net = _net(transformers.ViTForImageClassification, module__config=vit).fit(images, labels)
    assert net.predict_proba(images).shape == (48, 3)


@pytest.mark.parametrize("kind", ["class with config", "pretrained instance"])
def test_save_and_load_round_trip_without_pickle(tmp_path, kind):
    import sktune

    X, y = token_data(n=40)
    torch.manual_seed(0)
    if kind == "class with config":
        net = _net(transformers.BertForSequenceClassification, module__config=bert_config())
    else:
        net = _net(transformers.BertForSequenceClassification(bert_config()), freeze="bert")
    net.fit(X, y)
    path = tmp_path / "bert.sktune"
    sktune.save(net, path)
    back = sktune.load(path)
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))
    if kind == "class with config":
        assert back.module__config.to_dict() == net.module__config.to_dict()
    else:
        assert type(back.module) is transformers.BertForSequenceClassification
        for (k, a), (_, b) in zip(back.module.state_dict().items(),
                                  net.module.state_dict().items()):
            assert torch.equal(a, b), k
