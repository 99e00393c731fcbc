"""Shared plumbing of the feature transformers: utterance lists, input checks, FrontEnd."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import check_matching_sr, check_sr, check_waveform, check_waveforms
from ..exceptions import ParameterError

__all__ = ["FrameList", "FrontEnd"]


class FrameList(list):
    """A list of per-utterance feature matrices that ``FeatureUnion`` can join.

    Transformers in :mod:`sksep.features` return this plain ``list`` subclass.
    Its only addition: when NumPy is asked to concatenate several of them along
    axis 1 (what :class:`sklearn.pipeline.FeatureUnion` does with its parts),
    it joins them utterance by utterance along the last (feature) axis, so a
    union of frame-aligned transformers gives one matrix per utterance. Any other
    NumPy function sees an ordinary list.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import FrameList
    >>> a = FrameList([np.zeros((3, 2)), np.zeros((5, 2))])
    >>> b = FrameList([np.ones((3, 4)), np.ones((5, 4))])
    >>> [m.shape for m in np.hstack([a, b])]
    [(3, 6), (5, 6)]
    """

    def __array_function__(self, func, types, args, kwargs):
        if func in (np.concatenate, np.hstack) or getattr(np, "concat", None) is func:
            parts = args[0] if args else kwargs.get("arrays", kwargs.get("tup"))
            axis = kwargs.get("axis", args[1] if len(args) > 1 else (1 if func is np.hstack else 0))
            if axis == 1 and all(isinstance(p, FrameList) for p in parts):
                return _join_utterances(list(parts))
        args = tuple(_plain(a) for a in args)
        kwargs = {k: _plain(v) for k, v in kwargs.items()}
        return func(*args, **kwargs)

    def __reduce__(self):
        return (FrameList, (list(self),))


def _plain(obj):
    if isinstance(obj, FrameList):
        return list(obj)
    if isinstance(obj, (list, tuple)) and any(isinstance(o, FrameList) for o in obj):
        return type(obj)(_plain(o) for o in obj)
    return obj


def _join_utterances(parts):
    n_utt = {len(p) for p in parts}
    if len(n_utt) != 1:
        raise ParameterError(
            f"cannot join feature lists with different numbers of utterances: {sorted(n_utt)}"
        )
    out = FrameList()
    for i, mats in enumerate(zip(*parts)):
        shapes = [m.shape[:-1] for m in mats]
        if len(set(shapes)) != 1:
            raise ParameterError(
                f"utterance {i}: the joined transformers are not frame-aligned (leading shapes "
                f"{shapes}); give every front end and cepstrum the same sr and hop_length"
            )
        out.append(np.concatenate(mats, axis=-1))
    return out


# ---------------------------------------------------------------------------
# parameter checks (raise sksep's errors, naming argument and value)
# ---------------------------------------------------------------------------
def check_int(value, name, *, low=1, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ParameterError(f"{name} must be {bound}, got {name}={value!r}")
    return int(value)


def check_option(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise ParameterError(f"{name} must be one of {sorted(options)}, got {name}={value!r}")
    return value


def check_number(value, name, *, low=None, low_inclusive=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ParameterError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ParameterError(f"{name} must be {op} {low}, got {name}={value!r}")
    return float(value)


def feature_names(prefix, n):
    return np.asarray([f"{prefix}{i}" for i in range(n)], dtype=object)


def input_feature_names(input_features, n_features_in):
    """``input_features`` as an object array of ``n_features_in`` names (``x0 ...`` if None)."""
    if input_features is None:
        return feature_names("x", n_features_in)
    names = np.asarray(input_features, dtype=object)
    if names.ndim != 1 or len(names) != n_features_in:
        raise ParameterError(
            f"input_features has {names.size} names, fit saw {n_features_in} features"
        )
    return names


def check_mask(mask, expected_shape):
    """Validate a mask for :meth:`FrontEnd.apply_mask`; return it as float64."""
    try:
        arr = np.asarray(mask, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"mask cannot be read as a numeric array: {exc}") from exc
    if arr.shape != tuple(expected_shape):
        raise ParameterError(
            f"mask has shape {arr.shape} but the utterance needs {tuple(expected_shape)} "
            "(n_frames, n_bins); compute the mask on this very waveform with the same front end"
        )
    if not np.isfinite(arr).all():
        n_bad = int((~np.isfinite(arr)).sum())
        raise ParameterError(f"mask contains {n_bad} NaN or infinite value(s)")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise ParameterError(
            f"mask values must lie in [0, 1], got min={lo:g}, max={hi:g}; "
            "clip a network's output first, e.g. np.clip(mask, 0, 1)"
        )
    return arr


# ---------------------------------------------------------------------------
# base classes
# ---------------------------------------------------------------------------
class WaveformTransformer(TransformerMixin, BaseEstimator):
    """Base of transformers that map utterances to per-utterance feature matrices.

    Subclasses implement ``_check_params()`` (returns nothing, raises
    :class:`~sksep.exceptions.ParameterError`), ``_min_samples()``,
    ``_n_features()``, ``_features(y)`` and set ``_prefix``.
    """

    _prefix = "f"

    def _min_samples(self):
        return 1

    def _check_input(self, X):
        check_sr(self.sr)
        Xs = check_waveforms(X, min_samples=self._min_samples())
        check_matching_sr(X, self.sr, owner=type(self).__name__)
        return Xs

    def fit(self, X, y=None):
        """Check the parameters and the audio; learn nothing else.

        Parameters
        ----------
        X : list of 1-D arrays, AudioCollection or 2-D array
            Utterances (waveforms); a 2-D array is one utterance per row.
        y : ignored

        Returns
        -------
        self
        """
        self._check_params()
        self._check_input(X)
        self.n_features_out_ = self._n_features()
        return self

    def transform(self, X):
        """Map each utterance to a ``(n_frames, n_features)`` float32 matrix.

        Parameters
        ----------
        X : list of 1-D arrays, AudioCollection or 2-D array
            Utterances (waveforms); a 2-D array is one utterance per row.

        Returns
        -------
        features : FrameList of ndarray of shape (n_frames, n_features)
            One float32 matrix per utterance, ``n_frames == 1 + len(y) // hop_length``.
        """
        check_is_fitted(self)
        self._check_params()
        return FrameList(self._transform_all(self._check_input(X)))

    def _transform_all(self, ys):
        return [self._features(y) for y in ys]

    def n_frames(self, n_samples):
        """Number of frames of an utterance of ``n_samples`` samples: ``1 + n // hop_length``."""
        return 1 + int(n_samples) // int(self.hop_length)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features, e.g. ``coch0 ... coch63``.

        Parameters
        ----------
        input_features : ignored
            Inputs are waveforms, which have no feature names.

        Returns
        -------
        names : ndarray of str objects
        """
        check_is_fitted(self)
        return feature_names(self._prefix, self.n_features_out_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.input_tags.two_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


class FrontEnd(WaveformTransformer):
    """A time-frequency front end: features, the T-F energy masks live on, and resynthesis.

    Subclasses (:class:`STFTTransformer`, :class:`CochleagramTransformer`)
    implement ``_power(y)``, ``_apply_mask(y, mask)`` and ``n_bins``. Everything
    here except ``transform`` works without ``fit``, because targets are
    computed with unfitted front ends.
    """

    def fit(self, X, y=None):
        super().fit(X, y)
        self.n_bins_ = self.n_bins
        return self

    def power(self, y):
        """T-F energy of one waveform: the domain masks are defined on.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Mono waveform, at least one frame long.

        Returns
        -------
        power : ndarray of shape (n_frames, n_bins), float32
        """
        self._check_params()
        y = check_waveform(y, name="y", min_samples=self._min_samples())
        return self._power(y).astype(np.float32, copy=False)

    def apply_mask(self, y, mask):
        """Weight the T-F representation of ``y`` by ``mask`` and resynthesise a waveform.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Noisy waveform.
        mask : array-like of shape (n_frames, n_bins)
            ``self.power(y).shape``; values in [0, 1]. Values outside are an
            error, not clipped silently: clip a network's output yourself.

        Returns
        -------
        y_hat : ndarray of shape (n_samples,), float32

        Raises
        ------
        ParameterError
            If ``mask`` has the wrong shape, holds NaN/inf or values outside [0, 1].
        """
        self._check_params()
        y = check_waveform(y, name="y", min_samples=self._min_samples())
        mask = check_mask(mask, (self.n_frames(len(y)), self.n_bins))
        out = self._apply_mask(y, mask)
        return np.ascontiguousarray(out[: len(y)], dtype=np.float32)

    def check_resynthesis(self):
        """Raise :class:`~sksep.exceptions.ParameterError` if :meth:`apply_mask` cannot work.

        :class:`~sksep.SpeechEnhancer` calls it before training, so that a
        front end whose settings allow features but not resynthesis fails
        at once rather than after the network has been trained.
        """
        self._check_params()
        self._check_resynthesis()

    def _check_resynthesis(self):
        """What resynthesis needs beyond ``_check_params`` (subclasses; here nothing)."""

    def _n_features(self):
        return self.n_bins

