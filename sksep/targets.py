"""Training targets: ideal ratio and ideal binary masks in a front end's T-F domain."""

from __future__ import annotations

import numpy as np

from ._validation import check_matching_sr, check_waveform, check_waveforms
from .exceptions import AudioError, ParameterError
from .features import FrameList

__all__ = ["ideal_ratio_mask", "ideal_binary_mask"]


def _is_single(x):
    return isinstance(x, np.ndarray) and x.dtype != object and x.ndim == 1


def _pairs(clean, noise, frontend):
    """Validated (clean, noise) waveform pairs and whether the input was one waveform."""
    if not (hasattr(frontend, "power") and hasattr(frontend, "n_frames")):
        raise ParameterError(
            f"frontend must be an sksep front end (with power()), got {type(frontend).__name__}"
        )
    for part in (clean, noise):  # a collection at another rate would give masks of wrong bands
        check_matching_sr(part, frontend.sr, owner=type(frontend).__name__)
    single = _is_single(clean) or _is_single(noise)
    if single:
        cs = [check_waveform(clean, name="clean")]
        ns = [check_waveform(noise, name="noise")]
    else:
        cs = check_waveforms(clean, name="clean")
        ns = check_waveforms(noise, name="noise")
        if len(cs) != len(ns):
            raise AudioError(f"clean has {len(cs)} utterances but noise has {len(ns)}")
    for i, (c, n) in enumerate(zip(cs, ns)):
        if len(c) != len(n):
            where = "" if single else f"[{i}]"
            raise AudioError(
                f"clean{where} has {len(c)} samples but noise{where} has {len(n)}; "
                "they must be the two parts of one mixture"
            )
    return cs, ns, single


def _apply(clean, noise, frontend, fn):
    cs, ns, single = _pairs(clean, noise, frontend)
    masks = [fn(frontend.power(c).astype(np.float64), frontend.power(n).astype(np.float64))
             for c, n in zip(cs, ns)]
    masks = [m.astype(np.float32) for m in masks]
    return masks[0] if single else FrameList(masks)


def ideal_ratio_mask(clean, noise, frontend, beta=0.5):
    """Ideal ratio mask ``(S^2 / (S^2 + N^2)) ** beta`` on ``frontend.power``.

    Parameters
    ----------
    clean, noise : waveform, or list / AudioCollection / 2-D array of waveforms
        The speech and noise parts of each mixture (equal lengths pairwise).
    frontend : FrontEnd
        E.g. ``CochleagramTransformer()``; it need not be fitted.
    beta : float, default=0.5
        Exponent (0.5 as in the original project).

    Returns
    -------
    mask : ndarray of shape (n_frames, n_bins), float32, or FrameList of them
        One mask for one waveform; a list for several. Values in [0, 1]; bins
        where both speech and noise have zero energy get 0.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import STFTTransformer
    >>> from sksep.targets import ideal_ratio_mask
    >>> rng = np.random.default_rng(0)
    >>> s, n = rng.standard_normal((2, 4000)).astype("float32")
    >>> m = ideal_ratio_mask(s, n, STFTTransformer())
    >>> m.shape, bool(m.min() >= 0), bool(m.max() <= 1)
    ((16, 257), True, True)
    """
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.number)) or not (
        np.isfinite(beta) and beta > 0
    ):
        raise ParameterError(f"beta must be a positive number, got beta={beta!r}")

    def irm(S2, N2):
        total = S2 + N2
        ratio = np.divide(S2, total, out=np.zeros_like(total), where=total > 0)
        return np.clip(ratio, 0.0, 1.0) ** beta

    return _apply(clean, noise, frontend, irm)


def ideal_binary_mask(clean, noise, frontend, lc_db=-5.0):
    """Ideal binary mask: 1 where the local SNR ``S^2 / N^2`` exceeds ``lc_db``.

    Parameters
    ----------
    clean, noise : waveform, or list / AudioCollection / 2-D array of waveforms
        The speech and noise parts of each mixture (equal lengths pairwise).
    frontend : FrontEnd
        E.g. ``STFTTransformer()``; it need not be fitted.
    lc_db : float, default=-5.0
        Local criterion in dB.

    Returns
    -------
    mask : ndarray of shape (n_frames, n_bins), float32, or FrameList of them
        0 / 1 values. Bins with no speech energy are 0; bins with speech and no
        noise are 1.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import CochleagramTransformer
    >>> from sksep.targets import ideal_binary_mask
    >>> rng = np.random.default_rng(0)
    >>> s, n = rng.standard_normal((2, 4000)).astype("float32")
    >>> m = ideal_binary_mask(s, 0.01 * n, CochleagramTransformer())
    >>> m.shape, float(m.mean())
    ((16, 64), 1.0)
    """
    if (
        isinstance(lc_db, bool)
        or not isinstance(lc_db, (int, float, np.number))
        or not np.isfinite(lc_db)
    ):
        raise ParameterError(f"lc_db must be a finite number of dB, got lc_db={lc_db!r}")
    factor = 10.0 ** (lc_db / 10.0)
    return _apply(clean, noise, frontend, lambda S2, N2: (S2 > N2 * factor).astype(np.float64))
