"""ContextStacker: each frame with its neighbours, as flat rows or 2-D patches."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import positional_items
from ..exceptions import ParameterError
from ._base import FrameList, check_int, check_option, input_feature_names


def check_frame_matrices(X, *, name="X", ndims=(2,)):
    """Return ``(mats, single)``: a list of float32 per-utterance arrays.

    ``X`` is a list of ``(n_frames, ...)`` arrays, a stacked ndarray of
    equal-length utterances (one more dimension), or a single utterance's
    ``(n_frames, n_features)`` 2-D ndarray (``single=True``: the caller then
    returns an array rather than a list).
    """
    if sparse.issparse(X):
        raise ParameterError(f"{name}: sparse input is not supported; pass dense frame matrices")
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 2:
            return [_check_matrix(X, name, ndims)], True
        if X.ndim - 1 in ndims:
            return [_check_matrix(x, f"{name}[{i}]", ndims) for i, x in enumerate(X)], False
        raise ParameterError(
            f"{name} must be a list of per-utterance feature matrices, "
            f"got an array of shape {X.shape}"
        )
    if not hasattr(X, "__len__") or isinstance(X, (str, bytes)):
        raise ParameterError(
            f"{name} must be a list of per-utterance feature matrices, got {type(X).__name__}"
        )
    if len(X) == 0:
        raise ParameterError(f"{name} is empty: no utterances given")
    return [_check_matrix(x, f"{name}[{i}]", ndims)
            for i, x in enumerate(positional_items(X))], False


def _check_matrix(x, name, ndims):
    if sparse.issparse(x):
        raise ParameterError(f"{name}: sparse input is not supported; pass dense frame matrices")
    if np.iscomplexobj(x):
        raise ParameterError(f"{name}: Complex data not supported; features must be real")
    try:
        arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} cannot be read as a numeric matrix: {exc}") from exc
    if arr.ndim not in ndims:
        raise ParameterError(
            f"{name} must have {' or '.join(map(str, ndims))} dimensions (n_frames, ...), "
            f"got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ParameterError(f"{name} has no frames")
    if not np.isfinite(arr).all():
        raise ParameterError(f"{name} contains NaN or infinite values")
    return arr


class ContextStacker(TransformerMixin, BaseEstimator):
    """Stack each frame with its ``left`` and ``right`` neighbours.

    Parameters
    ----------
    left : int, default=2
        Frames of past context.
    right : int or None, default=None
        Frames of future context; None means the same as ``left``, so
        ``ContextStacker(2)`` is a 5-frame window.
    flatten : bool, default=True
        True gives rows of ``(left + 1 + right) * n_features`` (for DNNs),
        oldest frame first; False gives ``(n_frames, left + 1 + right,
        n_features)`` patches (for CNNs).
    pad : {"edge", "constant"}, default="edge"
        Beyond the utterance, repeat the first / last frame ("edge") or use
        zeros ("constant").

    Attributes
    ----------
    n_features_in_ : int
        Features per input frame.
    n_features_out_ : int
        Features per output row (flattened).

    Notes
    -----
    ``X`` is a list of ``(n_frames, n_features)`` matrices (one per utterance)
    and the output is a list. A single 2-D array is taken as one utterance and
    gives an array back, so the stacker also works as a plain scikit-learn
    transformer.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import ContextStacker
    >>> X = [np.arange(8, dtype="float32").reshape(4, 2)]
    >>> out = ContextStacker(1).fit_transform(X)
    >>> out[0].shape, out[0][0].tolist()
    ((4, 6), [0.0, 1.0, 0.0, 1.0, 2.0, 3.0])
    >>> ContextStacker(2, flatten=False).fit_transform(X)[0].shape
    (4, 5, 2)
    """

    def __init__(self, left=2, right=None, flatten=True, pad="edge"):
        self.left = left
        self.right = right
        self.flatten = flatten
        self.pad = pad

    def _check_params(self):
        left = check_int(self.left, "left", low=0)
        right = left if self.right is None else check_int(self.right, "right", low=0)
        if not isinstance(self.flatten, (bool, np.bool_)):
            raise ParameterError(f"flatten must be True or False, got {self.flatten!r}")
        check_option(self.pad, "pad", {"edge", "constant"})
        return left, right

    def fit(self, X, y=None):
        """Check the parameters and record the number of features per frame."""
        self._check_params()
        mats, _ = check_frame_matrices(X)
        widths = {m.shape[1] for m in mats}
        if len(widths) != 1:
            raise ParameterError(f"utterances have different numbers of features: {sorted(widths)}")
        self.n_features_in_ = widths.pop()
        self.n_features_out_ = self.n_features_in_ * self.context_
        return self

    @property
    def context_(self):
        """Frames per window, ``left + 1 + right``."""
        left, right = self._check_params()
        return left + 1 + right

    def transform(self, X):
        """Stack neighbouring frames of each utterance.

        Returns
        -------
        stacked : FrameList of ndarray (or one ndarray for a single 2-D input)
            ``(n_frames, context * n_features)`` rows or ``(n_frames, context,
            n_features)`` patches, float32.
        """
        check_is_fitted(self)
        left, right = self._check_params()
        mats, single = check_frame_matrices(X)
        out = FrameList()
        for i, m in enumerate(mats):
            if m.shape[1] != self.n_features_in_:
                raise ParameterError(
                    f"X[{i}] has {m.shape[1]} features per frame, fit saw {self.n_features_in_}"
                )
            padded = np.pad(m, ((left, right), (0, 0)), mode=self.pad)
            win = sliding_window_view(padded, left + 1 + right, axis=0)  # (n, F, context)
            win = np.ascontiguousarray(win.transpose(0, 2, 1))
            out.append(win.reshape(len(m), -1) if self.flatten else win)
        return out[0] if single else out

    def get_feature_names_out(self, input_features=None):
        """Names ``<feature>@<offset>``, e.g. ``coch3@-2``, oldest frame first."""
        check_is_fitted(self)
        left, right = self._check_params()
        input_features = input_feature_names(input_features, self.n_features_in_)
        return np.asarray(
            [f"{f}@{o:+d}" for o in range(-left, right + 1) for f in input_features], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
