"""The four mask-estimation networks as plain PyTorch modules.

Each module maps a batch of inputs to a batch of masks, ``(batch, output_dim)``.
The DNNs take frame vectors ``(batch, input_dim)`` (anything with more axes is
flattened per sample); the CNNs take 2-D patches ``(batch, rows, columns)`` =
(context frames) x (frequency channels), or ``(batch, 1, rows, columns)``.

By default every module is exactly the stack documented in the original
project; widths, dropout, kernel sizes and the output activation are
constructor parameters so that smaller or different variants can be searched.
"""

from __future__ import annotations

import copy
import math
import numbers

import torch
from torch import nn

from ..exceptions import ParameterError

__all__ = ["BiasedSigmoid", "DNN0", "DNN1", "CNN0", "CNN1"]


class BiasedSigmoid(nn.Module):
    """Logistic sigmoid of a shifted input, ``1 / (1 + exp(-(x + beta)))``.

    Parameters
    ----------
    beta : float, default=0.0
        Fixed shift added to the input before the sigmoid. ``beta=0`` is the
        plain logistic sigmoid; a positive ``beta`` pushes outputs towards 1.

    Examples
    --------
    >>> import torch
    >>> from sksep.models import BiasedSigmoid
    >>> BiasedSigmoid(beta=6.0)(torch.tensor([-6.0, 0.0]))
    tensor([0.5000, 0.9975])
    """

    def __init__(self, beta=0.0):
        super().__init__()
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not math.isfinite(beta):
            raise ParameterError(f"beta must be a finite number, got {beta!r}")
        self.beta = float(beta)

    def forward(self, x):
        return torch.sigmoid(x + self.beta)

    def extra_repr(self):
        return f"beta={self.beta}"


_ACTIVATIONS = {
    "identity": nn.Identity,
    "linear": nn.Identity,
    "sigmoid": BiasedSigmoid,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "softplus": nn.Softplus,
}


def make_activation(activation, *, name="output_activation"):
    """Build an activation module from a name, None or a module.

    Parameters
    ----------
    activation : None, str or torch.nn.Module
        None or ``"identity"``/``"linear"`` for no activation, one of
        ``"sigmoid"``, ``"relu"``, ``"leaky_relu"`` (slope 0.01),
        ``"softplus"``, or a module instance (a copy is used).
    name : str
        Argument name used in error messages.

    Returns
    -------
    module : torch.nn.Module
    """
    if activation is None:
        return nn.Identity()
    if isinstance(activation, nn.Module):
        return copy.deepcopy(activation)
    if isinstance(activation, str) and activation in _ACTIVATIONS:
        return _ACTIVATIONS[activation]()
    raise ParameterError(
        f"{name} must be None, a torch.nn.Module or one of {sorted(_ACTIVATIONS)}, "
        f"got {activation!r}"
    )


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_dropout(value, name="dropout"):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ParameterError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def _check_widths(widths, n_layers, name):
    if isinstance(widths, numbers.Integral) and not isinstance(widths, bool):
        widths = [widths] * n_layers
    try:
        widths = list(widths)
    except TypeError:
        raise ParameterError(
            f"{name} must be an int or a sequence of ints, got {widths!r}"
        ) from None
    if not widths:
        raise ParameterError(f"{name} must not be empty")
    return [_check_positive_int(w, f"{name}[{i}]") for i, w in enumerate(widths)]


def _check_input_shape(input_shape):
    try:
        rows, cols = (int(v) for v in input_shape)
    except (TypeError, ValueError):
        raise ParameterError(
            f"input_shape must be a pair (frames, channels), got {input_shape!r}"
        ) from None
    if rows < 1 or cols < 1:
        raise ParameterError(f"input_shape must be positive, got {input_shape!r}")
    return rows, cols


def _dense_stack(input_dim, widths, output_dim, dropout, output_activation, hidden_block):
    """``hidden_block(size, width)`` [+ Dropout] per width, then Linear -> output activation."""
    layers = []
    size = input_dim
    for width in widths:
        layers += hidden_block(size, width)
        if dropout:
            layers.append(nn.Dropout(dropout))
        size = width
    layers += [nn.Linear(size, output_dim), make_activation(output_activation)]
    return nn.Sequential(*layers)


class DNN0(nn.Module):
    """DNN_0: ``n_layers`` x [Linear -> BatchNorm -> ReLU] -> Linear(output_dim).

    Parameters
    ----------
    input_dim : int
        Size of one input frame (inputs with more axes are flattened per sample).
    output_dim : int
        Size of the mask (number of T-F bins).
    hidden_dim : int or sequence of int, default=1024
        Width of every hidden layer, or one width per layer.
    n_layers : int, default=4
        Number of hidden layers when ``hidden_dim`` is an int.
    dropout : float, default=0.0
        Dropout after each hidden block (the original used none).
    output_activation : None, str or torch.nn.Module, default=None
        Activation after the last layer: None or ``"identity"`` for none,
        ``"sigmoid"``, ``"relu"``, ``"leaky_relu"``, ``"softplus"``, or a module.

    Examples
    --------
    >>> import torch
    >>> from sksep.models import DNN0
    >>> net = DNN0(input_dim=20, output_dim=8, hidden_dim=16).eval()
    >>> net(torch.zeros(3, 20)).shape
    torch.Size([3, 8])
    """

    def __init__(self, input_dim, output_dim, hidden_dim=1024, n_layers=4, dropout=0.0,
                 output_activation=None):
        super().__init__()
        input_dim = _check_positive_int(input_dim, "input_dim")
        output_dim = _check_positive_int(output_dim, "output_dim")
        n_layers = _check_positive_int(n_layers, "n_layers")
        widths = _check_widths(hidden_dim, n_layers, "hidden_dim")
        dropout = _check_dropout(dropout)
        self.net = _dense_stack(
            input_dim, widths, output_dim, dropout, output_activation,
            lambda size, width: [nn.Linear(size, width), nn.BatchNorm1d(width), nn.ReLU()],
        )

    def forward(self, x):
        return self.net(x.flatten(1))


class DNN1(nn.Module):
    """DNN_1: sigmoid-activated layers of twice the input width and a sigmoid output.

    ``n_layers x [Linear -> BiasedSigmoid(beta) -> BatchNorm -> Dropout] -> Linear -> sigmoid``.

    Parameters
    ----------
    input_dim : int
        Size of one input frame (inputs with more axes are flattened per sample).
    output_dim : int
        Size of the mask.
    hidden_dim : int, sequence of int or None, default=None
        Width of the hidden layers; None means ``2 * input_dim`` as in the original.
    n_layers : int, default=4
        Number of hidden layers when ``hidden_dim`` is an int or None.
    beta : float, default=6.0
        Shift of the hidden :class:`BiasedSigmoid` activations.
    dropout : float, default=0.1
        Dropout after each hidden block.
    output_activation : None, str or torch.nn.Module, default="sigmoid"
        Activation after the last layer; the default is ``BiasedSigmoid(beta=0)``.

    Examples
    --------
    >>> import torch
    >>> from sksep.models import DNN1
    >>> net = DNN1(input_dim=10, output_dim=4).eval()
    >>> net.net[0]
    Linear(in_features=10, out_features=20, bias=True)
    >>> y = net(torch.randn(5, 10))
    >>> y.shape, bool(((y > 0) & (y < 1)).all())
    (torch.Size([5, 4]), True)
    """

    def __init__(self, input_dim, output_dim, hidden_dim=None, n_layers=4, beta=6.0, dropout=0.1,
                 output_activation="sigmoid"):
        super().__init__()
        input_dim = _check_positive_int(input_dim, "input_dim")
        output_dim = _check_positive_int(output_dim, "output_dim")
        n_layers = _check_positive_int(n_layers, "n_layers")
        widths = _check_widths(2 * input_dim if hidden_dim is None else hidden_dim, n_layers,
                               "hidden_dim")
        dropout = _check_dropout(dropout)
        self.net = _dense_stack(
            input_dim, widths, output_dim, dropout, output_activation,
            lambda size, width: [nn.Linear(size, width), BiasedSigmoid(beta),
                                 nn.BatchNorm1d(width)],
        )

    def forward(self, x):
        return self.net(x.flatten(1))


def _as_patches(x):
    """(batch, rows, cols) or (batch, 1, rows, cols) -> (batch, 1, rows, cols)."""
    if x.dim() == 3:
        return x.unsqueeze(1)
    if x.dim() == 4 and x.shape[1] == 1:
        return x
    raise ValueError(
        f"a CNN expects patches of shape (batch, rows, columns) or (batch, 1, rows, columns), "
        f"got {tuple(x.shape)}"
    )


class CNN0(nn.Module):
    """CNN_0: four same-padded 2-D convolutions over (frames x channels) patches.

    ``4 x [Conv2d(k x k) -> BatchNorm -> LeakyReLU(0.01)]`` with a 3x3 max-pool
    (stride 1, same padding) after the 2nd and 4th convolution, then
    ``Linear(output_dim) -> LeakyReLU(0.01) -> Dropout``. As in the original, the
    dropout sits after the output layer (it is the identity at prediction time).

    Parameters
    ----------
    input_shape : (int, int)
        Patch size: (context frames, frequency channels).
    output_dim : int
        Size of the mask.
    n_filters : sequence of 4 int or None, default=None
        Filters of the four convolutions; None means ``(C, 2C, 4C, 4C)`` with
        ``C = input_shape[1]`` (64/128/256/256 for a 64-channel cochleagram).
    kernel_size : int, default=11
        Side of the square convolution kernels.
    negative_slope : float, default=0.01
        Slope of the LeakyReLU activations.
    dropout : float, default=0.2
        Dropout after the output activation.
    output_activation : None, str or torch.nn.Module, default="leaky_relu"
        Activation after the output layer.

    Examples
    --------
    >>> import torch
    >>> from sksep.models import CNN0
    >>> net = CNN0(input_shape=(5, 12), output_dim=12, n_filters=(2, 2, 4, 4), kernel_size=3)
    >>> net.eval()(torch.zeros(7, 5, 12)).shape
    torch.Size([7, 12])
    """

    def __init__(self, input_shape, output_dim, n_filters=None, kernel_size=11,
                 negative_slope=0.01, dropout=0.2, output_activation="leaky_relu"):
        super().__init__()
        rows, cols = _check_input_shape(input_shape)
        output_dim = _check_positive_int(output_dim, "output_dim")
        kernel_size = _check_positive_int(kernel_size, "kernel_size")
        if kernel_size % 2 == 0:
            raise ParameterError(f"kernel_size must be odd for same padding, got {kernel_size}")
        if n_filters is None:
            n_filters = (cols, 2 * cols, 4 * cols, 4 * cols)
        n_filters = _check_widths(n_filters, 4, "n_filters")
        if len(n_filters) != 4:
            raise ParameterError(f"n_filters must have 4 entries, got {n_filters!r}")
        if rows < 3 or cols < 3:
            raise ParameterError(
                f"CNN0 needs patches of at least 3 x 3 (frames x channels) for its 3x3 max-pools, "
                f"got {rows} x {cols}"
            )
        dropout = _check_dropout(dropout)
        layers = []
        channels = 1
        for i, filters in enumerate(n_filters):
            layers += [
                nn.Conv2d(channels, filters, kernel_size, padding=kernel_size // 2),
                nn.BatchNorm2d(filters),
                nn.LeakyReLU(negative_slope),
            ]
            if i in (1, 3):
                layers.append(nn.MaxPool2d(3, stride=1, padding=1))
            channels = filters
        self.features = nn.Sequential(*layers)
        out_act = (nn.LeakyReLU(negative_slope) if output_activation == "leaky_relu"
                   else make_activation(output_activation))
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * rows * cols, output_dim), out_act,
            nn.Dropout(dropout),
        )

    def forward(self, x):
        return self.head(self.features(_as_patches(x)))


def _pool_out(n):
    # MaxPool2d(3, stride=2, padding=1)
    return (n - 1) // 2 + 1


class CNN1(nn.Module):
    """CNN_1: a small VGG-like stack with three stride-2 max-pools.

    ``Conv 3x3 (12) -> BN -> ReLU -> MaxPool 3/2``, the same with 24 and 48
    filters, then two ``Conv 3x3 (48) -> BN -> ReLU``, ``Dropout`` and
    ``Linear(output_dim)``. Convolutions and pools are padded by one, so each
    pool halves the patch (rounding up).

    Parameters
    ----------
    input_shape : (int, int)
        Patch size: (context frames, frequency channels). Each of the three
        pools must see at least 3 rows and 3 columns (its window), so both
        sides must be at least 9.
    output_dim : int
        Size of the mask.
    n_filters : sequence of 5 int, default=(12, 24, 48, 48, 48)
        Filters of the five convolutions.
    dropout : float, default=0.2
        Dropout before the output layer.
    output_activation : None, str or torch.nn.Module, default=None
        Activation after the output layer (the original had none).

    Examples
    --------
    >>> import torch
    >>> from sksep.models import CNN1
    >>> net = CNN1(input_shape=(15, 64), output_dim=64).eval()
    >>> net(torch.zeros(2, 15, 64)).shape
    torch.Size([2, 64])
    >>> CNN1.min_input_shape()
    (9, 9)
    """

    def __init__(self, input_shape, output_dim, n_filters=(12, 24, 48, 48, 48), dropout=0.2,
                 output_activation=None):
        super().__init__()
        rows, cols = _check_input_shape(input_shape)
        output_dim = _check_positive_int(output_dim, "output_dim")
        n_filters = _check_widths(n_filters, 5, "n_filters")
        if len(n_filters) != 5:
            raise ParameterError(f"n_filters must have 5 entries, got {n_filters!r}")
        min_rows, min_cols = self.min_input_shape()
        if rows < min_rows or cols < min_cols:
            raise ParameterError(
                f"CNN1 needs patches of at least {min_rows} x {min_cols} (frames x channels) so "
                f"that each of its three 3x3 stride-2 max-pools sees at least 3 rows and columns; "
                f"got {rows} x {cols} (widen the context, e.g. context=(7, 7))"
            )
        dropout = _check_dropout(dropout)
        layers = []
        channels = 1
        for i, filters in enumerate(n_filters):
            layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.BatchNorm2d(filters),
                       nn.ReLU()]
            if i < 3:
                layers.append(nn.MaxPool2d(3, stride=2, padding=1))
                rows, cols = _pool_out(rows), _pool_out(cols)
            channels = filters
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Flatten(), nn.Linear(channels * rows * cols, output_dim),
            make_activation(output_activation),
        )

    @staticmethod
    def min_input_shape():
        """Smallest patch (frames, channels) whose three pools each see 3 rows and columns."""
        n = 3
        for _ in range(2):  # the inputs of the 2nd and 3rd pool must be >= 3
            n = 2 * n - 1  # smallest m with (m - 1) // 2 + 1 >= n
        return n, n

    def forward(self, x):
        return self.head(self.features(_as_patches(x)))
