"""STFT front end: log-magnitude (or magnitude / power) spectra and masked resynthesis."""

from __future__ import annotations

import librosa
import numpy as np
from scipy.signal import check_COLA, get_window

from .._validation import check_sr
from ..exceptions import ParameterError
from ._base import FrontEnd, check_int, check_option

__all__ = ["STFTTransformer"]

#: floor under the magnitude before the logarithm of ``scale="log"``
LOG_FLOOR = 1e-5


class STFTTransformer(FrontEnd):
    """Short-time Fourier transform front end.

    Maps each utterance to ``(n_frames, 1 + n_fft // 2)`` spectral features and,
    as a front end, resynthesises a waveform from a mask (noisy phase, inverse
    STFT).

    Parameters
    ----------
    sr : int, default=16000
        Sample rate of the audio (Hz). Audio collections carrying another rate
        are refused.
    n_fft : int, default=512
        FFT length; ``1 + n_fft // 2`` frequency bins.
    hop_length : int, default=256
        Samples between frames.
    win_length : int or None, default=None
        Window length, ``<= n_fft``; None means ``n_fft``. ``hop_length``
        may not exceed it.
    window : str, default="hann"
        Window name for :func:`scipy.signal.get_window` (periodic).
    center : bool, default=True
        Centre frame ``k`` on sample ``k * hop_length`` (zero padding), which
        gives ``1 + n_samples // hop_length`` frames and aligns the frames with
        every other sksep front end of the same hop. ``center=False`` gives
        ``1 + (n_samples - n_fft) // hop_length`` frames and breaks that
        alignment; it is for features only (:meth:`apply_mask` refuses it, as
        the ends of the signal would not be resynthesised).
    scale : {"log", "magnitude", "power"}, default="log"
        Feature compression: ``log(max(|S|, 1e-5))``, ``|S|`` or ``|S|**2``.

    Attributes
    ----------
    n_bins_ : int
        Number of frequency bins, ``1 + n_fft // 2``.
    n_features_out_ : int
        Same as ``n_bins_``.

    See Also
    --------
    CochleagramTransformer : the gammatone front end.
    sksep.targets.ideal_ratio_mask : masks on :meth:`power`.

    Notes
    -----
    :meth:`power` is ``|S|**2`` of :func:`librosa.stft` with these settings.
    :meth:`apply_mask` multiplies the complex noisy STFT by the mask and inverts
    it with :func:`librosa.istft`; it requires a window/hop pair that satisfies
    the constant-overlap-add condition (checked with
    :func:`scipy.signal.check_COLA`) with ``hop_length <= win_length / 2``,
    e.g. Hann with ``hop_length`` of ``win_length / 2`` or ``/ 4``
    (:meth:`check_resynthesis`). An all-ones mask then returns the input to
    within float32 rounding (far better than 40 dB SNR). The original
    project's settings are ``STFTTransformer(sr=8000, n_fft=240,
    hop_length=120)`` (121 bins; its 180-sample hop is not COLA for Hann).

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import STFTTransformer
    >>> y = np.random.default_rng(0).standard_normal(8000).astype("float32")
    >>> stft = STFTTransformer(sr=8000, n_fft=240, hop_length=120).fit([y])
    >>> stft.transform([y])[0].shape
    (67, 121)
    >>> y_hat = stft.apply_mask(y, np.ones((67, 121)))
    >>> float(np.max(np.abs(y_hat - y))) < 1e-4
    True
    """

    _prefix = "stft"

    def __init__(self, sr=16000, n_fft=512, hop_length=256, win_length=None, window="hann",
                 center=True, scale="log"):
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.win_length = win_length
        self.window = window
        self.center = center
        self.scale = scale

    # -- parameters ------------------------------------------------------------
    def _check_params(self):
        check_sr(self.sr)
        check_int(self.n_fft, "n_fft", low=2)
        check_int(self.hop_length, "hop_length", low=1)
        if self.win_length is not None:
            check_int(self.win_length, "win_length", low=1, high=self.n_fft)
        if int(self.hop_length) > self._win_length:
            raise ParameterError(
                f"hop_length={self.hop_length} is longer than the window ({self._win_length} "
                "samples): the samples between frames would be skipped"
            )
        try:
            win = get_window(self.window, self._win_length, fftbins=True)
        except (ValueError, TypeError) as exc:
            raise ParameterError(
                f"window={self.window!r} is not a window scipy knows: {exc}"
            ) from exc
        if not np.isfinite(win).all() or not np.any(win):
            what = "all-zero" if np.isfinite(win).all() else "non-finite"
            raise ParameterError(
                f"window={self.window!r} gives {what} weights; choose a window with finite, "
                "non-zero weights"
            )
        if not isinstance(self.center, (bool, np.bool_)):
            raise ParameterError(f"center must be True or False, got {self.center!r}")
        check_option(self.scale, "scale", {"log", "magnitude", "power"})

    @property
    def _win_length(self):
        return self.n_fft if self.win_length is None else self.win_length

    def _min_samples(self):
        return int(self.n_fft)

    @property
    def n_bins(self):
        """Number of frequency bins (mask width), ``1 + n_fft // 2``."""
        return 1 + int(self.n_fft) // 2

    def n_frames(self, n_samples):
        """Frames of an ``n_samples`` utterance (``1 + n // hop_length`` when centred)."""
        if self.center:
            return 1 + int(n_samples) // int(self.hop_length)
        return 1 + (int(n_samples) - int(self.n_fft)) // int(self.hop_length)

    # -- signal processing -------------------------------------------------------
    def _stft(self, y):
        return librosa.stft(
            y, n_fft=self.n_fft, hop_length=self.hop_length, win_length=self._win_length,
            window=self.window, center=self.center,
        )

    def _power(self, y):
        S = self._stft(y)
        return (S.real**2 + S.imag**2).T

    def _features(self, y):
        mag = np.abs(self._stft(y)).T
        if self.scale == "log":
            out = np.log(np.maximum(mag, LOG_FLOOR))
        elif self.scale == "magnitude":
            out = mag
        else:
            out = mag**2
        return np.ascontiguousarray(out, dtype=np.float32)

    def _check_resynthesis(self):
        """Resynthesis needs ``center=True`` (else no full frame covers the ends
        of the signal), ``hop_length <= win_length // 2`` (else the last
        centred frame can end before the last samples) and a window/hop pair
        that satisfies the constant-overlap-add condition.
        """
        hop, win_length = int(self.hop_length), self._win_length
        if not self.center:
            raise ParameterError(
                "apply_mask needs center=True: with center=False no full frame covers the "
                f"first sample and the last (n_samples - n_fft) % hop_length samples (up to "
                f"{hop - 1} here), so they would come back as zeros"
            )
        win = get_window(self.window, win_length, fftbins=True)
        if not check_COLA(win, win_length, win_length - hop):
            raise ParameterError(
                f"apply_mask needs a window/hop pair that satisfies COLA; window={self.window!r} "
                f"of {win_length} samples with hop_length={hop} does not "
                f"(for Hann use hop_length={win_length // 2} or {win_length // 4})"
            )
        if hop > win_length // 2:
            raise ParameterError(
                f"apply_mask needs hop_length <= win_length // 2 ({win_length // 2}), got "
                f"hop_length={hop}: the last frame, centred on the last multiple of the hop, "
                f"would end up to {hop - 1 - win_length // 2} samples before the signal does"
            )

    def _apply_mask(self, y, mask):
        self._check_resynthesis()  # apply_mask has checked the parameters
        S = self._stft(y) * mask.T
        return librosa.istft(
            S, hop_length=self.hop_length, win_length=self._win_length, n_fft=self.n_fft,
            window=self.window, center=self.center, length=len(y),
        )
