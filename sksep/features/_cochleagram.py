"""Cochleagram front end: gammatone ERB filterbank frame energies and gammatone resynthesis."""

from __future__ import annotations

import numpy as np

from ..exceptions import ParameterError
from ._base import FrontEnd, check_int, check_option
from ._gammatone import check_band, erb_centre_freqs, frame_energies_batch, resynthesize

__all__ = ["CochleagramTransformer", "compress"]

#: floor under the frame energy before the logarithm of ``compression="log"``
LOG_FLOOR = 1e-10

_COMPRESSIONS = {"none", "log", "cube-root"}


def compress(power, compression):
    """Compress frame energies: ``"none"``, ``"log"`` (floored at 1e-10) or ``"cube-root"``."""
    if compression == "log":
        return np.log(np.maximum(power, LOG_FLOOR))
    if compression == "cube-root":
        return np.cbrt(power)
    return power


class CochleagramTransformer(FrontEnd):
    """Gammatone cochleagram front end.

    A bank of 4th-order gammatone filters with ERB-spaced centre frequencies
    (the design of the ``gammatone`` package), the mean squared output of each
    channel per frame, then compression. As a front end it also resynthesises
    a waveform from a mask (gammatone resynthesis).

    Parameters
    ----------
    sr : int, default=16000
        Sample rate (Hz).
    n_channels : int, default=64
        Number of filters.
    fmin : float, default=50
        Lowest centre frequency (Hz).
    fmax : float or None, default=None
        Upper end of the band (Hz), at most ``sr / 2``; None means ``sr / 2``.
    frame_length : int, default=512
        Samples per frame.
    hop_length : int, default=256
        Samples between frames, at most ``frame_length``.
    compression : {"log", "cube-root", "none"}, default="log"
        Feature compression of the frame energies: ``log(max(E, 1e-10))``,
        ``E ** (1/3)`` or ``E``.

    Attributes
    ----------
    n_bins_ : int
        ``n_channels``.
    n_features_out_ : int
        ``n_channels``.
    centre_freqs_ : ndarray of shape (n_channels,)
        Centre frequencies (Hz), lowest first.

    See Also
    --------
    sksep.features.frame_energies : the function behind :meth:`power`.
    sksep.features.resynthesize : the function behind :meth:`apply_mask`.

    Notes
    -----
    Channels are ordered from low to high frequency (``gammatone``'s
    ``erb_filterbank`` with ``centre_freqs`` lists them high to low). Frame
    ``k`` is centred on sample ``k * hop_length`` with the filter outputs
    zero-padded at both ends, so there are ``1 + n_samples // hop_length``
    frames, like a centred STFT with the same hop. Energies match
    ``gammatone.filters.erb_filterbank`` framed this way to about 1e-12
    (relative); the filtering runs in a parallel numba kernel, more than 10x
    faster than ``gammatone.gtgram.gtgram`` (``benchmarks/cochleagram.py``).

    Resynthesis with an all-ones mask, 16 kHz speech, default settings:
    reconstruction SNR 18 to 41 dB (median 37 dB over 20 utterances of the
    bundled sample), STOI above 0.9999 (the losses are the band edges below
    ``fmin`` / above the top channel and the filterbank's ripple);
    ``tests/test_resynthesis.py`` holds these on 6 test utterances.

    The original project's cochleagram is
    ``CochleagramTransformer(sr=8000, fmin=50, fmax=4000, frame_length=240, hop_length=120)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import CochleagramTransformer
    >>> y = np.random.default_rng(0).standard_normal(16000).astype("float32")
    >>> coch = CochleagramTransformer().fit([y])
    >>> coch.transform([y])[0].shape
    (63, 64)
    >>> coch.apply_mask(y, np.ones((63, 64))).shape
    (16000,)
    """

    _prefix = "coch"

    def __init__(self, sr=16000, n_channels=64, fmin=50.0, fmax=None, frame_length=512,
                 hop_length=256, compression="log"):
        self.sr = sr
        self.n_channels = n_channels
        self.fmin = fmin
        self.fmax = fmax
        self.frame_length = frame_length
        self.hop_length = hop_length
        self.compression = compression

    def _check_params(self):
        band = check_band(self.sr, self.n_channels, self.fmin, self.fmax)
        check_int(self.frame_length, "frame_length", low=1)
        check_int(self.hop_length, "hop_length", low=1)
        if self.hop_length > self.frame_length:
            raise ParameterError(
                f"hop_length={self.hop_length} is longer than frame_length={self.frame_length}: "
                "samples between frames would be skipped"
            )
        check_option(self.compression, "compression", _COMPRESSIONS)
        return band

    def fit(self, X, y=None):
        super().fit(X, y)
        self.centre_freqs_ = erb_centre_freqs(self.sr, self.n_channels, self.fmin, self.fmax)
        return self

    def _min_samples(self):
        return int(self.frame_length)

    @property
    def n_bins(self):
        """Number of channels (mask width)."""
        return int(self.n_channels)

    def _energies(self, ys):
        sr, n_channels, fmin, fmax = self._check_params()
        return frame_energies_batch(ys, sr, n_channels, fmin, fmax, self.frame_length,
                                    self.hop_length)

    def _power(self, y):
        return self._energies([y])[0]

    def _transform_all(self, ys):
        # one parallel numba call for all utterances
        return [compress(e, self.compression).astype(np.float32) for e in self._energies(ys)]

    def _apply_mask(self, y, mask):
        sr, _, fmin, fmax = self._check_params()
        return resynthesize(y, mask, sr, fmin, fmax, self.frame_length, self.hop_length)
