"""Gammatone ERB filterbank: design, fast filtering, framing and resynthesis.

This is the functional core behind :class:`sksep.features.CochleagramTransformer`
and :class:`sksep.features.GFCCTransformer`. The filter design is exactly the one
of the ``gammatone`` package (Slaney's 4th-order ERB gammatone filters,
Glasberg & Moore ERB spacing, realised as four cascaded biquads per channel); the
filtering itself runs in a numba kernel that processes a block of channels per
sample with float64 state, which is far faster than one ``scipy.signal.lfilter``
call per biquad and channel.

Unlike ``gammatone``'s functions, every array here orders channels from the
lowest to the highest centre frequency.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numba
import numpy as np
from gammatone.filters import centre_freqs, make_erb_filters
from scipy.signal import get_window

from .._validation import check_sr, check_waveform
from ..exceptions import ParameterError

__all__ = [
    "erb_centre_freqs",
    "gammatone_filterbank",
    "frame_energies",
    "frame_bounds",
    "resynthesize",
]

# channels per numba task: two 32-channel blocks fill two cores and vectorise well
_BLOCK = 32
# samples per segment of resynthesis's second pass: a block's forward outputs of one
# segment, (_SEGMENT, _BLOCK) float64, stay in the cache (512 KB)
_SEGMENT = 2048


# ---------------------------------------------------------------------------
# design
# ---------------------------------------------------------------------------
def check_band(sr, n_channels, fmin, fmax):
    """Validate a filterbank's band and return ``(sr, n_channels, fmin, fmax)``.

    ``fmax=None`` means the Nyquist frequency ``sr / 2`` (as in ``gammatone``).
    """
    sr = check_sr(sr)
    if isinstance(n_channels, bool) or not isinstance(n_channels, (int, np.integer)):
        raise ParameterError(f"n_channels must be a positive integer, got {n_channels!r}")
    if n_channels < 1:
        raise ParameterError(f"n_channels must be a positive integer, got {n_channels!r}")
    nyquist = sr / 2
    if fmax is None:
        fmax = nyquist
    for name, value in (("fmin", fmin), ("fmax", fmax)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise ParameterError(f"{name} must be a finite number of Hz, got {value!r}")
        if not np.isfinite(value):
            raise ParameterError(f"{name} must be a finite number of Hz, got {value!r}")
    if fmin <= 0:
        raise ParameterError(f"fmin must be above 0 Hz, got fmin={fmin!r}")
    if fmax > nyquist:
        raise ParameterError(
            f"fmax={fmax!r} Hz is above the Nyquist frequency {nyquist:g} Hz of sr={sr}; "
            f"use fmax<={nyquist:g} or fmax=None"
        )
    if fmin >= fmax:
        raise ParameterError(f"fmin must be below fmax, got fmin={fmin!r} and fmax={fmax!r}")
    return sr, int(n_channels), float(fmin), float(fmax)


def erb_centre_freqs(sr, n_channels=64, fmin=50.0, fmax=None):
    """Centre frequencies of an ERB-spaced gammatone filterbank, lowest first.

    The same frequencies as ``gammatone.filters.centre_freqs`` (which lists them
    highest first): ``fmin`` is the lowest centre frequency and the channels are
    evenly spaced on the ERB-rate scale towards ``fmax``.

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    n_channels : int
        Number of channels.
    fmin : float
        Lowest centre frequency in Hz.
    fmax : float or None
        Upper end of the band in Hz; ``None`` means ``sr / 2``.

    Returns
    -------
    cfs : ndarray of shape (n_channels,)
        Centre frequencies in Hz, increasing.

    Examples
    --------
    >>> from sksep.features import erb_centre_freqs
    >>> cfs = erb_centre_freqs(8000, 64, 50, 4000)
    >>> round(float(cfs[0]), 1), bool(cfs[-1] < 4000), bool((cfs[1:] > cfs[:-1]).all())
    (50.0, True, True)
    """
    sr, n_channels, fmin, fmax = check_band(sr, n_channels, fmin, fmax)
    return _design(sr, n_channels, fmin, fmax).cfs.copy()


class _Design(NamedTuple):
    cfs: np.ndarray  # (C,) increasing
    b0: float  # the shared leading numerator coefficient (1 / sr)
    b1: np.ndarray  # (4, C) second numerator coefficient of each biquad (contiguous over C)
    a1: np.ndarray  # (C,) shared denominator of the four biquads
    a2: np.ndarray  # (C,)
    inv_gain: np.ndarray  # (C,) 1 / gain: unity gain at the centre frequency
    resynth_scale: float  # makes the all-ones-mask resynthesis unit gain on average
    tail: int  # samples of zero padding that let the slowest filter ring out


@functools.lru_cache(maxsize=32)
def _design(sr, n_channels, fmin, fmax):
    cfs = np.ascontiguousarray(centre_freqs(sr, n_channels, fmin, fmax)[::-1], dtype=np.float64)
    fc = make_erb_filters(sr, cfs)
    # gammatone's layout: A0, A11, A12, A13, A14, A2(=0), B0(=1), B1, B2, gain
    b1 = np.ascontiguousarray(fc[:, 1:5].T)
    a1 = np.ascontiguousarray(fc[:, 7])
    a2 = np.ascontiguousarray(fc[:, 8])
    inv_gain = np.ascontiguousarray(1.0 / fc[:, 9])
    # slowest channel: envelope t^3 exp(-B t) is below 1e-5 of its peak after 20 / B
    bw = 1.019 * 2 * np.pi * (cfs[0] / 9.26449 + 24.7)
    tail = int(np.ceil(20.0 / bw * sr))
    design = _Design(cfs, float(fc[0, 0]), b1, a1, a2, inv_gain, 1.0, tail)
    design = design._replace(resynth_scale=_resynth_scale(design, sr))
    for arr in (cfs, b1, a1, a2, inv_gain):
        arr.flags.writeable = False
    return design


def _resynth_scale(design, sr):
    """Least-squares gain that makes sum_c |H_c(f)|^2 closest to 1 across the band."""
    n = 1 << int(np.ceil(np.log2(max(4 * design.tail, sr // 4))))
    impulse = np.zeros((n, 1), dtype=np.float32)
    impulse[0, 0] = 1.0
    h = _filter_block_signals(impulse, design)
    response = (np.abs(np.fft.rfft(h, axis=0)) ** 2).sum(axis=1)
    freqs = np.fft.rfftfreq(n, 1 / sr)
    band = (freqs >= design.cfs[0]) & (freqs <= design.cfs[-1])
    g = response[band]
    return float(g.sum() / (g**2).sum())


# ---------------------------------------------------------------------------
# numba kernels (channels in the inner loop: independent, so it vectorises)
# ---------------------------------------------------------------------------
@numba.njit(cache=True, fastmath=True, nogil=True)
def _local_coefficients(c0, m, b1, a1, a2, g):
    """Copy one block's coefficients into a fresh (9, m) array.

    Rows 0-3: b1 of the four biquads, 4: a1, 5: a2, 6: 1 / gain. A fresh array
    next to a fresh state lets LLVM vectorise the channel loop (no aliasing).
    """
    k = np.empty((7, m))
    for j in range(m):
        for s in range(4):
            k[s, j] = b1[s, c0 + j]
        k[4, j] = a1[c0 + j]
        k[5, j] = a2[c0 + j]
        k[6, j] = g[c0 + j]
    return k


@numba.njit(cache=True, fastmath=True, nogil=True, inline="always")
def _biquads(v, j, b0, k, z):
    """One sample through the 4 cascaded biquads of block channel j."""
    for s in range(4):
        o = b0 * v + z[2 * s, j]
        z[2 * s, j] = k[s, j] * v - k[4, j] * o + z[2 * s + 1, j]
        z[2 * s + 1, j] = -k[5, j] * o
        v = o
    return v * k[6, j]


@numba.njit(cache=True, fastmath=True, nogil=True)
def _cascade_energy(x, t0, t1, m, b0, k, z, energy):
    """Add the squared outputs of a channel block over x[t0:t1] to ``energy``.

    ``z`` (8, m) is the filter state, kept between calls.
    """
    for t in range(t0, t1):
        xt = np.float64(x[t])
        for j in range(m):
            v = _biquads(xt, j, b0, k, z)
            energy[j] += v * v


@numba.njit(cache=True, fastmath=True, nogil=True)
def _cascade_store(x, c0, m, b0, k, z, buf):
    """Filter outputs of the channel block c0..c0+m into ``buf`` (n, m).

    ``x`` is (n, 1) (one input for every channel) or (n, C) (one per channel).
    """
    if x.shape[1] == 1:
        for t in range(x.shape[0]):
            xt = np.float64(x[t, 0])
            for j in range(m):
                buf[t, j] = _biquads(xt, j, b0, k, z)
    else:
        xin = np.empty(m)
        for t in range(x.shape[0]):
            for j in range(m):
                xin[j] = x[t, c0 + j]
            for j in range(m):
                buf[t, j] = _biquads(xin[j], j, b0, k, z)


@numba.njit(cache=True, fastmath=True, parallel=True)
def _segment_energies_kernel(x, starts, bounds, bound_starts, b0, b1, a1, a2, g, block):
    """Per-utterance, per-segment sums of squared filter outputs.

    ``x`` (total,) holds the utterances back to back; utterance u is
    ``x[starts[u]:starts[u+1]]`` and its segment boundaries (relative sample
    indices) are ``bounds[bound_starts[u]:bound_starts[u+1]]``. Returns
    (n_segments_total, C) where utterance u's segments start at row
    ``bound_starts[u] - u``.
    """
    n_utt = starts.shape[0] - 1
    C = b1.shape[1]
    n_blocks = (C + block - 1) // block
    out = np.zeros((bounds.shape[0] - n_utt, C))
    for task in numba.prange(n_utt * n_blocks):
        u = task // n_blocks
        c0 = (task % n_blocks) * block
        m = min(C, c0 + block) - c0
        z = np.zeros((8, m))
        k_block = _local_coefficients(c0, m, b1, a1, a2, g)
        acc = np.zeros(m)
        row0 = bound_starts[u] - u
        for k in range(bound_starts[u], bound_starts[u + 1] - 1):
            acc[:] = 0.0
            t0 = starts[u] + bounds[k]
            t1 = starts[u] + bounds[k + 1]
            _cascade_energy(x, t0, t1, m, b0, k_block, z, acc)
            seg = row0 + k - bound_starts[u]
            for j in range(m):
                out[seg, c0 + j] = acc[j]
    return out


@numba.njit(cache=True, fastmath=True, parallel=True)
def _signals_kernel(x, b0, b1, a1, a2, g, block):
    """Filter outputs (n, C); ``x`` is (n, 1) (one input) or (n, C) (one per channel)."""
    C = b1.shape[1]
    n_blocks = (C + block - 1) // block
    out = np.empty((x.shape[0], C))
    for ib in numba.prange(n_blocks):
        c0 = ib * block
        m = min(C, c0 + block) - c0
        z = np.zeros((8, m))
        k_block = _local_coefficients(c0, m, b1, a1, a2, g)
        buf = np.empty((x.shape[0], m))
        _cascade_store(x, c0, m, b0, k_block, z, buf)
        out[:, c0:c0 + m] = buf
    return out


def _filter_block_signals(x, design):
    return _signals_kernel(
        x, design.b0, design.b1, design.a1, design.a2, design.inv_gain, _BLOCK
    )


@numba.njit(cache=True, fastmath=True, nogil=True)
def _cascade_advance(x, t0, t1, m, b0, k, z):
    """Run a channel block's filters over x[t0:t1, 0], keeping only the state ``z``."""
    for t in range(t0, t1):
        xt = np.float64(x[t, 0])
        for j in range(m):
            _biquads(xt, j, b0, k, z)


@numba.njit(cache=True, fastmath=True, nogil=True)
def _sample_weights(t, c0, m, mask, win, hop, w):
    """Mask weights of sample ``t`` for channels c0..c0+m, written into ``w`` (m,).

    Frame ``kk`` spreads ``mask[kk]`` over samples ``kk * hop - len(win) // 2``
    onwards with the window ``win``; the weights are divided by the sum of the
    windows covering ``t`` (see :func:`mask_weights`).
    """
    frame_length = win.shape[0]
    p = t + frame_length // 2  # position counted from frame 0's first sample
    first = max((p - frame_length) // hop + 1, 0)
    last = min(p // hop, mask.shape[0] - 1)
    for j in range(m):
        w[j] = 0.0
    norm = 0.0
    for kk in range(first, last + 1):
        v = win[p - kk * hop]
        norm += v
        for j in range(m):
            w[j] += v * mask[kk, c0 + j]
    inv = 1.0 / norm
    for j in range(m):
        w[j] *= inv


@numba.njit(cache=True, fastmath=True)
def _weights_kernel(mask, n, win, hop):
    out = np.empty((n, mask.shape[1]))
    for t in range(n):
        _sample_weights(t, 0, mask.shape[1], mask, win, hop, out[t])
    return out


@numba.njit(cache=True, fastmath=True, nogil=True)
def _backward_masked(fwd, t0, n, c0, m, b0, k, z, mask, win, hop, w, part):
    """The time-reversed second pass over one segment, weighted by the mask and summed.

    ``fwd`` holds the block's forward outputs of samples t0, t0 + 1, ...; they
    go through the filters again from the last to the first (``z`` carries the
    state from the later segment), and for each sample ``t < n`` the sum over
    the block's channels of output times mask weight goes into ``part[t]``.
    """
    for i in range(fwd.shape[0] - 1, -1, -1):
        t = t0 + i
        if t >= n:  # the zero padding: only the state matters
            for j in range(m):
                _biquads(fwd[i, j], j, b0, k, z)
            continue
        _sample_weights(t, c0, m, mask, win, hop, w)
        acc = 0.0
        for j in range(m):
            acc += w[j] * _biquads(fwd[i, j], j, b0, k, z)
        part[t] = acc


@numba.njit(cache=True, fastmath=True, parallel=True)
def _resynth_kernel(x, n, mask, win, hop, b0, b1, a1, a2, g, block, segment):
    """Per channel block, the masked channel sum of the zero-phase filterbank output.

    ``x`` (n + tail, 1) is the waveform followed by zeros. No task holds more
    than one segment of filter outputs: a first forward pass keeps only the
    filter state at each segment's start; then, from the last segment to the
    first, the forward outputs of a segment are computed again from its saved
    state and fed backwards through the filters. Returns (n_blocks, n).
    """
    total = x.shape[0]
    C = b1.shape[1]
    n_blocks = (C + block - 1) // block
    n_segments = (total + segment - 1) // segment
    parts = np.empty((n_blocks, n))
    for ib in numba.prange(n_blocks):
        c0 = ib * block
        m = min(C, c0 + block) - c0
        k_block = _local_coefficients(c0, m, b1, a1, a2, g)
        z = np.zeros((8, m))
        states = np.empty((n_segments, 8, m))
        for s in range(n_segments):
            states[s] = z
            _cascade_advance(x, s * segment, min(total, (s + 1) * segment), m, b0, k_block, z)
        back = np.zeros((8, m))
        buf = np.empty((segment, m))
        w = np.empty(m)
        for s in range(n_segments - 1, -1, -1):
            t0 = s * segment
            t1 = min(total, t0 + segment)
            z[:] = states[s]
            _cascade_store(x[t0:t1], c0, m, b0, k_block, z, buf)
            _backward_masked(buf[:t1 - t0], t0, n, c0, m, b0, k_block, back, mask, win, hop, w,
                             parts[ib])
    return parts


def _resynthesis_window(frame_length):
    return get_window("hann", frame_length + 2, fftbins=False)[1:-1]  # > 0 inside the frame


# ---------------------------------------------------------------------------
# public functions
# ---------------------------------------------------------------------------
def gammatone_filterbank(y, sr, n_channels=64, fmin=50.0, fmax=None):
    """Filter a waveform through the gammatone ERB filterbank.

    Numerically the same as ``gammatone.filters.erb_filterbank`` with
    ``make_erb_filters(sr, centre_freqs(sr, n_channels, fmin, fmax))``, but with
    the channels ordered lowest frequency first and computed by a parallel numba
    kernel.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Mono waveform.
    sr : int
        Sample rate in Hz.
    n_channels : int
        Number of channels.
    fmin, fmax : float
        Band of centre frequencies (Hz); ``fmax=None`` means ``sr / 2``.

    Returns
    -------
    out : ndarray of shape (n_channels, n_samples), float64
        One filtered signal per channel, lowest centre frequency first.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import gammatone_filterbank, erb_centre_freqs
    >>> sr = 16000
    >>> y = np.sin(2 * np.pi * 1000 * np.arange(sr) / sr)
    >>> out = gammatone_filterbank(y, sr, n_channels=32)
    >>> out.shape
    (32, 16000)
    >>> cfs = erb_centre_freqs(sr, 32)
    >>> bool(abs(cfs[np.argmax((out ** 2).mean(axis=1))] - 1000) < 100)
    True
    """
    sr, n_channels, fmin, fmax = check_band(sr, n_channels, fmin, fmax)
    y = check_waveform(y, name="y")
    design = _design(sr, n_channels, fmin, fmax)
    return np.ascontiguousarray(_filter_block_signals(y[:, None], design).T)


def frame_bounds(n_samples, frame_length, hop_length):
    """Frame layout shared by every sksep front end.

    Frame ``k`` (``0 <= k < 1 + n_samples // hop_length``) covers samples
    ``[k * hop_length - frame_length // 2, ... + frame_length)``, clipped to the
    signal (outside it the signal counts as zero).

    Returns
    -------
    bounds : ndarray of int64
        Sorted distinct segment boundaries, from 0 to ``n_samples``.
    lo, hi : ndarray of int64, shape (n_frames,)
        Frame ``k`` is the union of segments ``lo[k]`` to ``hi[k] - 1`` (empty when
        ``lo[k] == hi[k]``).
    """
    n_frames = 1 + n_samples // hop_length
    start = np.arange(n_frames, dtype=np.int64) * hop_length - frame_length // 2
    a = np.clip(start, 0, n_samples)
    b = np.clip(start + frame_length, 0, n_samples)
    bounds = np.unique(np.concatenate([[0, n_samples], a, b]))
    lo = np.searchsorted(bounds, a)
    hi = np.searchsorted(bounds, b)
    return bounds, lo, hi


def _frames_from_segments(seg, lo, hi, frame_length):
    """Sum segment energies into frames; divide by the frame length."""
    width = int((hi - lo).max()) if lo.size else 0
    padded = np.concatenate([seg, np.zeros((1, seg.shape[1]))])
    idx = lo[:, None] + np.arange(width)[None, :]
    idx = np.where(idx < hi[:, None], idx, seg.shape[0])
    return padded[idx].sum(axis=1) / frame_length


def frame_energies_batch(ys, sr, n_channels=64, fmin=50.0, fmax=None, frame_length=512,
                         hop_length=256):
    """:func:`frame_energies` of several validated float32 waveforms in one parallel call."""
    sr, n_channels, fmin, fmax = check_band(sr, n_channels, fmin, fmax)
    design = _design(sr, n_channels, fmin, fmax)
    layouts = [frame_bounds(len(y), frame_length, hop_length) for y in ys]
    starts = np.zeros(len(ys) + 1, dtype=np.int64)
    starts[1:] = np.cumsum([len(y) for y in ys])
    bound_starts = np.zeros(len(ys) + 1, dtype=np.int64)
    bound_starts[1:] = np.cumsum([len(b) for b, _, _ in layouts])
    x = np.concatenate(ys).astype(np.float32, copy=False)
    bounds = np.concatenate([b for b, _, _ in layouts]).astype(np.int64)
    seg = _segment_energies_kernel(
        x, starts, bounds, bound_starts, design.b0, design.b1, design.a1, design.a2,
        design.inv_gain, _BLOCK,
    )
    out = []
    for u, (b, lo, hi) in enumerate(layouts):
        row0 = bound_starts[u] - u
        out.append(_frames_from_segments(seg[row0:row0 + len(b) - 1], lo, hi, frame_length))
    return out


def frame_energies(y, sr, n_channels=64, fmin=50.0, fmax=None, frame_length=512, hop_length=256):
    """Mean squared gammatone filter output per frame and channel (the cochleagram).

    Frame ``k`` is centred on sample ``k * hop_length`` and spans
    ``frame_length`` samples; the filter outputs are zero-padded beyond the
    signal, so there are ``1 + n_samples // hop_length`` frames, the same count
    as a centred STFT with that hop. The filter outputs are never stored: each
    sample's squared output is summed straight into its frame segment.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Mono waveform.
    sr : int
        Sample rate in Hz.
    n_channels : int
        Number of channels.
    fmin, fmax : float
        Band of centre frequencies (Hz); ``fmax=None`` means ``sr / 2``.
    frame_length, hop_length : int
        Frame length and hop in samples.

    Returns
    -------
    energies : ndarray of shape (n_frames, n_channels), float64
        Lowest centre frequency first.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import frame_energies
    >>> y = np.random.default_rng(0).standard_normal(16000).astype("float32")
    >>> frame_energies(y, 16000).shape
    (63, 64)
    """
    y = check_waveform(y, name="y")
    return frame_energies_batch([y], sr, n_channels, fmin, fmax, frame_length, hop_length)[0]


def mask_weights(mask, n_samples, frame_length, hop_length):
    """Interpolate a frame mask to one weight per sample and channel.

    Each frame's mask value is spread over its frame with a raised-cosine
    window centred on sample ``k * hop_length``; the weights are divided by the
    sum of the overlapping windows, so an all-ones mask gives weight 1 everywhere.

    Returns
    -------
    weights : ndarray of shape (n_samples, n_channels), float64
    """
    mask = np.ascontiguousarray(mask, dtype=np.float64)
    return _weights_kernel(mask, n_samples, _resynthesis_window(frame_length), hop_length)


def resynthesize(y, mask, sr, fmin=50.0, fmax=None, frame_length=512, hop_length=256):
    """Apply a cochleagram mask to a waveform by gammatone resynthesis.

    The classic Weintraub / Wang & Brown procedure: filter ``y`` through the
    filterbank, time-reverse each channel, filter it again through the same
    channel and reverse back (this undoes the filters' phase delays: the
    result is zero-phase with response ``|H_c|^2``), weight each channel by its
    mask interpolated between frames with a raised-cosine window, and sum the
    channels. A constant gain, fitted
    once per filterbank so that ``sum_c |H_c(f)|^2`` is closest to 1 across the
    band, restores the level.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Noisy waveform.
    mask : array-like of shape (n_frames, n_channels)
        Mask, ``n_frames == 1 + n_samples // hop_length``, lowest channel first.
        Values are used as given (the front end checks they lie in [0, 1]).
    sr : int
        Sample rate in Hz.
    fmin, fmax : float
        Band of centre frequencies; ``n_channels`` is ``mask.shape[1]``.
    frame_length, hop_length : int
        The framing the mask was computed with.

    Returns
    -------
    y_hat : ndarray of shape (n_samples,), float32

    Notes
    -----
    With an all-ones mask the output is ``y`` band-passed to the filterbank's
    band with a small ripple. Measured on the bundled sample's speech at
    16 kHz with 64 channels from 50 Hz to 8 kHz (frame 512, hop 256): 23.5 to
    39.8 dB reconstruction SNR, STOI 1.000 (``tests/test_resynthesis.py``
    requires >= 20 dB and >= 0.99).

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import resynthesize
    >>> sr = 16000
    >>> y = np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype("float32")
    >>> ones = np.ones((1 + len(y) // 256, 64))
    >>> y_hat = resynthesize(y, ones, sr)
    >>> y_hat.shape, bool(np.corrcoef(y, y_hat)[0, 1] > 0.99)
    ((16000,), True)
    """
    y = check_waveform(y, name="y")
    mask = np.asarray(mask, dtype=np.float64)
    n_channels = mask.shape[1]
    sr, n_channels, fmin, fmax = check_band(sr, n_channels, fmin, fmax)
    design = _design(sr, n_channels, fmin, fmax)
    n = len(y)
    x = np.zeros((n + design.tail, 1), dtype=np.float32)
    x[:n, 0] = y
    parts = _resynth_kernel(
        x, n, np.ascontiguousarray(mask), _resynthesis_window(frame_length), hop_length,
        design.b0, design.b1, design.a1, design.a2, design.inv_gain, _BLOCK, _SEGMENT,
    )
    out = parts[0]
    for part in parts[1:]:  # in place: no further (n_samples,) arrays
        out += part
    out *= design.resynth_scale
    return out.astype(np.float32)
