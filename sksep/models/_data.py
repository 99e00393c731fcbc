"""Utterance lists -> one frame store that a DataLoader can batch from.

All utterances are stored once, as a single concatenated float32 CPU array
with offsets. A :class:`UtteranceDataset` serves frames (for the DNNs) or
centre-frame patches (for the CNNs) by index arithmetic over that array, a
whole batch at a time (``__getitems__``), so nothing is copied per context
frame and the data stay on the CPU until a batch is moved to the device.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import torch

from .._validation import positional_items
from ..exceptions import ParameterError
from ._checkpoint import array_digest

__all__ = ["UtteranceDataset", "UtteranceSplit", "check_utterances", "collate_batch"]


def _as_items(X, name):
    """A sequence of per-utterance arrays -> list; refuse bare matrices and empty input."""
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 2:
            raise ParameterError(
                f"{name} is a single 2-D array of shape {X.shape}; pass a list of per-utterance "
                f"matrices, e.g. [{name}]"
            )
        if X.ndim not in (3, 4):
            raise ParameterError(
                f"{name} must be a list of per-utterance 2-D or 3-D arrays, got an array of "
                f"shape {X.shape}"
            )
        return list(X)
    if torch.is_tensor(X):
        raise ParameterError(f"{name} must be a list of NumPy arrays, got a torch tensor")
    if isinstance(X, (Sequence, np.ndarray)) or (
            hasattr(X, "__getitem__") and hasattr(X, "__len__")):
        items = positional_items(X)
    else:
        raise ParameterError(
            f"{name} must be a list of per-utterance arrays, got {type(X).__name__}"
        )
    if not items:
        raise ParameterError(f"{name} is empty: no utterances given")
    return items


def check_utterances(X, *, name="X", ndims=(2, 3), feature_shape=None):
    """Validate a list of per-utterance matrices; return float32 arrays.

    Parameters
    ----------
    X : sequence of array-like
        One ``(n_frames, ...)`` array per utterance.
    name : str
        Argument name used in error messages.
    ndims : tuple of int
        Accepted numbers of axes per utterance.
    feature_shape : tuple of int or None
        If given, the shape every frame must have (``array.shape[1:]``);
        otherwise the first utterance sets it.

    Returns
    -------
    arrays : list of ndarray, float32

    Raises
    ------
    ParameterError
        If ``X`` is empty or a bare matrix, an utterance has the wrong number of
        axes, no frames, a frame shape unlike the others, or NaN / infinity.
    """
    items = _as_items(X, name)
    out = []
    for i, item in enumerate(items):
        try:
            arr = np.asarray(item, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"{name}[{i}] cannot be read as a numeric array: {exc}") from exc
        if arr.ndim not in ndims:
            raise ParameterError(
                f"{name}[{i}] must have {' or '.join(map(str, ndims))} axes "
                f"(frames first), got shape {arr.shape}"
            )
        if arr.shape[0] == 0:
            raise ParameterError(f"{name}[{i}] has no frames (shape {arr.shape})")
        if feature_shape is None:
            feature_shape = arr.shape[1:]
        elif arr.shape[1:] != tuple(feature_shape):
            raise ParameterError(
                f"{name}[{i}] has frames of shape {arr.shape[1:]} but "
                f"{'the model expects' if i == 0 else f'{name}[0] has'} {tuple(feature_shape)}"
            )
        if not np.isfinite(arr).all():
            n_bad = int((~np.isfinite(arr)).sum())
            raise ParameterError(f"{name}[{i}] contains {n_bad} NaN or infinite value(s)")
        out.append(arr)
    return out


def check_context(context, name="context"):
    """``int`` or ``(left, right)`` -> ``(left, right)`` of non-negative ints."""
    if isinstance(context, numbers.Integral) and not isinstance(context, bool):
        context = (context, context)
    try:
        left, right = context
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name} must be an int or a pair (left, right) of frames, got {context!r}"
        ) from None
    for v in (left, right):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ParameterError(f"{name} must hold non-negative ints, got {context!r}")
    return int(left), int(right)


def collate_batch(batch):
    """Collate function for datasets whose ``__getitems__`` already returns a batch."""
    return batch


class UtteranceDataset(torch.utils.data.Dataset):
    """Frames or centre-frame patches of a list of utterances, for a DataLoader.

    Parameters
    ----------
    X : sequence of ndarray
        Per-utterance features, each ``(n_frames, F)`` or ``(n_frames, context, F)``.
    y : sequence of ndarray or None
        Per-utterance targets, each ``(n_frames, O)``; None for prediction.
    context : None, int or (int, int), default=None
        For 2-D features only: serve the patch of ``left`` frames before and
        ``right`` frames after each frame, ``(left + 1 + right, F)``. Utterance
        edges are padded by repeating the first / last frame. Ignored for 3-D
        features, which are patches already.
    flatten : bool, default=False
        Serve each sample as a 1-D vector.

    Attributes
    ----------
    lengths : ndarray of int
        Frames per utterance.
    offsets : ndarray of int
        Start of each utterance in the concatenated frame order (plus the end).
    utterances : ndarray of int
        The utterances this dataset serves (all, or a subset; see :meth:`subset`).
    sample_shape : tuple of int
        Shape of one served input sample.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.models import UtteranceDataset
    >>> X = [np.arange(8, dtype=np.float32).reshape(4, 2), np.ones((3, 2), np.float32)]
    >>> ds = UtteranceDataset(X, context=(1, 1))
    >>> len(ds), ds.sample_shape
    (7, (3, 2))
    >>> ds.__getitems__([0])[0]
    tensor([[[0., 1.],
             [0., 1.],
             [2., 3.]]])
    """

    def __init__(self, X, y=None, *, context=None, flatten=False):
        X = check_utterances(X, name="X")
        self.lengths = np.array([len(x) for x in X], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)])
        self.utterances = np.arange(len(X))
        self.flatten = bool(flatten)
        n_total = int(self.offsets[-1])
        if y is not None:
            y = check_utterances(y, name="y", ndims=(2,))
            if len(y) != len(X):
                raise ParameterError(
                    f"X has {len(X)} utterances but y has {len(y)}; give one target per utterance"
                )
            for i, (x_i, y_i) in enumerate(zip(X, y, strict=True)):
                if len(x_i) != len(y_i):
                    raise ParameterError(
                        f"utterance {i}: X[{i}] has {len(x_i)} frames but y[{i}] has {len(y_i)}; "
                        "features and masks must be frame-aligned"
                    )
            self.targets = np.concatenate(y)
        else:
            self.targets = None
        frame_shape = X[0].shape[1:]
        if len(frame_shape) == 1 and context is not None:
            left, right = check_context(context)
            self.context = (left, right)
            # Each utterance padded by edge frames, stored once; a patch is a window of rows.
            self.features = np.concatenate(
                [np.pad(x, ((left, right), (0, 0)), mode="edge") for x in X]
            )
            utt = np.repeat(np.arange(len(X)), self.lengths)
            self._rows = np.arange(n_total) + utt * (left + right) + left
            self._window = np.arange(-left, right + 1)
            self.sample_shape = (left + right + 1, frame_shape[0])
        else:
            self.context = None
            self.features = np.concatenate(X)
            self._rows = None
            self._window = None
            self.sample_shape = tuple(frame_shape)
        if self.flatten:
            self.sample_shape = (int(np.prod(self.sample_shape)),)
        self._indices = np.arange(n_total)

    def fingerprint(self):
        """Text that changes with the served data (:class:`TrainingCheckpoint` keys runs by it)."""
        digest = array_digest(self.features, self.targets, self.lengths)
        return (f"UtteranceDataset sha256:{digest} context={self.context} "
                f"flatten={self.flatten}")

    @property
    def n_outputs(self):
        """Width of the targets, or None without targets."""
        return None if self.targets is None else self.targets.shape[1]

    @property
    def n_utterances(self):
        """Number of utterances this dataset serves."""
        return len(self.utterances)

    def subset(self, utterances):
        """A dataset serving only the given utterances (indices into ``utterances``).

        The frame store is shared, not copied.
        """
        chosen = self.utterances[np.asarray(utterances, dtype=np.int64)]
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.utterances = chosen
        new._indices = (
            np.concatenate([np.arange(self.offsets[u], self.offsets[u + 1]) for u in chosen])
            if len(chosen) else np.zeros(0, dtype=np.int64)
        )
        return new

    def __len__(self):
        return len(self._indices)

    def _inputs(self, frames):
        if self._rows is None:
            xb = self.features[frames]
        else:
            xb = self.features[self._rows[frames][:, None] + self._window]
        if self.flatten:
            xb = xb.reshape(len(frames), -1)
        return torch.from_numpy(np.ascontiguousarray(xb))

    def __getitems__(self, indices):
        frames = self._indices[np.asarray(indices, dtype=np.int64)]
        xb = self._inputs(frames)
        yb = None if self.targets is None else torch.from_numpy(self.targets[frames])
        return xb, yb

    def __getitem__(self, i):
        xb, yb = self.__getitems__([i])
        return xb[0], (None if yb is None else yb[0])


class UtteranceSplit:
    """Internal train/validation split by utterance, never by frame.

    Use as ``train_split`` of a regressor: skorch calls it with the training
    :class:`UtteranceDataset` and it returns the two subsets.

    Parameters
    ----------
    valid_fraction : float, default=0.2
        Share of the utterances held out for validation (at least one).
    random_state : int or None, default=0
        Seed of the utterance permutation; None draws a fresh split each fit.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.models import UtteranceDataset, UtteranceSplit
    >>> ds = UtteranceDataset([np.zeros((n, 3)) for n in (4, 5, 6, 7, 8)])
    >>> train, valid = UtteranceSplit(0.4)(ds)
    >>> train.n_utterances, valid.n_utterances, len(train) + len(valid)
    (3, 2, 30)
    """

    def __init__(self, valid_fraction=0.2, random_state=0):
        self.valid_fraction = valid_fraction
        self.random_state = random_state

    def __call__(self, dataset, y=None, **fit_params):
        frac = self.valid_fraction
        if isinstance(frac, bool) or not isinstance(frac, numbers.Real) or not 0 < frac < 1:
            raise ParameterError(f"valid_fraction must be in (0, 1), got {frac!r}")
        if not hasattr(dataset, "subset"):
            raise ParameterError(
                f"UtteranceSplit needs an UtteranceDataset, got {type(dataset).__name__}"
            )
        n = dataset.n_utterances
        if n < 2:
            raise ParameterError(
                f"cannot hold out utterances for validation: only {n} utterance given; "
                "pass more utterances or set train_split=None"
            )
        n_valid = min(max(1, int(round(frac * n))), n - 1)
        order = np.random.RandomState(self.random_state).permutation(n)
        return dataset.subset(np.sort(order[n_valid:])), dataset.subset(np.sort(order[:n_valid]))

    def __repr__(self):
        return (f"{type(self).__name__}(valid_fraction={self.valid_fraction!r}, "
                f"random_state={self.random_state!r})")
