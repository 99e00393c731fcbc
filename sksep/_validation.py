"""Input checks shared by every module: one place that turns bad audio into clear errors."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .exceptions import AudioError, ParameterError, SampleRateError

__all__ = [
    "check_waveform", "check_waveforms", "check_sr", "check_snr", "get_sr", "positional_items",
]


def positional_items(X):
    """The items of a sequence in order, by position: a pandas Series by ``.iloc``, not label."""
    get = getattr(X, "iloc", X)
    return [get[i] for i in range(len(X))]


def check_waveform(y, *, name="y", min_samples=1, allow_silent=True, copy=False,
                   dtype=np.float32):
    """Validate one mono waveform and return it as a contiguous 1-D array of ``dtype``.

    Parameters
    ----------
    y : array-like
        The waveform.
    name : str
        Name of the argument, used in error messages.
    min_samples : int
        Fewest samples accepted.
    allow_silent : bool
        If False, an all-zero waveform is refused.
    copy : bool
        Force a copy even when ``y`` already has ``dtype``.
    dtype : {np.float32, np.float64}
        Type of the returned array. float64 keeps float64 input as it is
        (checked at that precision: a value beyond float32's range is finite
        there), for maths that needs its full precision.

    Returns
    -------
    y : ndarray of shape (n_samples,), of ``dtype``

    Raises
    ------
    AudioError
        If the waveform holds integers (PCM: scale it to [-1, 1] first), is
        not 1-D, is shorter than ``min_samples``, holds NaN or infinity, or is
        silent while ``allow_silent`` is False.
    """
    try:
        arr = np.asarray(y)
    except (TypeError, ValueError) as exc:  # ragged nested lists and the like
        raise AudioError(f"{name} cannot be read as a waveform array: {exc}") from exc
    if np.issubdtype(arr.dtype, np.integer) and arr.ndim > 0 and arr.size > 0:
        # as librosa: integer PCM would be taken as samples of +-32768 (int16), not +-1
        raise AudioError(
            f"{name} holds integer samples ({arr.dtype}); sksep works on floating-point audio "
            "in [-1, 1]: scale it first (16-bit PCM: y / 32768), or read files with sksep.io.load"
        )
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise AudioError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        hint = (
            " (multi-channel audio: mix it down first, e.g. sksep.io.load(..., mono=True))"
            if arr.ndim == 2
            else ""
        )
        raise AudioError(f"{name} must be a 1-D mono waveform, got shape {arr.shape}{hint}")
    if arr.shape[0] < min_samples:
        what = "empty" if arr.shape[0] == 0 else f"only {arr.shape[0]} samples long"
        raise AudioError(f"{name} is {what}; at least {min_samples} samples are needed")
    out = np.ascontiguousarray(arr, dtype=dtype)
    if copy and out is arr:
        out = out.copy()
    if not np.isfinite(out).all():
        n_bad = int((~np.isfinite(out)).sum())
        raise AudioError(f"{name} contains {n_bad} NaN or infinite sample(s)")
    if not allow_silent and not np.any(out):
        raise AudioError(f"{name} is silent (all samples are zero)")
    return out


def check_waveforms(X, *, name="X", min_samples=1, allow_silent=True):
    """Validate a collection of utterances and return a list of float32 1-D arrays.

    ``X`` may be a 1-D waveform-per-item sequence (list, tuple, object array,
    :class:`sksep.datasets.AudioCollection`) or a 2-D array whose rows are
    utterances of one length.

    Raises
    ------
    AudioError
        If ``X`` is empty, a bare 1-D waveform (a single utterance must be
        wrapped in a list), or any utterance fails :func:`check_waveform`.
    """
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 1:
            raise AudioError(
                f"{name} is a single 1-D waveform; pass a list of utterances, e.g. [y]"
            )
        if X.ndim != 2:
            raise AudioError(
                f"{name} must be a list of 1-D waveforms or a 2-D array of utterances, "
                f"got an array of shape {X.shape}"
            )
        items = list(X)
    elif isinstance(X, (Sequence, np.ndarray)) or hasattr(X, "__getitem__"):
        items = positional_items(X)
    else:
        raise AudioError(f"{name} must be a sequence of waveforms, got {type(X).__name__}")
    if len(items) == 0:
        raise AudioError(f"{name} is empty: no utterances given")
    if items and np.ndim(items[0]) == 0:
        raise AudioError(
            f"{name} looks like a single waveform (its items are numbers); "
            "pass a list of utterances, e.g. [y]"
        )
    return [
        check_waveform(x, name=f"{name}[{i}]", min_samples=min_samples, allow_silent=allow_silent)
        for i, x in enumerate(items)
    ]


def check_sr(sr, *, name="sr"):
    """Return ``sr`` as a positive int or raise :class:`ParameterError`."""
    if isinstance(sr, bool) or not isinstance(sr, numbers.Real) or not np.isfinite(sr):
        raise ParameterError(f"{name} must be a positive number of Hz, got {sr!r}")
    if sr <= 0 or int(sr) != sr:
        raise ParameterError(f"{name} must be a positive whole number of Hz, got {sr!r}")
    return int(sr)


def get_sr(X):
    """The sample rate that a collection carries (``X.sr``), or None for plain arrays."""
    sr = getattr(X, "sr", None)
    return None if sr is None else int(sr)


def check_matching_sr(X, sr, *, owner, fix="or set {owner}(sr={sr})"):
    """Raise :class:`SampleRateError` if ``X`` carries a sample rate other than ``sr``.

    ``fix`` is the second remedy the message offers, formatted with ``owner``
    and the audio's rate ``sr``.
    """
    x_sr = get_sr(X)
    if x_sr is not None and x_sr != sr:
        raise SampleRateError(
            f"{owner} was built for sr={sr} Hz but the audio is at {x_sr} Hz; "
            f"resample it (e.g. load with sr={sr}) {fix.format(owner=owner, sr=x_sr)}"
        )


def check_snr(snr_db, *, name="snr_db"):
    """Return SNR values (dB) as a 1-D float array; refuse empty or non-finite values."""
    arr = np.atleast_1d(np.asarray(snr_db, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise ParameterError(
            f"{name} must be a number or a non-empty list of numbers, got {snr_db!r}"
        )
    if not np.isfinite(arr).all():
        raise ParameterError(f"{name} must be finite, got {snr_db!r}")
    return arr
