"""Raw text into token ids, as a scikit-learn step in front of a network.

:class:`Tokenizer` learns a word vocabulary on the data it is fitted on (so
in a ``Pipeline`` under cross-validation, on the training fold only) and
turns strings into padded token ids: an int64 array for sktune's
:class:`~sktune.modules.Transformer` and :class:`~sktune.modules.RNN`
(``module__vocab_size``, padding id 0), or named inputs
(``input_ids``, ``attention_mask``) for a Hugging Face model. Its knobs
(``vocab_size``, ``max_length``, ``lowercase``) are searchable as
``tokenizer__<knob>``.

A pretrained model's own tokenizer (WordPiece, BPE) comes from
``transformers`` and is not needed here: a pretrained tokenizer is not
fitted, so tokenize once outside the search and pass its output as ``X``.
"""

import re
from collections import Counter
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .data._inputs import InputDict

__all__ = ["Tokenizer"]

#: Words (runs of letters, digits, underscores) and single punctuation marks.
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
PAD, UNKNOWN = 0, 1


def _texts(X, what):
    """``X`` as a list of strings: a 1-D array-like, or a 2-D one with one column."""
    if isinstance(X, str):
        raise ValueError(f"{what} takes a list or array of texts, not one string; wrap it "
                         "in a list.")
    array = np.asarray(X, dtype=object)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{what} takes one text per sample (a 1-D array or a single "
                         f"column); got an array of shape {array.shape}.")
    bad = [i for i, t in enumerate(array) if not isinstance(t, str)]
    if bad:
        raise ValueError(f"{what} takes strings; sample {bad[0]} is a "
                         f"{type(array[bad[0]]).__name__} ({array[bad[0]]!r}). Fill missing "
                         "texts with '' first.")
    return array.tolist()


class Tokenizer(TransformerMixin, BaseEstimator):
    """Word-level tokenizer fitted on the training texts.

    ``fit`` counts the words of the texts (lowercased by default; words are
    runs of letters and digits, and each punctuation mark is a token) and
    keeps the ``vocab_size - 2`` most frequent (ties broken alphabetically);
    ids 0 and 1 are the padding and the unknown word. ``transform`` maps each
    text to its first ``max_length`` token ids, padded with 0 at the end.

    Parameters
    ----------
    vocab_size : int, default=10000
        Token ids are in ``[0, vocab_size)``: give the network an embedding
        of at least this size (``module__vocab_size``; in a search over
        ``vocab_size``, the largest value searched).
    max_length : int, default=128
        Tokens kept per text (the rest are cut); every row has this length.
    lowercase : bool, default=True
        Lowercase texts before splitting them.
    min_count : int, default=1
        Words seen fewer times in the training texts are unknown (id 1).
    output : {'ids', 'inputs'}, default='ids'
        'ids': an int64 array ``(n_samples, max_length)``, the input of
        sktune's ``Transformer`` and ``RNN`` (padding id 0). 'inputs': an
        :class:`~sktune.data.InputDict` of ``input_ids`` and
        ``attention_mask``, the named inputs of a Hugging Face model.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Each kept word's id (2 and up).
    n_unknown_ : int
        Distinct training words left out (rarer than ``min_count`` or beyond
        ``vocab_size``).

    Examples
    --------
    >>> from sktune.text import Tokenizer
    >>> tok = Tokenizer(vocab_size=6, max_length=5).fit(["a good film", "a bad film!"])
    >>> tok.vocabulary_
    {'a': 2, 'film': 3, '!': 4, 'bad': 5}
    >>> tok.transform(["A bad film", "an awful film"])
    array([[2, 5, 3, 0, 0],
           [1, 1, 3, 0, 0]])
    """

    _parameter_constraints = {
        "vocab_size": [Interval(Integral, 3, None, closed="left")],
        "max_length": [Interval(Integral, 1, None, closed="left")],
        "lowercase": ["boolean"],
        "min_count": [Interval(Integral, 1, None, closed="left")],
        "output": [StrOptions({"ids", "inputs"})],
    }

    def __init__(self, vocab_size=10000, max_length=128, lowercase=True, min_count=1,
                 output="ids"):
        self.vocab_size = vocab_size
        self.max_length = max_length
        self.lowercase = lowercase
        self.min_count = min_count
        self.output = output

    def _tokens(self, text):
        return _TOKEN.findall(text.lower() if self.lowercase else text)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the vocabulary of the texts ``X`` (``y`` is ignored)."""
        counts = Counter()
        for text in _texts(X, "Tokenizer.fit"):
            counts.update(self._tokens(text))
        frequent = sorted((w for w, c in counts.items() if c >= self.min_count),
                          key=lambda w: (-counts[w], w))
        kept = frequent[: self.vocab_size - 2]
        self.vocabulary_ = {word: i + 2 for i, word in enumerate(kept)}
        self.n_unknown_ = len(counts) - len(kept)
        return self

    def transform(self, X):
        """Token ids of the texts ``X`` (see ``output``)."""
        check_is_fitted(self)
        texts = _texts(X, "Tokenizer.transform")
        ids = np.zeros((len(texts), self.max_length), dtype=np.int64)
        mask = np.zeros_like(ids)
        vocabulary = self.vocabulary_
        for row, text in enumerate(texts):
            tokens = self._tokens(text)[: self.max_length]
            ids[row, : len(tokens)] = [vocabulary.get(t, UNKNOWN) for t in tokens]
            mask[row, : len(tokens)] = 1
        if self.output == "ids":
            return ids
        return InputDict(input_ids=ids, attention_mask=mask)

    def get_feature_names_out(self, input_features=None):
        """``token_0 ... token_{max_length-1}``: the positions of the ids."""
        return np.asarray([f"token_{i}" for i in range(self.max_length)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
