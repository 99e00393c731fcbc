"""The gammatone core agrees with the gammatone package; framing and ordering."""

import numpy as np
import pytest
from gammatone.filters import centre_freqs, erb_filterbank, make_erb_filters
from scipy.signal import get_window

from sksep.datasets import load_sample
from sksep.exceptions import ParameterError
from sksep.features import erb_centre_freqs, frame_energies, gammatone_filterbank, resynthesize
from sksep.features._gammatone import _design, frame_bounds, mask_weights


@pytest.fixture(scope="module")
def y():
    rng = np.random.default_rng(1)
    t = np.arange(6000) / 16000
    y = np.sin(2 * np.pi * 300 * t) * np.hanning(6000) + 0.1 * rng.standard_normal(6000)
    return y.astype(np.float32)


def test_centre_freqs_are_gammatones_low_to_high():
    ours = erb_centre_freqs(8000, 64, 50, 4000)
    np.testing.assert_allclose(ours, centre_freqs(8000, 64, 50, 4000)[::-1])
    assert ours[0] == pytest.approx(50) and np.all(np.diff(ours) > 0)


def test_filterbank_matches_erb_filterbank(y):
    ref = erb_filterbank(y.astype(np.float64), make_erb_filters(16000, centre_freqs(16000, 64, 50)))
    ours = gammatone_filterbank(y, 16000)
    assert ours.shape == (64, 6000)
    np.testing.assert_allclose(ours, ref[::-1], rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("frame_length,hop", [(512, 256), (240, 120), (400, 160)])
def test_frame_energies_match_gammatone_framed_alike(y, frame_length, hop):
    xe = erb_filterbank(y.astype(np.float64),
                        make_erb_filters(16000, centre_freqs(16000, 32, 80, 7000)))[::-1] ** 2
    n = len(y)
    starts = [k * hop - frame_length // 2 for k in range(1 + n // hop)]
    ref = np.array([xe[:, max(s, 0):max(s + frame_length, 0)].sum(axis=1) / frame_length
                    for s in starts])
    ours = frame_energies(y, 16000, 32, 80, 7000, frame_length, hop)
    assert ours.shape == (1 + n // hop, 32)
    assert np.max(np.abs(ours - ref) / ref) <= 1e-4


def test_frame_bounds_cover_each_frame():
    bounds, lo, hi = frame_bounds(1000, 400, 160)
    assert bounds[0] == 0 and bounds[-1] == 1000 and len(lo) == 1 + 1000 // 160
    for k in range(len(lo)):
        start = max(k * 160 - 200, 0)
        stop = min(k * 160 + 200, 1000)
        assert bounds[lo[k]] == start and bounds[hi[k]] == stop


def test_mask_weights_interpolate_and_keep_ones():
    ones = mask_weights(np.ones((1 + 2000 // 100, 3)), 2000, 200, 100)
    np.testing.assert_allclose(ones, 1.0)
    step = np.zeros((21, 1))
    step[10:] = 1.0
    w = mask_weights(step, 2000, 200, 100)[:, 0]
    assert w[0] == 0 and w[-1] == 1 and np.all(np.diff(w) >= -1e-12)  # smooth ramp, no jumps
    assert 0 < w[950] < 1


def reference_weights(mask, n, frame_length, hop):
    """Mask weights the direct way: every frame's windowed mask added into full arrays."""
    n_frames, n_channels = mask.shape
    win = get_window("hann", frame_length + 2, fftbins=False)[1:-1]
    half = frame_length // 2
    total = n + frame_length + (n_frames - 1) * hop
    acc, norm = np.zeros((total, n_channels)), np.zeros(total)
    for k in range(n_frames):
        acc[k * hop:k * hop + frame_length] += win[:, None] * mask[k][None, :]
        norm[k * hop:k * hop + frame_length] += win
    return acc[half:half + n] / norm[half:half + n, None]


def reference_resynthesis(y, mask, sr, fmin, fmax, frame_length, hop):
    """gammatone's erb_filterbank forwards, then backwards per channel, weighted and summed."""
    n, n_channels = len(y), mask.shape[1]
    design = _design(sr, n_channels, float(fmin), float(fmax))
    coefs = make_erb_filters(sr, centre_freqs(sr, n_channels, fmin, fmax))[::-1]  # low -> high
    forward = erb_filterbank(np.concatenate([y.astype(np.float64), np.zeros(design.tail)]), coefs)
    backward = np.array([erb_filterbank(f[::-1], coefs[c:c + 1])[0, ::-1][:n]
                         for c, f in enumerate(forward)])
    weights = reference_weights(mask, n, frame_length, hop)
    return (backward.T * weights).sum(axis=1) * design.resynth_scale


@pytest.fixture(scope="module")
def speech():
    """About 6 s of the bundled sample's test speech, back to back."""
    return np.concatenate(list(load_sample()[0].test[:3]))


@pytest.mark.parametrize("n,n_channels,fmax,frame_length,hop", [
    (None, 64, 8000, 512, 256),  # the default model's settings, several segments
    (40000, 40, 7000, 400, 160),  # a channel block of 8 after one of 32
    (700, 64, 8000, 512, 256),  # shorter than a frame and than the filters' tail
])
def test_resynthesis_matches_full_array_reference(speech, n, n_channels, fmax, frame_length, hop):
    y = speech[:n]
    mask = np.random.default_rng(2).uniform(0, 1, (1 + len(y) // hop, n_channels))
    ref = reference_resynthesis(y, mask, 16000, 50, fmax, frame_length, hop)
    ours = resynthesize(y, mask, 16000, 50, fmax, frame_length, hop)
    assert ours.shape == y.shape and ours.dtype == np.float32
    assert np.max(np.abs(ours - ref)) / np.max(np.abs(ref)) < 1e-5
    np.testing.assert_allclose(mask_weights(mask, len(y), frame_length, hop),
                               reference_weights(mask, len(y), frame_length, hop),
                               rtol=1e-12, atol=1e-12)


def test_band_errors():
    with pytest.raises(ParameterError, match="fmax=9000 Hz is above the Nyquist frequency 8000"):
        erb_centre_freqs(16000, 64, 50, 9000)
    with pytest.raises(ParameterError, match="n_channels"):
        erb_centre_freqs(16000, 0)
    with pytest.raises(ParameterError, match="fmin must be above 0"):
        erb_centre_freqs(16000, 64, 0)
