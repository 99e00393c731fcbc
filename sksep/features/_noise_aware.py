"""NoiseAwareFeatures: give every frame an estimate of its utterance's noise floor."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..exceptions import ParameterError
from ._base import FrameList, input_feature_names
from ._context import check_frame_matrices

_MODES = ("append", "subtract")


class NoiseAwareFeatures(TransformerMixin, BaseEstimator):
    """Append (or subtract) a per-utterance noise-floor estimate to every frame.

    "Noise-aware training" (Seltzer, Yu and Wang, ICASSP 2013): a network
    that sees an estimate of the background next to each frame can tell
    speech from noise it never heard better than one that sees the frame
    alone. The estimate here is, per feature, the ``quantile`` of the
    utterance's frames: with log-compressed T-F features (the front ends'
    output) a low quantile follows the floor the noise keeps between words.

    Stateless: ``fit`` only records the number of features. Put it right
    after the front end, before :class:`ContextStacker` (``mode="append"``
    doubles the width that the stacker then multiplies).

    Parameters
    ----------
    quantile : float, default=0.1
        Quantile of each feature over the utterance's frames, in [0, 1].
    mode : {"append", "subtract"}, default="append"
        ``"append"``: output ``[frame, estimate]`` (twice the width).
        ``"subtract"``: output ``frame - estimate`` (the level above the
        floor, an a-posteriori SNR for log features; same width).

    Attributes
    ----------
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import NoiseAwareFeatures
    >>> X = [np.array([[0.0, 1.0], [4.0, 1.0], [2.0, 3.0]])]
    >>> NoiseAwareFeatures(quantile=0.0).fit_transform(X)[0].tolist()
    [[0.0, 1.0, 0.0, 1.0], [4.0, 1.0, 0.0, 1.0], [2.0, 3.0, 0.0, 1.0]]
    >>> NoiseAwareFeatures(quantile=0.0, mode="subtract").fit_transform(X)[0].tolist()
    [[0.0, 0.0], [4.0, 0.0], [2.0, 2.0]]
    """

    def __init__(self, quantile=0.1, mode="append"):
        self.quantile = quantile
        self.mode = mode

    def _check_params(self):
        q = self.quantile
        if isinstance(q, bool) or not isinstance(q, numbers.Real) or not 0.0 <= q <= 1.0:
            raise ParameterError(f"quantile must be a number in [0, 1], got {q!r}")
        if self.mode not in _MODES:
            raise ParameterError(f"mode must be one of {_MODES}, got {self.mode!r}")

    def fit(self, X, y=None):
        """Check the parameters and record the number of features."""
        self._check_params()
        mats, _ = check_frame_matrices(X, ndims=(2,))
        widths = {m.shape[1] for m in mats}
        if len(widths) != 1:
            raise ParameterError(f"utterances have different numbers of features: {sorted(widths)}")
        self.n_features_in_ = widths.pop()
        return self

    def transform(self, X):
        """Each utterance with its noise-floor estimate appended or subtracted (float32)."""
        check_is_fitted(self)
        self._check_params()
        mats, single = check_frame_matrices(X, ndims=(2,))
        out = FrameList()
        for i, m in enumerate(mats):
            if m.shape[1] != self.n_features_in_:
                raise ParameterError(
                    f"X[{i}] has {m.shape[1]} features, fit saw {self.n_features_in_}"
                )
            floor = np.quantile(m, self.quantile, axis=0).astype(np.float32)
            if self.mode == "append":
                res = np.concatenate([m, np.broadcast_to(floor, m.shape)], axis=1)
            else:
                res = m - floor
            out.append(res.astype(np.float32, copy=False))
        return out[0] if single else out

    def get_feature_names_out(self, input_features=None):
        """Input names, then ``floor_<name>`` for the appended estimate."""
        check_is_fitted(self)
        names = input_feature_names(input_features, self.n_features_in_)
        if self.mode == "subtract":
            return names
        return np.concatenate([names, np.asarray([f"floor_{n}" for n in names], dtype=object)])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
