"""Built-in torch modules: an MLP, a residual MLP and a small convolutional net.

Each module takes ``n_features`` and ``n_outputs`` (filled in by the estimator
from the data) plus its own architecture arguments. The estimators pass
``hidden_layer_sizes``, ``activation`` and ``dropout`` to any module whose
constructor accepts them, so the same grid can tune all three modules.
"""

import math

from torch import nn

__all__ = ["MLP", "ResidualMLP", "ConvNet", "ACTIVATIONS"]

#: Activation names accepted by the ``activation`` parameter.
ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


def _activation(name):
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"Unknown activation {name!r}; use one of {sorted(ACTIVATIONS)}."
        ) from None


def _as_sizes(hidden_layer_sizes):
    if isinstance(hidden_layer_sizes, int):
        return (hidden_layer_sizes,)
    return tuple(int(size) for size in hidden_layer_sizes)


class MLP(nn.Module):
    """Multi-layer perceptron: ``Linear -> activation -> Dropout`` per hidden layer.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_outputs : int
        Number of outputs (classes for a classifier, targets for a regressor).
    hidden_layer_sizes : tuple of int, default=(100,)
        Width of each hidden layer; ``()`` gives a linear (or logistic) model.
    activation : {'relu', 'tanh', 'logistic', 'gelu', 'identity'}, default='relu'
        Non-linearity after each hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden activation (so before every
        ``Linear`` but the first); 0 adds no ``Dropout`` layer. The
        ``Linear`` layers' indices in ``layers`` count the ``Dropout``
        layers: ``layers.0``, ``layers.2``, ... without dropout,
        ``layers.0``, ``layers.3``, ... with it.

    Examples
    --------
    >>> import torch
    >>> from sktune.modules import MLP
    >>> net = MLP(n_features=4, n_outputs=3, hidden_layer_sizes=(8,))
    >>> net(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(self, n_features, n_outputs, hidden_layer_sizes=(100,),
                 activation="relu", dropout=0.0):
        super().__init__()
        layers = []
        width = n_features
        for size in _as_sizes(hidden_layer_sizes):
            layers += [nn.Linear(width, size), _activation(activation)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X)


class _ResidualBlock(nn.Module):
    """Pre-norm residual block ``skip(x) + fc2(drop(act(fc1(norm(x)))))``, skip projecting."""

    def __init__(self, width_in, width_out, activation, dropout):
        super().__init__()
        self.norm = nn.LayerNorm(width_in)
        self.fc1 = nn.Linear(width_in, width_out)
        self.act = _activation(activation)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc2 = nn.Linear(width_out, width_out)
        self.skip = (nn.Identity() if width_in == width_out
                     else nn.Linear(width_in, width_out, bias=False))

    def forward(self, X):
        return self.skip(X) + self.fc2(self.drop(self.act(self.fc1(self.norm(X)))))


class ResidualMLP(nn.Module):
    """MLP of pre-norm residual blocks, for deeper networks that still train easily.

    Parameters
    ----------
    n_features, n_outputs : int
        Input and output sizes.
    hidden_layer_sizes : tuple of int, default=(128, 128)
        One residual block per entry; at least one. A linear input
        projection maps the ``n_features`` to the first width, block ``i``
        maps width ``i`` to width ``i + 1`` (the last block keeps its
        width), with a bias-free linear projection on the skip path where
        the widths differ. Equal widths (the default) give blocks of one
        width throughout.
    activation : str, default='relu'
        Non-linearity inside each block (between its two ``Linear``
        layers) and in the head, before the output layer (a key of
        ``ACTIVATIONS``).
    dropout : float, default=0.0
        Dropout probability inside each block, after its activation (on the
        residual branch only, not the skip path); none in the stem or head.

    Examples
    --------
    >>> import torch
    >>> from sktune.modules import ResidualMLP
    >>> net = ResidualMLP(n_features=4, n_outputs=2, hidden_layer_sizes=(16, 16))
    >>> net(torch.zeros(3, 4)).shape
    torch.Size([3, 2])
    """

    def __init__(self, n_features, n_outputs, hidden_layer_sizes=(128, 128),
                 activation="relu", dropout=0.0):
        super().__init__()
        sizes = _as_sizes(hidden_layer_sizes)
        if not sizes:
            raise ValueError("ResidualMLP needs at least one hidden layer; "
                             "use MLP with hidden_layer_sizes=() for a linear model.")
        self.stem = nn.Linear(n_features, sizes[0])
        self.blocks = nn.Sequential(*(
            _ResidualBlock(w_in, w_out, activation, dropout)
            for w_in, w_out in zip(sizes, sizes[1:] + sizes[-1:])
        ))
        self.head = nn.Sequential(nn.LayerNorm(sizes[-1]), _activation(activation),
                                  nn.Linear(sizes[-1], n_outputs))

    def forward(self, X):
        return self.head(self.blocks(self.stem(X)))


def _infer_image_shape(n_features):
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise ValueError(
            f"ConvNet cannot infer an image shape from {n_features} features; pass "
            "module__input_shape=(channels, height, width), e.g. (1, 8, 8) for digits."
        )
    return (1, side, side)


class ConvNet(nn.Module):
    """Small convolutional network for image-shaped input.

    Accepts flat rows (reshaped to ``input_shape``, so it works inside sklearn
    pipelines) or already-shaped ``(n, C, H, W)`` tensors.

    Parameters
    ----------
    n_features : int
        Number of input features per sample (``C * H * W``).
    n_outputs : int
        Number of outputs.
    input_shape : tuple of int or None, default=None
        ``(C, H, W)``; None infers a single-channel square image from
        ``n_features`` (64 -> ``(1, 8, 8)`` for sklearn's digits).
    channels : tuple of int, default=(16, 32)
        Output channels of each ``conv 3x3 -> activation -> max-pool 2`` stage
        (a stage pools only while both sides of the image are at least 2
        pixels).
    hidden_layer_sizes : tuple of int, default=(64,)
        Widths of the hidden fully connected layers between the flattened
        convolution features and the output layer; ``()`` puts the output
        layer directly on the features.
    activation : str, default='relu'
        Non-linearity after each convolution and hidden layer (a key of
        ``ACTIVATIONS``).
    dropout : float, default=0.0
        Dropout probability before each fully connected layer: on the
        flattened convolution features and after each hidden activation,
        so the head reads ``Flatten -> Dropout -> Linear -> activation ->
        Dropout -> ... -> Linear``. None on the convolutions' feature maps.
        0 adds no ``Dropout`` layer. The flattened features are where common
        CNN heads drop (Keras' ``Flatten -> Dropout -> Dense``, AlexNet's
        classifier): they are the widest input of the head, feeding its
        largest weight matrix, and with ``hidden_layer_sizes=()`` they are
        the only place dropout can go.

    Attributes
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` that flat rows are reshaped to.
    features : torch.nn.Sequential
        The convolution stages, then ``Flatten`` and, when ``dropout > 0``,
        the ``Dropout`` on the flattened features. It comes last and has no
        parameters, so the parameter names (``features.0.weight`` for the
        first convolution, ``classifier.layers.0.weight``, ...) are the same
        with and without it.
    classifier : MLP
        The fully connected layers, output layer included
        (``classifier.layers``).

    Examples
    --------
    >>> import torch
    >>> from sktune.modules import ConvNet
    >>> net = ConvNet(n_features=64, n_outputs=10)
    >>> net(torch.zeros(5, 64)).shape
    torch.Size([5, 10])
    """

    def __init__(self, n_features, n_outputs, input_shape=None, channels=(16, 32),
                 hidden_layer_sizes=(64,), activation="relu", dropout=0.0):
        super().__init__()
        shape = tuple(input_shape) if input_shape is not None else _infer_image_shape(n_features)
        if len(shape) != 3 or math.prod(shape) != n_features:
            raise ValueError(
                f"input_shape={shape} does not match {n_features} features; "
                "it must be (channels, height, width) with channels*height*width == n_features."
            )
        self.input_shape = shape
        convs = []
        c, h, w = shape
        for out_channels in _as_sizes(channels):
            convs += [nn.Conv2d(c, out_channels, kernel_size=3, padding=1),
                      _activation(activation)]
            if min(h, w) >= 2:
                convs.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            c = out_channels
        # The dropout on the flattened features (no parameters) ends `features`, so
        # the convolutions' and the classifier's parameter names stay those of
        # the network without it (saved state_dicts and freeze patterns still fit).
        flat = [nn.Flatten(), nn.Dropout(dropout)] if dropout > 0 else [nn.Flatten()]
        self.features = nn.Sequential(*convs, *flat)
        self.classifier = MLP(c * h * w, n_outputs, hidden_layer_sizes, activation, dropout)

    def forward(self, X):
        if X.dim() == 2:
            X = X.reshape(X.shape[0], *self.input_shape)
        return self.classifier(self.features(X))
