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


def _check_pair(clean, estimate, sr, *, sr_required=True):
    """Validate a (clean, estimate) pair; return float32 arrays and the int sample rate."""
    clean = check_waveform(clean, name="clean", allow_silent=False)
    estimate = check_waveform(estimate, name="estimate")
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
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = pystoi_stoi(clean, estimate, sr, extended=extended)
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
        the signals are shorter than 0.25 s, or PESQ finds no utterance
        (speech) in ``clean``.
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


def si_sdr(clean, estimate, sr=None):
    """Scale-invariant signal-to-distortion ratio (Le Roux et al. 2019), in dB.

    Both signals are made zero-mean; ``clean`` is scaled by the least-squares
    gain ``<estimate, clean> / <clean, clean>`` to give the target, and the
    score is ``10 log10(|target|^2 / |estimate - target|^2)``. Rescaling the
    estimate does not change it.

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
        In dB; higher is better; ``inf`` for an exact (scaled) copy.

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
    clean, estimate, _ = _check_pair(clean, estimate, sr, sr_required=False)
    s = clean.astype(np.float64) - clean.mean(dtype=np.float64)
    e = estimate.astype(np.float64) - estimate.mean(dtype=np.float64)
    s_energy = float(np.dot(s, s))
    if s_energy == 0.0:
        raise AudioError("clean is constant (silent once its mean is removed); SI-SDR is undefined")
    if not np.any(e):
        raise AudioError(
            "estimate is constant (silent once its mean is removed); SI-SDR is undefined"
        )
    target = (np.dot(e, s) / s_energy) * s
    return _db(float(np.dot(target, target)), float(np.sum((e - target) ** 2)))


def snr(clean, estimate, sr=None):
    """Signal-to-noise ratio of ``estimate`` against ``clean``, in dB.

    ``10 log10(|clean|^2 / |estimate - clean|^2)``: everything in ``estimate``
    that is not ``clean`` (sample by sample, no rescaling) counts as noise.

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
    clean, estimate, _ = _check_pair(clean, estimate, sr, sr_required=False)
    s = clean.astype(np.float64)
    residual = estimate.astype(np.float64) - s
    return _db(float(np.dot(s, s)), float(np.dot(residual, residual)))


def _db(signal_energy, noise_energy):
    if noise_energy == 0.0:
        return math.inf
    if signal_energy == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal_energy / noise_energy)
