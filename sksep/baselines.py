"""Classical and oracle baselines with the enhancer interface, to sit in the same tables.

Every baseline is a scikit-learn estimator: ``fit(noisy, clean=None)`` learns
nothing (it checks its parameters, records ``sr_`` and returns ``self``),
``predict(noisy)`` returns one enhanced float32 waveform per utterance, each
exactly as long as its input, and ``score(noisy, clean)`` is the mean STOI.
So they work with :func:`sksep.metrics.evaluate`, the scorers,
``cross_validate`` and ``GridSearchCV`` like a trained
:class:`sksep.SpeechEnhancer`.

- :class:`SpectralGating`: ``noisereduce`` (stationary or non-stationary gating).
- :class:`SpectralSubtraction`: ``pyroomacoustics.denoise.apply_spectral_sub``.
- :class:`IterativeWiener`: ``pyroomacoustics.denoise.apply_iterative_wiener``.
- :class:`OracleMask`: the ideal ratio or binary mask computed from the true
  clean speech. It reads the answer, so it is the ceiling of mask-based
  enhancement in a front end, not a competitor.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from ._validation import check_matching_sr, check_sr, check_waveform, check_waveforms
from .exceptions import AudioError, ParameterError

__all__ = ["SpectralGating", "SpectralSubtraction", "IterativeWiener", "OracleMask"]


def _check_number(value, name, *, low=None, high=None, integer=False, low_open=False):
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or not np.isfinite(value):
        what = "an integer" if integer else "a number"
        raise ParameterError(f"{name} must be {what}, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise ParameterError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and value > high:
        raise ParameterError(f"{name} must be <= {high}, got {value!r}")
    return value


class _Baseline(BaseEstimator):
    """Shared plumbing: no-op fit, per-utterance predict, mean-STOI score."""

    def _check_params(self):
        check_sr(self.sr)

    def fit(self, X, y=None):
        """Check the parameters and the audio; nothing is learned.

        Parameters
        ----------
        X : sequence of array-like or AudioCollection
            Noisy utterances at ``sr`` (only checked).
        y : ignored
            Clean utterances; accepted so the baseline fits wherever a trained
            enhancer does.

        Returns
        -------
        self
        """
        self._check_params()
        check_matching_sr(X, self.sr, owner=type(self).__name__)
        check_waveforms(X, name="X")
        self.sr_ = int(self.sr)
        return self

    def predict(self, X):
        """Enhance each noisy utterance.

        Parameters
        ----------
        X : sequence of array-like or AudioCollection
            Noisy utterances at ``sr_``.

        Returns
        -------
        enhanced : list of ndarray, float32
            One waveform per utterance, as long as its input.
        """
        check_is_fitted(self, "sr_")
        check_matching_sr(X, self.sr_, owner=type(self).__name__)
        out = []
        for y in check_waveforms(X, name="X"):
            enhanced = np.asarray(self._enhance(y), dtype=np.float32)
            out.append(_fit_length(enhanced, y.shape[0]))
        return out

    def score(self, X, y):
        """Mean STOI of ``predict(X)`` against the clean utterances ``y``.

        Utterances STOI cannot score are left out with a warning
        (see :data:`sksep.metrics.stoi_scorer`).
        """
        from .metrics import stoi_scorer

        return stoi_scorer(self, X, y)


def _fit_length(y, n):
    if y.shape[0] >= n:
        return np.ascontiguousarray(y[:n])
    return np.concatenate([y, np.zeros(n - y.shape[0], dtype=y.dtype)])


class SpectralGating(_Baseline):
    """Spectral gating noise reduction with ``noisereduce.reduce_noise``.

    The noise threshold of each frequency is estimated from the noisy utterance
    itself: over the whole signal (``stationary=True``) or as a running
    estimate over ``time_constant_s`` (``stationary=False``). In stationary
    mode an utterance shorter than ``n_fft`` samples is repeated cyclically up
    to ``n_fft`` samples for the noise statistics only (the gating STFT needs
    one full frame); the gate is applied to the utterance as it is, so the
    output keeps its length.

    Parameters
    ----------
    sr : int, default=16000
        Sample rate of the audio, in Hz.
    stationary : bool, default=False
        Stationary or non-stationary gating.
    prop_decrease : float, default=1.0
        How much of the gated noise to remove, 0 (none) to 1 (all).
    n_fft : int, default=1024
        FFT size of the gating STFT.
    time_constant_s : float, default=2.0
        Time over which the non-stationary noise floor is estimated, in seconds.
    n_std_thresh_stationary : float, default=1.5
        Threshold above the mean noise level, in standard deviations
        (stationary mode).
    thresh_n_mult_nonstationary : float, default=2.0
        Threshold as a multiple of the running noise floor (non-stationary mode).
    freq_mask_smooth_hz : float, default=500
        Smoothing of the gate over frequency, in Hz.
    time_mask_smooth_ms : float, default=50
        Smoothing of the gate over time, in milliseconds.

    Attributes
    ----------
    sr_ : int
        Sample rate, set by :meth:`fit`.

    See Also
    --------
    SpectralSubtraction, IterativeWiener : other classical baselines.
    OracleMask : the ideal-mask ceiling.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.baselines import SpectralGating
    >>> rng = np.random.default_rng(0)
    >>> noisy = [rng.normal(0, 0.1, 16000).astype(np.float32)]
    >>> out = SpectralGating().fit(noisy).predict(noisy)
    >>> out[0].shape, bool(np.std(out[0]) < np.std(noisy[0]))
    ((16000,), True)
    """

    def __init__(
        self,
        sr=16000,
        stationary=False,
        prop_decrease=1.0,
        n_fft=1024,
        time_constant_s=2.0,
        n_std_thresh_stationary=1.5,
        thresh_n_mult_nonstationary=2.0,
        freq_mask_smooth_hz=500,
        time_mask_smooth_ms=50,
    ):
        self.sr = sr
        self.stationary = stationary
        self.prop_decrease = prop_decrease
        self.n_fft = n_fft
        self.time_constant_s = time_constant_s
        self.n_std_thresh_stationary = n_std_thresh_stationary
        self.thresh_n_mult_nonstationary = thresh_n_mult_nonstationary
        self.freq_mask_smooth_hz = freq_mask_smooth_hz
        self.time_mask_smooth_ms = time_mask_smooth_ms

    def _check_params(self):
        super()._check_params()
        if not isinstance(self.stationary, (bool, np.bool_)):
            raise ParameterError(f"stationary must be True or False, got {self.stationary!r}")
        _check_number(self.prop_decrease, "prop_decrease", low=0.0, high=1.0)
        _check_number(self.n_fft, "n_fft", low=16, integer=True)
        _check_number(self.time_constant_s, "time_constant_s", low=0.0, low_open=True)
        _check_number(self.n_std_thresh_stationary, "n_std_thresh_stationary")
        _check_number(self.thresh_n_mult_nonstationary, "thresh_n_mult_nonstationary",
                      low=0.0, low_open=True)
        _check_number(self.freq_mask_smooth_hz, "freq_mask_smooth_hz", low=0.0, low_open=True)
        _check_number(self.time_mask_smooth_ms, "time_mask_smooth_ms", low=0.0, low_open=True)

    def _enhance(self, y):
        import noisereduce

        y_noise = None
        if self.stationary and y.shape[0] < int(self.n_fft):
            # The noise statistics are taken from an STFT of frames of n_fft samples, which
            # scipy cannot compute on fewer samples than the frame overlap: repeat the
            # utterance (it is its own noise estimate) to one full frame.
            y_noise = np.resize(y, int(self.n_fft))
        return noisereduce.reduce_noise(
            y=y,
            sr=self.sr_,
            y_noise=y_noise,
            stationary=bool(self.stationary),
            prop_decrease=float(self.prop_decrease),
            n_fft=int(self.n_fft),
            time_constant_s=float(self.time_constant_s),
            n_std_thresh_stationary=float(self.n_std_thresh_stationary),
            thresh_n_mult_nonstationary=float(self.thresh_n_mult_nonstationary),
            freq_mask_smooth_hz=float(self.freq_mask_smooth_hz),
            time_mask_smooth_ms=float(self.time_mask_smooth_ms),
            n_jobs=1,
            use_tqdm=False,
        )


def _delay_compensated(func, y, delay):
    """Run a frame-based filter that delays its output by ``delay`` samples, undoing the delay."""
    padded = np.concatenate([y, np.zeros(delay, dtype=y.dtype)]).astype(np.float64)
    return np.asarray(func(padded))[delay : delay + y.shape[0]]


def _check_even_frame(value, name):
    """A frame length for the 50 %-overlap pyroomacoustics filters: an even integer >= 16."""
    _check_number(value, name, low=16, integer=True)
    if value % 2:
        raise ParameterError(f"{name} must be even, got {value!r}")
    return value


class SpectralSubtraction(_Baseline):
    """Spectral subtraction with ``pyroomacoustics.denoise.apply_spectral_sub``.

    The noise power of each frequency is the minimum over the last
    ``lookback`` frames; the gain pushes bins towards at most ``db_reduc`` dB
    of attenuation. The STFT uses ``n_fft`` samples with 50 % overlap; its
    delay of ``n_fft // 2`` samples is removed, so the output is aligned with
    the input.

    Parameters
    ----------
    sr : int, default=16000
        Sample rate of the audio, in Hz (recorded; the filter works in samples).
    n_fft : int, default=512
        FFT size (frame length), even.
    db_reduc : float, default=25
        Largest reduction of a bin, in dB.
    lookback : int, default=12
        Frames over which the noise minimum is tracked.
    beta : float, default=30
        Over-subtraction factor.
    alpha : float, default=1
        Exponent shaping the transition towards ``db_reduc``.

    Attributes
    ----------
    sr_ : int
        Sample rate, set by :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.baselines import SpectralSubtraction
    >>> noisy = [np.random.default_rng(0).normal(0, 0.1, 8000)]
    >>> SpectralSubtraction().fit(noisy).predict(noisy)[0].shape
    (8000,)
    """

    def __init__(self, sr=16000, n_fft=512, db_reduc=25, lookback=12, beta=30, alpha=1):
        self.sr = sr
        self.n_fft = n_fft
        self.db_reduc = db_reduc
        self.lookback = lookback
        self.beta = beta
        self.alpha = alpha

    def _check_params(self):
        super()._check_params()
        _check_even_frame(self.n_fft, "n_fft")
        _check_number(self.db_reduc, "db_reduc", low=0.0, low_open=True)
        _check_number(self.lookback, "lookback", low=1, integer=True)
        _check_number(self.beta, "beta", low=0.0, low_open=True)
        _check_number(self.alpha, "alpha", low=0.0, low_open=True)

    def _enhance(self, y):
        from pyroomacoustics.denoise import apply_spectral_sub

        def run(x):
            return apply_spectral_sub(x, nfft=int(self.n_fft), db_reduc=float(self.db_reduc),
                                      lookback=int(self.lookback), beta=float(self.beta),
                                      alpha=float(self.alpha))

        return _delay_compensated(run, y, int(self.n_fft) // 2)


class IterativeWiener(_Baseline):
    """Iterative Wiener filtering with ``pyroomacoustics.denoise.apply_iterative_wiener``.

    Each frame's speech spectrum is modelled by an all-pole (LPC) fit refined
    over ``iterations``; frames whose energy stays under ``thresh`` update the
    noise estimate. Frames of ``frame_len`` samples, 50 % overlap; the
    ``frame_len // 2`` samples of delay are removed.

    Parameters
    ----------
    sr : int, default=16000
        Sample rate of the audio, in Hz (recorded; the filter works in samples).
    frame_len : int, default=512
        Frame length in samples, even.
    lpc_order : int, default=20
        Order of the all-pole speech model.
    iterations : int, default=2
        Wiener refinements per frame.
    alpha : float, default=0.8
        Smoothing of the noise estimate, in [0, 1].
    thresh : float, default=0.01
        Energy below which a frame counts as noise only.

    Attributes
    ----------
    sr_ : int
        Sample rate, set by :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.baselines import IterativeWiener
    >>> noisy = [np.random.default_rng(0).normal(0, 0.1, 8000)]
    >>> IterativeWiener().fit(noisy).predict(noisy)[0].shape
    (8000,)
    """

    def __init__(self, sr=16000, frame_len=512, lpc_order=20, iterations=2, alpha=0.8,
                 thresh=0.01):
        self.sr = sr
        self.frame_len = frame_len
        self.lpc_order = lpc_order
        self.iterations = iterations
        self.alpha = alpha
        self.thresh = thresh

    def _check_params(self):
        super()._check_params()
        _check_even_frame(self.frame_len, "frame_len")
        _check_number(self.lpc_order, "lpc_order", low=1, integer=True)
        if self.lpc_order >= self.frame_len:
            raise ParameterError(
                f"lpc_order must be below frame_len={self.frame_len}, got {self.lpc_order!r}"
            )
        _check_number(self.iterations, "iterations", low=1, integer=True)
        _check_number(self.alpha, "alpha", low=0.0, high=1.0)
        _check_number(self.thresh, "thresh", low=0.0)

    def _enhance(self, y):
        from pyroomacoustics.denoise import apply_iterative_wiener

        def run(x):
            return apply_iterative_wiener(x, frame_len=int(self.frame_len),
                                          lpc_order=int(self.lpc_order),
                                          iterations=int(self.iterations),
                                          alpha=float(self.alpha), thresh=float(self.thresh))

        return _delay_compensated(run, y, int(self.frame_len) // 2)


class OracleMask(BaseEstimator):
    """The ideal ratio or binary mask, computed from the true clean speech: the ceiling.

    ``predict(noisy, clean)`` takes noise = noisy - clean, builds the ideal
    mask in the front end (:func:`sksep.targets.ideal_ratio_mask` or
    :func:`~sksep.targets.ideal_binary_mask`), applies it to the noisy signal
    and resynthesises (``frontend.apply_mask``). It needs the clean signal, so
    it is not an enhancer anyone could deploy: report it as the upper bound a
    perfect mask estimator in this front end would reach, never as a
    competitor. The scorers in :mod:`sksep.metrics` know to pass it ``y``.

    Parameters
    ----------
    frontend : FrontEnd, optional
        A T-F front end such as :class:`sksep.features.STFTTransformer` or
        :class:`~sksep.features.CochleagramTransformer`; defaults to
        ``STFTTransformer()``. It is cloned in :meth:`fit`.
    kind : {"irm", "ibm"}, default="irm"
        Ideal ratio mask or ideal binary mask.
    beta : float, default=0.5
        IRM exponent (used when ``kind="irm"``).
    lc_db : float, default=-5.0
        IBM local criterion in dB (used when ``kind="ibm"``).

    Attributes
    ----------
    frontend_ : FrontEnd
        The clone of ``frontend`` that :meth:`predict` uses, its parameters
        checked; fitted on ``X`` when :meth:`fit` is given ``X`` (as a trained
        enhancer's front end is fitted on its training audio).
    sr_ : int
        Sample rate of the front end.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.baselines import OracleMask
    >>> from sksep.metrics import snr
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(16000) / 16000
    >>> clean = (np.sin(2 * np.pi * 300 * t) * (t < 0.5)).astype(np.float32)
    >>> noisy = clean + rng.normal(0, 0.3, clean.size).astype(np.float32)
    >>> oracle = OracleMask().fit([noisy])
    >>> out = oracle.predict([noisy], [clean])
    >>> out[0].shape, bool(snr(clean, out[0]) > snr(clean, noisy))
    ((16000,), True)
    """

    _predict_needs_clean = True

    def __init__(self, frontend=None, kind="irm", beta=0.5, lc_db=-5.0):
        self.frontend = frontend
        self.kind = kind
        self.beta = beta
        self.lc_db = lc_db

    def fit(self, X=None, y=None):
        """Check the parameters, clone the front end and fit the clone on ``X``.

        Nothing is learned: the front end's fit only checks its parameters and
        the audio. Its parameters are checked here, including those that only
        resynthesis needs (``check_resynthesis``), so that a bad front end fails
        now rather than in :meth:`predict`.

        Parameters
        ----------
        X : sequence of array-like or AudioCollection, optional
            Noisy utterances at the front end's rate; the front end is fitted
            on them. Without ``X`` the front end's parameters are still checked.
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        ParameterError
            If a parameter of the oracle or of its front end is invalid.
        AudioError
            If ``X`` is not at the front end's rate, or holds a waveform the
            front end cannot take (e.g. shorter than one frame).
        """
        if self.kind not in ("irm", "ibm"):
            raise ParameterError(f"kind must be 'irm' or 'ibm', got {self.kind!r}")
        _check_number(self.beta, "beta", low=0.0, low_open=True)
        _check_number(self.lc_db, "lc_db")
        if self.frontend is None:
            from .features import STFTTransformer

            frontend = STFTTransformer()
        else:
            if not (hasattr(self.frontend, "power") and hasattr(self.frontend, "apply_mask")):
                raise ParameterError(
                    "frontend must be a T-F front end with power() and apply_mask() "
                    f"(e.g. sksep.features.STFTTransformer()), got {self.frontend!r}"
                )
            frontend = clone(self.frontend)
        sr = check_sr(frontend.sr, name="frontend.sr")
        if hasattr(frontend, "check_resynthesis"):
            frontend.check_resynthesis()  # the front end's parameters, resynthesis included
        if X is not None:
            check_matching_sr(X, sr, owner=type(self).__name__)
            if hasattr(frontend, "fit"):
                frontend.fit(X)
        self.frontend_ = frontend
        self.sr_ = sr
        return self

    def predict(self, X, clean=None):
        """Apply the ideal mask of each utterance to it.

        Parameters
        ----------
        X : sequence of array-like or AudioCollection
            Noisy utterances at ``sr_``.
        clean : sequence of array-like or AudioCollection
            The clean speech inside each noisy utterance (required: this is an
            oracle).

        Returns
        -------
        enhanced : list of ndarray, float32
            One waveform per utterance, as long as its input.

        Raises
        ------
        ParameterError
            If ``clean`` is not given or holds a different number of utterances.
        AudioError
            If a clean utterance is not as long as its noisy one.
        """
        check_is_fitted(self, "frontend_")
        if clean is None:
            raise ParameterError(
                "OracleMask.predict needs the clean speech, predict(noisy, clean): the oracle "
                "computes the ideal mask from the true clean signal (it is the ceiling of "
                "mask-based enhancement, not a competitor)"
            )
        check_matching_sr(X, self.sr_, owner=type(self).__name__)
        check_matching_sr(clean, self.sr_, owner=type(self).__name__)
        noisy = check_waveforms(X, name="X")
        clean = check_waveforms(clean, name="clean")
        if len(noisy) != len(clean):
            raise ParameterError(
                f"X holds {len(noisy)} utterances but clean holds {len(clean)}"
            )
        from .targets import ideal_binary_mask, ideal_ratio_mask

        out = []
        for i, (y, s) in enumerate(zip(noisy, clean, strict=True)):
            if y.shape != s.shape:
                raise AudioError(
                    f"X[{i}] has {y.shape[0]} samples but clean[{i}] has {s.shape[0]}; "
                    "the clean signal must be the one inside the mixture"
                )
            noise = y - s
            if self.kind == "irm":
                mask = ideal_ratio_mask(s, noise, self.frontend_, beta=self.beta)
            else:
                mask = ideal_binary_mask(s, noise, self.frontend_, lc_db=self.lc_db)
            enhanced = check_waveform(self.frontend_.apply_mask(y, mask), name="enhanced")
            out.append(_fit_length(enhanced, y.shape[0]))
        return out

    def score(self, X, y):
        """Mean STOI of ``predict(X, y)`` against the clean utterances ``y``."""
        from .metrics import stoi_scorer

        return stoi_scorer(self, X, y)
