"""Per-utterance quality scores: STOI, ESTOI, PESQ, SI-SDR and SNR.

Every function takes ``(clean, estimate, sr)``: the clean reference, the
signal to judge (an enhanced or a noisy waveform) of the same length, and
their sample rate in Hz. Bad input raises :class:`sksep.exceptions.AudioError`
(or :class:`~sksep.exceptions.ParameterError` for a bad option) with a message
naming the argument; :func:`sksep.metrics.evaluate` turns the ``AudioError`` of
one utterance into a NaN and a reason instead.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._validation import check_sr, check_waveform
from ..exceptions import AudioError, ParameterError

__all__ = ["stoi", "estoi", "pesq", "si_sdr", "snr", "mos_lqo_to_raw"]

# P.862.1 (narrow-band) and P.862.2 (wide-band) output mappings, as used by the
# ``pesq`` package: MOS-LQO = 0.999 + 4 / (1 + exp(-a * raw + b)).
_PESQ_MAPPING = {"nb": (1.4945, 4.6607), "wb": (1.3669, 3.8224)}
_PESQ_SR = {"nb": 8000, "wb": 16000}
_PESQ_MIN_SECONDS = 0.25  # the ITU reference code refuses shorter buffers
# Levels (RMS, dB re full scale) accepted by pesq(). The ``pesq`` package divides
# both signals by their joint peak and runs the ITU code in float32, which fails
# (NaN inside, "cannot convert float NaN to integer") once one signal is about
# 400 dB below the other. With both signals inside this window they are at most
# 300 dB apart; -150 dB is below the last bit of 24-bit audio (-144 dB), and
# +150 dB is an RMS about 3e7 times full scale.
_PESQ_LEVEL_RANGE_DB = (-150.0, 150.0)
# SI-SDR: a residual this many float64 epsilons (RMS, relative to the estimate's
# samples) or smaller is rounding noise of the float64 maths and of the estimate's
# own samples (measured: at most about 2 eps for scaled copies), not distortion.
_SI_SDR_ROUNDING_EPS = 16


def _check_pair(clean, estimate, sr, *, sr_required=True, dtype=np.float32):
    """Validate a (clean, estimate) pair; return arrays of ``dtype`` and the int sample rate.

    ``dtype=np.float64`` validates without a float32 round trip (for SI-SDR and SNR,
    whose maths must keep the inputs' full precision).
    """
    clean = check_waveform(clean, name="clean", allow_silent=False, dtype=dtype)
    estimate = check_waveform(estimate, name="estimate", dtype=dtype)
    if clean.shape != estimate.shape:
        raise AudioError(
            f"clean has {clean.shape[0]} samples but estimate has {estimate.shape[0]}; "
            "they must be the same length (trim or pad the estimate to the clean signal)"
        )
    if sr is None and not sr_required:
        return clean, estimate, None
    return clean, estimate, check_sr(sr)


def _stoi(clean, estimate, sr, extended):
    from pystoi import stoi as pystoi_stoi

    clean, estimate, sr = _check_pair(clean, estimate, sr)
    # pystoi's ESTOI (row_col_normalize) adds EPS * np.random.standard_normal(...)
    # from NumPy's global generator: seed it with a constant for the call, so the
    # score is reproducible, and put the caller's global random state back after.
    state = np.random.get_state()  # noqa: NPY002 (pystoi uses the legacy global generator)
    try:
        np.random.seed(0)  # noqa: NPY002
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = pystoi_stoi(clean, estimate, sr, extended=extended)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    for w in caught:
        if "Not enough STFT frames" in str(w.message):
            name = "ESTOI" if extended else "STOI"
            raise AudioError(
                f"clean is too short for {name}: after dropping its silent frames fewer than "
                f"30 frames (about 0.4 s of speech at 10 kHz) remain "
                f"(clean has {clean.shape[0]} samples at {sr} Hz)"
            )
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return float(value)


def stoi(clean, estimate, sr):
    """Short-Time Objective Intelligibility (Taal et al. 2011) of ``estimate``.

    Computed with :func:`pystoi.stoi`, which resamples both signals to 10 kHz
    internally and drops the frames where ``clean`` is more than 40 dB below its
    loudest frame before scoring.

    The result is deterministic, and NumPy's global random state is left as it
    was: ``pystoi`` draws a tiny dither from ``np.random`` for ESTOI, so the call
    runs with that generator seeded with a constant and restores its state
    afterwards (so it is not thread-safe against other threads drawing from
    ``np.random`` during the call).

    Parameters
    ----------
    clean : array-like of shape (n_samples,)
        Clean reference speech; must not be silent.
    estimate : array-like of shape (n_samples,)
        Signal to judge, as long as ``clean``.
    sr : int
        Sample rate of both signals, in Hz.

    Returns
    -------
    score : float
        Roughly 0 (unintelligible) to 1 (identical to ``clean``); higher is better.

    Raises
    ------
    AudioError
        If a signal is not a finite mono waveform, the lengths differ, ``clean``
        is silent, or less than about 0.4 s of speech is left after silence
        removal (``pystoi`` itself would warn and return 1e-5).

    See Also
    --------
    estoi : the extended measure, better for modulated noise.
    evaluate : many utterances and metrics at once, in parallel.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.metrics import stoi
    >>> rng = np.random.default_rng(0)
    >>> sr = 16000
    >>> t = np.arange(2 * sr) / sr
    >>> clean = np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    >>> round(stoi(clean, clean, sr), 3)
    1.0
    >>> stoi(clean, clean + rng.normal(0, 1, clean.size), sr) < 0.9
    True
    """
    return _stoi(clean, estimate, sr, extended=False)


def estoi(clean, estimate, sr):
    """Extended STOI (Jensen & Taal 2016) of ``estimate``.

    Same input rules as :func:`stoi` (``pystoi`` with ``extended=True``;
    resampled to 10 kHz internally). ESTOI also credits spectral correlation
    within a frame and so copes better with modulated maskers.

    ``pystoi`` adds a dither of about 2e-16 drawn from ``np.random`` here; it is
    drawn with that global generator seeded with a constant, and the generator's
    state is put back afterwards, so the score is reproducible (the same value on
    every call and in every process) and the caller's random numbers are not
    disturbed. It may therefore differ from ``pystoi.stoi(..., extended=True)``
    called directly in the last digits.

    Parameters
    ----------
    clean : array-like of shape (n_samples,)
        Clean reference speech; must not be silent.
    estimate : array-like of shape (n_samples,)
        Signal to judge, as long as ``clean``.
    sr : int
        Sample rate of both signals, in Hz.

    Returns
    -------
    score : float
        About 0 to 1; higher is better.

    Raises
    ------
    AudioError
        As for :func:`stoi`.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.metrics import estoi
    >>> sr = 16000
    >>> t = np.arange(2 * sr) / sr
    >>> clean = np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    >>> round(estoi(clean, clean, sr), 3)
    1.0
    """
    return _stoi(clean, estimate, sr, extended=True)


def _resample(y, orig_sr, target_sr):
    from ..io import resample  # soxr, high quality: the project's one resampler

    return resample(y, orig_sr, target_sr)


def pesq(clean, estimate, sr, mode="nb", raw=False):
    """Perceptual Evaluation of Speech Quality (ITU-T P.862) of ``estimate``.

    Computed with the ``pesq`` package (the ITU reference C code). Narrow-band
    mode (``"nb"``) scores at 8 kHz, wide-band mode (``"wb"``, P.862.2) at
    16 kHz; signals at another rate are first resampled here (soxr, high
    quality). Wide-band needs ``sr >= 16000`` and narrow-band ``sr >= 8000``:
    PESQ would not be meaningful on audio that lacks the band it listens to.
    Narrow-band PESQ of 16 kHz audio is therefore computed on the signals
    resampled to 8 kHz, so it differs from calling
    ``pesq.pesq(16000, clean, estimate, "nb")`` on the 16 kHz signals directly
    (which runs the narrow-band model at 16 kHz); it equals
    ``pesq.pesq(8000, ...)`` on the resampled signals.

    PESQ aligns the levels of the two signals itself, so their absolute level
    does not change the score, but the reference code fails on extreme levels
    (it computes in float32): each signal's level (RMS, in dB re full scale,
    where a full-scale sine is -3 dB) must lie between -150 dB and +150 dB.

    The value returned by default is **MOS-LQO**: the raw P.862 score mapped by
    P.862.1 (narrow-band, range about 1.02 to 4.55) or P.862.2 (wide-band,
    about 1.04 to 4.64). Pass ``raw=True`` for the raw P.862 score (about -0.5
    to 4.5; what older papers call "PESQ" or "PESQMOS"), recovered by inverting
    the mapping with :func:`mos_lqo_to_raw`.

    Parameters
    ----------
    clean : array-like of shape (n_samples,)
        Clean reference speech; must not be silent.
    estimate : array-like of shape (n_samples,)
        Signal to judge, as long as ``clean``; must not be silent.
    sr : int
        Sample rate of both signals, in Hz.
    mode : {"nb", "wb"}, default="nb"
        Narrow-band (8 kHz, P.862 + P.862.1) or wide-band (16 kHz, P.862.2).
    raw : bool, default=False
        Return the raw P.862 score instead of MOS-LQO.

    Returns
    -------
    score : float
        Higher is better.

    Raises
    ------
    AudioError
        If a signal is invalid, the lengths differ, either signal is silent,
        a signal's level is outside -150 to +150 dB, the signals are shorter
        than 0.25 s, PESQ finds no utterance (speech) in ``clean``, or the
        reference code fails on the signals in another way.
    ParameterError
        If ``mode`` is unknown or ``sr`` is too low for it.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.metrics import pesq
    >>> rng = np.random.default_rng(0)
    >>> sr = 16000
    >>> t = np.arange(3 * sr) / sr
    >>> clean = np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    >>> round(pesq(clean, clean, sr), 2)  # the narrow-band MOS-LQO ceiling
    4.55
    >>> round(pesq(clean, clean, sr, mode="wb"), 2)
    4.64
    >>> round(pesq(clean, clean, sr, raw=True), 2)  # raw P.862
    4.5
    """
    if mode not in _PESQ_SR:
        raise ParameterError(f"mode must be 'nb' (narrow-band) or 'wb' (wide-band), got {mode!r}")
    clean, estimate, sr = _check_pair(clean, estimate, sr)
    target_sr = _PESQ_SR[mode]
    if sr < target_sr:
        raise ParameterError(
            f"{'wide' if mode == 'wb' else 'narrow'}-band PESQ (mode={mode!r}) needs audio "
            f"sampled at {target_sr} Hz or more, got sr={sr}"
            + ("; use mode='nb'" if mode == "wb" and sr >= 8000 else "")
        )
    if clean.shape[0] < _PESQ_MIN_SECONDS * sr:
        raise AudioError(
            f"clean is too short for PESQ: {clean.shape[0]} samples at {sr} Hz "
            f"({clean.shape[0] / sr:.3f} s); at least {_PESQ_MIN_SECONDS} s is needed"
        )
    if not np.any(estimate):
        raise AudioError("estimate is silent (all samples are zero); PESQ is undefined for it")
    low, high = _PESQ_LEVEL_RANGE_DB
    for name, y in (("clean", clean), ("estimate", estimate)):
        level = _level_db(y)
        if not low <= level <= high:
            raise AudioError(
                f"{name} is too {'quiet' if level < low else 'loud'} for PESQ: its level is "
                f"{level:.1f} dB re full scale (RMS); PESQ handles {low:.0f} to +{high:.0f} dB"
                + (" (audio is expected in [-1, 1])" if level > high else "")
            )
    if sr != target_sr:
        clean = _resample(clean, sr, target_sr)
        estimate = _resample(estimate, sr, target_sr)

    import pesq as pesq_pkg

    try:
        value = pesq_pkg.pesq(target_sr, clean, estimate, mode)
    except pesq_pkg.NoUtterancesError as exc:
        raise AudioError(
            "PESQ found no utterance in clean (no speech-like activity above its threshold)"
        ) from exc
    except pesq_pkg.BufferTooShortError as exc:
        raise AudioError(
            f"clean is too short for PESQ ({clean.shape[0]} samples at {target_sr} Hz after "
            f"resampling); at least {_PESQ_MIN_SECONDS} s is needed"
        ) from exc
    except ValueError as exc:  # e.g. "cannot convert float NaN to integer" from the C code
        raise AudioError(
            f"PESQ failed on clean and estimate (levels {_level_db(clean):.1f} and "
            f"{_level_db(estimate):.1f} dB re full scale): the pesq package raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    value = float(value)
    return mos_lqo_to_raw(value, mode=mode) if raw else value


def mos_lqo_to_raw(mos_lqo, mode="nb"):
    """Invert the P.862.1 / P.862.2 mapping: MOS-LQO back to the raw P.862 score.

    The ``pesq`` package, like the ITU reference code, reports MOS-LQO:
    ``0.999 + 4 / (1 + exp(-a * raw + b))`` with ``(a, b) = (1.4945, 4.6607)``
    for narrow-band (P.862.1) and ``(1.3669, 3.8224)`` for wide-band (P.862.2).
    This function solves that for ``raw``. The package rounds MOS-LQO to
    float32, so the result is exact to about 1e-5.

    Parameters
    ----------
    mos_lqo : float or array-like
        MOS-LQO values, strictly between 0.999 and 4.999 (NaN passes through).
    mode : {"nb", "wb"}, default="nb"
        Which mapping produced ``mos_lqo``.

    Returns
    -------
    raw : float or ndarray
        Raw P.862 scores (a float for a scalar input).

    Raises
    ------
    ParameterError
        If ``mode`` is unknown or a value lies outside the mapping's range.

    Examples
    --------
    >>> from sksep.metrics import mos_lqo_to_raw
    >>> round(mos_lqo_to_raw(4.5486), 3)
    4.5
    >>> round(mos_lqo_to_raw(2.0), 3)
    2.384
    """
    if mode not in _PESQ_MAPPING:
        raise ParameterError(f"mode must be 'nb' or 'wb', got {mode!r}")
    a, b = _PESQ_MAPPING[mode]
    m = np.asarray(mos_lqo, dtype=float)
    finite = m[~np.isnan(m)]
    if np.any((finite <= 0.999) | (finite >= 4.999)):
        raise ParameterError(
            f"mos_lqo must lie strictly between 0.999 and 4.999 (the range of the "
            f"P.862.{1 if mode == 'nb' else 2} mapping), got {mos_lqo!r}"
        )
    with np.errstate(invalid="ignore"):
        raw = (b - np.log(4.0 / (m - 0.999) - 1.0)) / a
    return float(raw) if raw.ndim == 0 else raw


def _level_db(y):
    """RMS level of ``y`` in dB re full scale (computed in float64: no overflow)."""
    power = float(np.mean(np.square(y, dtype=np.float64)))
    return 10.0 * math.log10(power) if power > 0.0 else -math.inf


def si_sdr(clean, estimate, sr=None):
    """Scale-invariant signal-to-distortion ratio (Le Roux et al. 2019), in dB.

    Both signals are made zero-mean; ``clean`` is scaled by the least-squares
    gain ``<estimate, clean> / <clean, clean>`` to give the target, and the
    score is ``10 log10(|target|^2 / |estimate - target|^2)``. Rescaling the
    estimate does not change it. The maths is done in float64 on the inputs as
    given (float64 input is not rounded to float32 first).

    Parameters
    ----------
    clean : array-like of shape (n_samples,)
        Clean reference; must not be silent.
    estimate : array-like of shape (n_samples,)
        Signal to judge, as long as ``clean``; must not be silent.
    sr : int, optional
        Accepted (and checked when given) so that every metric has the same
        signature; SI-SDR does not depend on it.

    Returns
    -------
    score : float
        In dB; higher is better. ``inf`` for an exact copy or a copy scaled in
        float64 (e.g. ``si_sdr(s, 3 * s)``): a residual no larger than float64
        rounding of the estimate's samples (16 epsilons, RMS; about -290 dB)
        counts as none. A copy scaled in float32 carries float32 rounding (about
        1e-7 of each sample), which is real distortion of those samples: about
        150 dB.

    Raises
    ------
    AudioError
        If a signal is invalid, the lengths differ, or a signal is silent
        (constant) after removing its mean.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.metrics import si_sdr
    >>> rng = np.random.default_rng(0)
    >>> s = rng.normal(size=16000)
    >>> e = rng.normal(size=16000)
    >>> round(si_sdr(s, 0.5 * s + 0.1 * e), 1)  # 10 log10(0.25 / 0.01), whatever the gain
    14.0
    """
    clean, estimate, _ = _check_pair(clean, estimate, sr, sr_required=False, dtype=np.float64)
    clean, estimate = _power_of_two_scaled(clean, estimate)
    s = clean - clean.mean()
    e = estimate - estimate.mean()
    s_energy = float(np.dot(s, s))
    if s_energy == 0.0:
        raise AudioError("clean is constant (silent once its mean is removed); SI-SDR is undefined")
    if not np.any(e):
        raise AudioError(
            "estimate is constant (silent once its mean is removed); SI-SDR is undefined"
        )
    target = (np.dot(e, s) / s_energy) * s
    residual = e - target
    noise_energy = float(np.dot(residual, residual))
    rounding = (_SI_SDR_ROUNDING_EPS * np.finfo(np.float64).eps) ** 2 * np.dot(estimate, estimate)
    if noise_energy <= rounding:
        noise_energy = 0.0
    return _db(float(np.dot(target, target)), noise_energy)


def snr(clean, estimate, sr=None):
    """Signal-to-noise ratio of ``estimate`` against ``clean``, in dB.

    ``10 log10(|clean|^2 / |estimate - clean|^2)``: everything in ``estimate``
    that is not ``clean`` (sample by sample, no rescaling) counts as noise.
    Computed in float64 on the inputs as given (no float32 rounding first).

    Parameters
    ----------
    clean : array-like of shape (n_samples,)
        Clean reference; must not be silent.
    estimate : array-like of shape (n_samples,)
        Signal to judge, as long as ``clean``.
    sr : int, optional
        Accepted (and checked when given) for a uniform signature; unused.

    Returns
    -------
    score : float
        In dB; higher is better; ``inf`` when ``estimate`` equals ``clean``.

    Raises
    ------
    AudioError
        If a signal is invalid, the lengths differ or ``clean`` is silent.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.metrics import snr
    >>> clean = np.ones(100)
    >>> round(snr(clean, clean + 0.1), 3)
    20.0
    """
    clean, estimate, _ = _check_pair(clean, estimate, sr, sr_required=False, dtype=np.float64)
    clean, estimate = _power_of_two_scaled(clean, estimate)
    residual = estimate - clean
    return _db(float(np.dot(clean, clean)), float(np.dot(residual, residual)))


def _power_of_two_scaled(clean, estimate):
    """Both signals scaled by one power of two so that their joint peak is in [0.5, 1).

    Exact (a power-of-two factor changes only the exponents) and leaves SI-SDR and
    SNR unchanged, but keeps their sums of squares from overflowing to inf or
    underflowing to 0 for float64 samples far outside [-1, 1] (e.g. 1e200, 1e-200).
    """
    peak = max(float(np.max(np.abs(clean))), float(np.max(np.abs(estimate))))
    if peak == 0.0:
        return clean, estimate
    exponent = math.frexp(peak)[1]
    return np.ldexp(clean, -exponent), np.ldexp(estimate, -exponent)


def _db(signal_energy, noise_energy):
    if noise_energy == 0.0:
        return math.inf
    if signal_energy == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal_energy / noise_energy)
