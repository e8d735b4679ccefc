"""Sequence models: a recurrent network and a Transformer encoder.

Both read ``(n_samples, steps, features)`` float inputs, or ``(n_samples,
steps)`` integer token ids when ``vocab_size`` is given (an embedding, with
the ``padding_idx`` token masked out of attention and pooling: pad sequences
at the end). Flat rows are reshaped to ``input_shape=(steps, features)``;
without it a flat row is a sequence of single values. The estimators fill in
``input_shape`` from 3-D arrays and pass ``dropout``, so
``NeuralNetClassifier(module=RNN).fit(X.reshape(-1, 8, 8), y)`` reads each
digit as 8 rows of 8 pixels. Each ends with its output layer ``head`` (the
layer ``reinit_head`` finds).
"""

import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["RNN", "Transformer"]

_CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


def _steps_and_features(n_features, input_shape):
    if input_shape is None:
        return n_features, 1
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 2 or math.prod(shape) != n_features:
        raise ValueError(f"input_shape={input_shape} does not match {n_features} values per "
                         "sample; it must be (steps, features) with steps*features == "
                         "n_features.")
    return shape


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}; got {value!r}.")


class _SequenceInput(nn.Module):
    """Inputs as ``(n, steps, width)`` floats and the mask of real (non-pad) steps."""

    def __init__(self, n_features, input_shape, vocab_size, embedding_dim, padding_idx,
                 width=None):
        super().__init__()
        self.vocab_size = vocab_size
        self.padding_idx = padding_idx if vocab_size is not None else None
        if vocab_size is not None:
            if not (isinstance(vocab_size, int) and vocab_size >= 2):
                raise ValueError(f"vocab_size must be an int >= 2; got {vocab_size!r}.")
            if padding_idx is not None and not 0 <= padding_idx < vocab_size:
                raise ValueError(f"padding_idx={padding_idx} is not a token id in "
                                 f"[0, {vocab_size}); use None when nothing is padded.")
            self.shape = None
            self.embedding = nn.Embedding(vocab_size, width or embedding_dim,
                                          padding_idx=padding_idx)
            self.width = width or embedding_dim
        else:
            self.shape = _steps_and_features(n_features, input_shape)
            self.width = self.shape[1]
            self.embedding = None

    def forward(self, X):
        if self.embedding is None:
            if X.dim() == 2:
                X = X.reshape(len(X), *self.shape)
            return X, None
        if X.is_floating_point():
            raise TypeError("token ids must be an integer tensor (int64); got "
                            f"{X.dtype}. Pass the ids as an integer array.")
        if X.dim() != 2:
            raise ValueError(f"token ids must have shape (n_samples, steps); got {tuple(X.shape)}.")
        low, high = int(X.min()), int(X.max())
        if low < 0 or high >= self.vocab_size:
            raise ValueError(
                f"token ids must lie in [0, {self.vocab_size}) (vocab_size={self.vocab_size}); "
                f"got ids from {low} to {high}. Raise module__vocab_size or re-map the ids.")
        mask = None if self.padding_idx is None else X != self.padding_idx
        return self.embedding(X), mask


def _pool(h, mask, how):
    """``(n, width)`` from ``(n, steps, width)`` outputs over the real steps."""
    if mask is None:
        return h.mean(dim=1) if how == "mean" else h.max(dim=1).values
    m = mask.unsqueeze(-1)
    if how == "mean":
        return (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)
    out = h.masked_fill(~m, float("-inf")).max(dim=1).values
    return torch.where(torch.isfinite(out), out, torch.zeros_like(out))  # all-pad rows


class RNN(nn.Module):
    """Recurrent network (GRU or LSTM) over sequences, then a linear output layer.

    Parameters
    ----------
    n_features : int
        Values per sample (``steps * features``, or ``steps`` for token ids).
    n_outputs : int
        Number of outputs.
    input_shape : (int, int) or None, default=None
        ``(steps, features)`` that flat float rows are reshaped to; None
        reads a flat row as ``n_features`` steps of one value (3-D inputs
        are used as they are).
    cell : {'gru', 'lstm'}, default='gru'
    hidden_size : int, default=64
        Units of each recurrent layer (per direction).
    num_layers : int, default=1
        Stacked recurrent layers.
    bidirectional : bool, default=False
        Read the sequence both ways (outputs concatenated).
    dropout : float, default=0.0
        Dropout probability between recurrent layers (torch's ``dropout``
        of the GRU/LSTM, so only with ``num_layers > 1``) and on what the
        output layer reads (``drop``, before ``head``); 0 adds no
        ``Dropout`` layer. None on the inputs or embedding.
    pooling : {'last', 'mean', 'max'}, default='last'
        What the output layer reads: the last hidden state (of each
        direction), or the mean or maximum of the outputs over the steps.
    vocab_size : int or None, default=None
        Inputs are integer token ids in ``[0, vocab_size)`` when given.
    embedding_dim : int, default=32
        Width of the token embedding.
    padding_idx : int or None, default=0
        Token id of padding (sequences padded at the end): not read by the
        recurrent layers (packed sequences) nor pooled. None: no padding.

    Examples
    --------
    >>> import torch
    >>> from sktune.modules import RNN
    >>> net = RNN(n_features=64, n_outputs=10, input_shape=(8, 8), hidden_size=16)
    >>> net(torch.zeros(3, 8, 8)).shape
    torch.Size([3, 10])
    >>> tokens = RNN(n_features=12, n_outputs=2, vocab_size=20)
    >>> tokens(torch.randint(1, 20, (4, 12))).shape
    torch.Size([4, 2])
    """

    input_ndim = 2

    def __init__(self, n_features, n_outputs, input_shape=None, cell="gru", hidden_size=64,
                 num_layers=1, bidirectional=False, dropout=0.0, pooling="last",
                 vocab_size=None, embedding_dim=32, padding_idx=0):
        super().__init__()
        _check_choice("cell", cell, _CELLS)
        _check_choice("pooling", pooling, {"last", "mean", "max"})
        self.vocab_size = vocab_size
        self.pooling = pooling
        self.inputs = _SequenceInput(n_features, input_shape, vocab_size, embedding_dim,
                                     padding_idx)
        self.rnn = _CELLS[cell](self.inputs.width, hidden_size, num_layers=num_layers,
                                batch_first=True, bidirectional=bidirectional,
                                dropout=dropout if num_layers > 1 else 0.0)
        self.directions = 2 if bidirectional else 1
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(self.directions * hidden_size, n_outputs)

    def forward(self, X):
        x, mask = self.inputs(X)
        if mask is not None:
            lengths = mask.sum(dim=1).clamp(min=1).cpu()
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, state = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        else:
            out, state = self.rnn(x)
        if self.pooling == "last":
            h = state[0] if isinstance(state, tuple) else state  # LSTM: (h, c)
            pooled = torch.cat(list(h[-self.directions:]), dim=1)
        else:
            pooled = _pool(out, mask, self.pooling)
        return self.head(self.drop(pooled))


def _positions(steps, width, device, dtype):
    """Sinusoidal position codes ``(steps, width)`` (any length, nothing to learn)."""
    position = torch.arange(steps, device=device, dtype=torch.float32).unsqueeze(1)
    rate = torch.exp(torch.arange(0, width, 2, device=device, dtype=torch.float32)
                     * (-math.log(10000.0) / width))
    codes = torch.zeros(steps, width, device=device)
    codes[:, 0::2] = torch.sin(position * rate)
    codes[:, 1::2] = torch.cos(position * rate)[:, : width // 2]
    return codes.to(dtype)


class Transformer(nn.Module):
    """Transformer encoder over sequences (pre-norm layers), pooled, then a linear output.

    Parameters
    ----------
    n_features : int
        Values per sample (``steps * features``, or ``steps`` for token ids).
    n_outputs : int
        Number of outputs.
    input_shape : (int, int) or None, default=None
        ``(steps, features)`` that flat float rows are reshaped to (see
        :class:`RNN`).
    d_model : int, default=64
        Width of the encoder (float inputs are projected to it; tokens are
        embedded in it); a multiple of ``nhead``.
    nhead : int, default=4
        Attention heads.
    num_layers : int, default=2
        Encoder layers.
    dim_feedforward : int, default=128
        Width of each layer's feed-forward block.
    dropout : float, default=0.1
        Dropout probability in each encoder layer (torch's
        ``TransformerEncoderLayer``): on the attention weights, inside the
        feed-forward block, and on each block's output before it is added
        to the residual stream. None on the inputs or before ``head``. The
        estimators pass their ``dropout`` (default 0.0).
    pooling : {'mean', 'max', 'cls'}, default='mean'
        What the output layer reads: the mean or maximum over the real
        steps, or a learned class token's output.
    vocab_size : int or None, default=None
        Inputs are integer token ids in ``[0, vocab_size)`` when given.
    padding_idx : int or None, default=0
        Token id of padding: masked out of attention and pooling.

    Notes
    -----
    Sinusoidal position codes are added to the inputs, so the model sees
    the order of the steps and takes sequences of any length.

    Examples
    --------
    >>> import torch
    >>> from sktune.modules import Transformer
    >>> net = Transformer(n_features=64, n_outputs=10, input_shape=(8, 8), d_model=16)
    >>> net(torch.zeros(3, 8, 8)).shape
    torch.Size([3, 10])
    """

    input_ndim = 2

    def __init__(self, n_features, n_outputs, input_shape=None, d_model=64, nhead=4,
                 num_layers=2, dim_feedforward=128, dropout=0.1, pooling="mean",
                 vocab_size=None, padding_idx=0):
        super().__init__()
        _check_choice("pooling", pooling, {"mean", "max", "cls"})
        if d_model % nhead:
            raise ValueError(f"d_model={d_model} must be a multiple of nhead={nhead} (each "
                             "head reads d_model // nhead values); e.g. d_model="
                             f"{nhead * max(1, round(d_model / nhead))}.")
        self.vocab_size = vocab_size
        self.pooling = pooling
        self.d_model = d_model
        self.inputs = _SequenceInput(n_features, input_shape, vocab_size, d_model, padding_idx,
                                     width=d_model if vocab_size is not None else None)
        self.project = (nn.Linear(self.inputs.width, d_model) if vocab_size is None
                        else nn.Identity())
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, norm=nn.LayerNorm(d_model),
                                             enable_nested_tensor=False)
        self.head = nn.Linear(d_model, n_outputs)

    def forward(self, X):
        x, mask = self.inputs(X)
        x = self.project(x)
        n, steps, _ = x.shape
        x = torch.cat([self.cls.expand(n, 1, -1).to(x.dtype), x], dim=1)
        x = x + _positions(steps + 1, self.d_model, x.device, x.dtype)
        pad = None
        if mask is not None:  # the class token is never masked, so no row is all padding
            pad = torch.cat([torch.zeros(n, 1, dtype=torch.bool, device=x.device), ~mask], 1)
        h = self.encoder(x, src_key_padding_mask=pad)
        if self.pooling == "cls":
            pooled = h[:, 0]
        else:
            pooled = _pool(h[:, 1:], mask, self.pooling)
        return self.head(pooled)
