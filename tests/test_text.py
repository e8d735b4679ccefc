"""Raw text in a Pipeline: sktune.text.Tokenizer in front of a network."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import Pipeline, make_pipeline

from sktune import NeuralNetClassifier
from sktune.data import InputDict
from sktune.modules import RNN, Transformer
from sktune.text import Tokenizer

from test_named_inputs import BagOfTokens

WORDS = ["good", "bad", "movie", "plot", "not", "very", "the", "a", "actor", "film", "was"]


def reviews(n=200, seed=0):
    """Texts whose label depends on word order: 'not good' is negative, 'good' alone
    positive."""
    rng = np.random.RandomState(seed)
    texts = [" ".join(rng.choice(WORDS, rng.randint(4, 10))) for _ in range(n)]
    y = np.array([("good" in t and "not good" not in t) for t in texts], dtype=int)
    return np.array(texts, dtype=object), y


def test_vocabulary_and_ids():
    tok = Tokenizer(vocab_size=5, max_length=4).fit(["b a a", "c a b!", "d"])
    assert tok.vocabulary_ == {"a": 2, "b": 3, "!": 4}  # most frequent first, ties by word
    assert tok.n_unknown_ == 2  # c, d
    ids = tok.transform(["A b zzz c d e", ""])
    np.testing.assert_array_equal(ids, [[2, 3, 1, 1], [0, 0, 0, 0]])
    assert ids.dtype == np.int64
    named = tok.set_params(output="inputs").transform(["a b", "a"])
    assert isinstance(named, InputDict)
    np.testing.assert_array_equal(named["attention_mask"], [[1, 1, 0, 0], [1, 0, 0, 0]])
    assert Tokenizer(lowercase=False, min_count=2).fit(["A a a"]).vocabulary_ == {"a": 2}


def test_the_vocabulary_is_learnt_on_the_training_fold_only():
    """A word seen only in the test fold is unknown to the fold's tokenizer."""
    texts = np.array(["alpha beta"] * 5 + ["alpha zeta"] * 5 + ["gamma delta"] * 10, dtype=object)
    y = np.array([0, 1] * 10)
    seen = []

    class Spy(Tokenizer):
        def fit(self, X, y=None):
            super().fit(X, y)
            seen.append(set(self.vocabulary_))
            return self

    net = NeuralNetClassifier(module=RNN, module__vocab_size=50, epochs=1, random_state=0)
    cross_validate(make_pipeline(Spy(vocab_size=50, max_length=4), net), texts, y,
                   cv=[(np.arange(10), np.arange(10, 20))])
    assert seen == [{"alpha", "beta", "zeta"}]


@pytest.mark.parametrize("module", [Transformer, RNN])
def test_raw_text_through_a_pipeline_and_a_search(module):
    texts, y = reviews()
    pipe = Pipeline([
        ("tokenizer", Tokenizer(vocab_size=30, max_length=10)),
        ("net", NeuralNetClassifier(module=module, module__vocab_size=30, epochs=8,
                                    lr=0.01, random_state=0)),
    ])
    search = GridSearchCV(pipe, {"tokenizer__max_length": [4, 10]}, cv=2).fit(texts, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert search.best_params_ == {"tokenizer__max_length": 10}  # 4 tokens cut the order off
    assert search.score(texts, y) > 0.7


def test_named_inputs_for_a_model_taking_input_ids_and_attention_mask():
    texts, y = reviews(n=80)
    pipe = make_pipeline(Tokenizer(vocab_size=50, max_length=10, output="inputs"),
                         NeuralNetClassifier(module=BagOfTokens, epochs=2, random_state=0))
    assert pipe.fit(texts, y).predict(texts).shape == (80,)


def test_errors_and_sklearn_checks():
    with pytest.raises(ValueError, match="not one string"):
        Tokenizer().fit("a text")
    with pytest.raises(ValueError, match="sample 1 is a float"):
        Tokenizer().fit(["a", np.nan])
    with pytest.raises(ValueError, match="vocab_size"):
        Tokenizer(vocab_size=2).fit(["a"])
    column = np.array([["a b"], ["c"]], dtype=object)
    assert Tokenizer(max_length=3).fit(column).transform(column).shape == (2, 3)
