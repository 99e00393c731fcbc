"""Cepstral features (MFCC, GFCC) frame-aligned with the front ends, with optional deltas."""

from __future__ import annotations

import librosa
import numpy as np
from scipy.fft import dct

from .._validation import check_sr
from ..exceptions import ParameterError
from ._base import WaveformTransformer, check_int, check_number, check_option
from ._cochleagram import CochleagramTransformer, compress

__all__ = ["MFCCTransformer", "GFCCTransformer"]


def add_deltas(C, deltas, width=9):
    """Stack ``C`` (n_frames, n) with its first (and second) time derivatives.

    Uses :func:`librosa.feature.delta` along time with ``mode="nearest"`` so
    utterances shorter than ``width`` frames work too.
    """
    parts = [C]
    for order in range(1, deltas + 1):
        parts.append(librosa.feature.delta(C, width=width, order=order, axis=0, mode="nearest"))
    return np.concatenate(parts, axis=1)


def _delta_names(prefix, n, deltas):
    names = [f"{prefix}{i}" for i in range(n)]
    for order in range(1, deltas + 1):
        names += [f"{prefix}_d{order}_{i}" for i in range(n)]
    return np.asarray(names, dtype=object)


class _Cepstral(WaveformTransformer):
    def get_feature_names_out(self, input_features=None):
        """Names ``<prefix>i``, then ``<prefix>_d1_i`` and ``<prefix>_d2_i`` for deltas."""
        super().get_feature_names_out()
        return _delta_names(self._prefix, self.n_coeffs, self.deltas)

    def _n_features(self):
        return int(self.n_coeffs) * (1 + int(self.deltas))


class MFCCTransformer(_Cepstral):
    """Mel-frequency cepstral coefficients on the STFT framing, with optional deltas.

    :func:`librosa.feature.mfcc` on a centred STFT: frame ``k`` is centred on
    sample ``k * hop_length`` like every sksep front end, so
    ``FeatureUnion([("stft", STFTTransformer()), ("mfcc", MFCCTransformer())])``
    joins them frame by frame.

    Parameters
    ----------
    sr : int, default=16000
        Sample rate (Hz).
    n_coeffs : int, default=13
        Cepstral coefficients kept (``n_mfcc``), at most ``n_mels``.
    n_fft : int, default=512
        FFT length.
    hop_length : int, default=256
        Samples between frames.
    n_mels : int, default=40
        Mel bands.
    fmin : float, default=0
        Lowest mel band edge (Hz).
    fmax : float or None, default=None
        Highest mel band edge (Hz), at most ``sr / 2``; None means ``sr / 2``.
    deltas : {0, 1, 2}, default=0
        Append first (1) or first and second (2) time derivatives
        (:func:`librosa.feature.delta`, width 9).

    Attributes
    ----------
    n_features_out_ : int
        ``n_coeffs * (1 + deltas)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import MFCCTransformer
    >>> y = np.random.default_rng(0).standard_normal(16000).astype("float32")
    >>> MFCCTransformer(deltas=2).fit_transform([y])[0].shape
    (63, 39)
    """

    _prefix = "mfcc"

    def __init__(self, sr=16000, n_coeffs=13, n_fft=512, hop_length=256, n_mels=40, fmin=0.0,
                 fmax=None, deltas=0):
        self.sr = sr
        self.n_coeffs = n_coeffs
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.fmin = fmin
        self.fmax = fmax
        self.deltas = deltas

    def _check_params(self):
        sr = check_sr(self.sr)
        check_int(self.n_fft, "n_fft", low=2)
        check_int(self.hop_length, "hop_length", low=1)
        check_int(self.n_mels, "n_mels", low=1)
        check_int(self.n_coeffs, "n_coeffs", low=1, high=self.n_mels)
        check_int(self.deltas, "deltas", low=0, high=2)
        check_number(self.fmin, "fmin", low=0)
        if self.fmax is not None:
            check_number(self.fmax, "fmax", low=0, low_inclusive=False)
            if self.fmax > sr / 2:
                raise ParameterError(
                    f"fmax={self.fmax!r} Hz is above the Nyquist frequency {sr / 2:g} Hz of sr={sr}"
                )
        if self.fmin >= (sr / 2 if self.fmax is None else self.fmax):
            raise ParameterError(
                f"fmin must be below fmax, got fmin={self.fmin!r}, fmax={self.fmax!r}"
            )

    def _min_samples(self):
        return int(self.n_fft)

    def _features(self, y):
        C = librosa.feature.mfcc(
            y=y, sr=self.sr, n_mfcc=self.n_coeffs, n_fft=self.n_fft, hop_length=self.hop_length,
            n_mels=self.n_mels, fmin=self.fmin, fmax=self.fmax, center=True,
        ).T
        return add_deltas(C, self.deltas).astype(np.float32)


class GFCCTransformer(_Cepstral):
    """Gammatone frequency cepstral coefficients: DCT of the compressed cochleagram.

    The cochleagram of :class:`CochleagramTransformer` (same framing, so it
    joins other front ends frame by frame in a ``FeatureUnion``), compressed
    (cube root by default, as in Shao & Wang's GFCC), then an orthonormal
    DCT-II across channels keeping the first ``n_coeffs``.

    Parameters
    ----------
    sr : int, default=16000
        Sample rate (Hz).
    n_coeffs : int, default=31
        Coefficients kept, at most ``n_channels``.
    n_channels, fmin, fmax, frame_length, hop_length
        As in :class:`CochleagramTransformer`.
    compression : {"cube-root", "log"}, default="cube-root"
        Compression before the DCT.
    deltas : {0, 1, 2}, default=0
        Append first (1) or first and second (2) time derivatives.

    Attributes
    ----------
    n_features_out_ : int
        ``n_coeffs * (1 + deltas)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import GFCCTransformer
    >>> y = np.random.default_rng(0).standard_normal(16000).astype("float32")
    >>> GFCCTransformer(n_coeffs=20, deltas=1).fit_transform([y])[0].shape
    (63, 40)
    """

    _prefix = "gfcc"

    def __init__(self, sr=16000, n_coeffs=31, n_channels=64, fmin=50.0, fmax=None,
                 frame_length=512, hop_length=256, compression="cube-root", deltas=0):
        self.sr = sr
        self.n_coeffs = n_coeffs
        self.n_channels = n_channels
        self.fmin = fmin
        self.fmax = fmax
        self.frame_length = frame_length
        self.hop_length = hop_length
        self.compression = compression
        self.deltas = deltas

    def _cochleagram(self):
        return CochleagramTransformer(
            sr=self.sr, n_channels=self.n_channels, fmin=self.fmin, fmax=self.fmax,
            frame_length=self.frame_length, hop_length=self.hop_length, compression="none",
        )

    def _check_params(self):
        self._cochleagram()._check_params()
        check_int(self.n_coeffs, "n_coeffs", low=1, high=self.n_channels)
        check_int(self.deltas, "deltas", low=0, high=2)
        check_option(self.compression, "compression", {"cube-root", "log"})

    def _min_samples(self):
        return int(self.frame_length)

    def _transform_all(self, ys):
        out = []
        for E in self._cochleagram()._energies(ys):
            C = dct(compress(E, self.compression), type=2, norm="ortho", axis=1)[:, : self.n_coeffs]
            out.append(add_deltas(C, self.deltas).astype(np.float32))
        return out
