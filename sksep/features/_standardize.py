"""FrameStandardizer: per-feature mean and variance over all training frames."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ..exceptions import ParameterError
from ._base import FrameList, input_feature_names
from ._context import check_frame_matrices


class FrameStandardizer(TransformerMixin, BaseEstimator):
    """Standardise features with statistics learned over every training frame.

    Unlike per-utterance normalisation (which the original project applied to
    test utterances too), the mean and variance are learned once in ``fit``
    over all frames of all training utterances and then applied unchanged to
    new utterances.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract the mean.
    with_std : bool, default=True
        Divide by the standard deviation (features with zero variance are left
        unscaled).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,) or None
    var_ : ndarray of shape (n_features,) or None
    scale_ : ndarray of shape (n_features,) or None
    n_frames_seen_ : int
        Frames (rows of the last axis) the statistics were computed over.
    n_features_in_ : int

    Notes
    -----
    Accepts a list of ``(n_frames, n_features)`` matrices or of ``(n_frames,
    context, n_features)`` patches; statistics are per last-axis feature. A
    single 2-D array is one utterance and gives an array back. The statistics
    are accumulated utterance by utterance with
    :meth:`sklearn.preprocessing.StandardScaler.partial_fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import FrameStandardizer
    >>> X = [np.array([[0.0, 10.0], [2.0, 10.0]]), np.array([[4.0, 10.0]])]
    >>> s = FrameStandardizer().fit(X)
    >>> s.mean_.tolist(), s.transform(X)[1].tolist()
    ([2.0, 10.0], [[1.2247449159622192, 0.0]])
    """

    def __init__(self, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    def _check_params(self):
        for name in ("with_mean", "with_std"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ParameterError(f"{name} must be True or False, got {getattr(self, name)!r}")

    def fit(self, X, y=None):
        """Learn per-feature mean and variance over all frames of ``X``."""
        self._check_params()
        mats, _ = check_frame_matrices(X, ndims=(2, 3))
        widths = {m.shape[-1] for m in mats}
        if len(widths) != 1:
            raise ParameterError(f"utterances have different numbers of features: {sorted(widths)}")
        n_features = widths.pop()
        scaler = StandardScaler(with_mean=self.with_mean, with_std=self.with_std)
        for m in mats:
            scaler.partial_fit(m.reshape(-1, n_features).astype(np.float64))
        self.mean_ = scaler.mean_
        self.var_ = scaler.var_
        self.scale_ = scaler.scale_
        self.n_frames_seen_ = int(np.max(scaler.n_samples_seen_))
        self.n_features_in_ = n_features
        return self

    def _shift_scale(self):
        # as StandardScaler: mean_ is kept for with_std=True but only subtracted with with_mean
        shift = self.mean_ if self.with_mean and self.mean_ is not None else 0.0
        scale = self.scale_ if self.with_std and self.scale_ is not None else 1.0
        return shift, scale

    def transform(self, X):
        """Standardise every utterance with the learned statistics (float32 out)."""
        check_is_fitted(self)
        mats, single = check_frame_matrices(X, ndims=(2, 3))
        shift, scale = self._shift_scale()
        out = FrameList()
        for i, m in enumerate(mats):
            if m.shape[-1] != self.n_features_in_:
                raise ParameterError(
                    f"X[{i}] has {m.shape[-1]} features, fit saw {self.n_features_in_}"
                )
            out.append(((m - shift) / scale).astype(np.float32))
        return out[0] if single else out

    def inverse_transform(self, X):
        """Undo :meth:`transform`."""
        check_is_fitted(self)
        mats, single = check_frame_matrices(X, ndims=(2, 3))
        shift, scale = self._shift_scale()
        out = FrameList((m * scale + shift).astype(np.float32) for m in mats)
        return out[0] if single else out

    def get_feature_names_out(self, input_features=None):
        """The input feature names (``x0``, ``x1`` ... when none are given)."""
        check_is_fitted(self)
        return input_feature_names(input_features, self.n_features_in_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
