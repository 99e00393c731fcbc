"""Property tests: features, targets, resynthesis and SpeechEnhancer on whatever audio comes.

Random lengths (one frame up to seconds, plus one explicit three-minute input),
sample rates, amplitudes from near-silent to beyond full scale, DC offsets and
clipping. Everything must come out finite, with consistent shapes and the
input's length; masks stay in [0, 1]; inputs shorter than one frame are
refused with a clear error.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.pipeline import make_pipeline

from sksep import SpeechEnhancer
from sksep.exceptions import AudioError
from sksep.features import CochleagramTransformer, ContextStacker, STFTTransformer
from sksep.models import DNN0Regressor
from sksep.targets import ideal_binary_mask, ideal_ratio_mask

RATES = (8000, 11025, 16000, 22050, 44100, 48000)
PROPS = settings(max_examples=30, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _frame(sr):
    """About 32 ms, a power of two (256 at 8 kHz, 2048 at 48 kHz)."""
    return 1 << int(np.ceil(np.log2(0.032 * sr)))


def front_end(kind, sr):
    n = _frame(sr)
    if kind == "stft":
        return STFTTransformer(sr=sr, n_fft=n, hop_length=n // 2)
    return CochleagramTransformer(sr=sr, n_channels=32, frame_length=n, hop_length=n // 2)


@st.composite
def waveforms(draw, sr, *, min_frames=1, max_seconds=1.5, n=None):
    """A hostile waveform: noise or a tone, any level, DC offset, maybe clipped, maybe silent."""
    if n is None:
        n = draw(st.integers(min_frames * _frame(sr), int(max_seconds * sr)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["noise", "tone", "silence", "impulse"]))
    if kind == "noise":
        y = rng.standard_normal(n)
    elif kind == "tone":
        y = np.sin(2 * np.pi * rng.uniform(20, sr / 2) * np.arange(n) / sr)
    elif kind == "impulse":
        y = np.zeros(n)
        y[rng.integers(n)] = 1.0
    else:
        y = np.zeros(n)
    level = 10.0 ** draw(st.floats(-40, 1))  # from below float32 resolution to 20 dB over
    y = level * y + draw(st.sampled_from([0.0, 0.0, 1e-6, -0.3, 0.9]))
    if draw(st.booleans()):
        y = np.clip(y, -1.0, 1.0)
    return y.astype(np.float32)


@st.composite
def rate_and_wave(draw, **kw):
    sr = draw(st.sampled_from(RATES))
    return sr, draw(waveforms(sr, **kw))


def _random_mask(shape, seed, style):
    rng = np.random.default_rng(seed)
    if style == "zeros":
        return np.zeros(shape)
    if style == "ones":
        return np.ones(shape)
    if style == "binary":
        return (rng.random(shape) > 0.5).astype(float)
    return rng.random(shape)


# --------------------------------------------------------------------------- features
@pytest.mark.parametrize("kind", ["stft", "cochleagram"])
@PROPS
@given(data=rate_and_wave())
def test_features_finite_with_one_row_per_frame(kind, data):
    sr, y = data
    fe = front_end(kind, sr).fit([y])
    (feats,) = fe.transform([y])
    power = fe.power(y)
    expected = (fe.n_frames(len(y)), fe.n_bins)
    assert feats.shape == expected and power.shape == expected
    assert feats.dtype == np.float32 and power.dtype == np.float32
    assert np.isfinite(feats).all() and np.isfinite(power).all()
    assert power.min() >= 0
    assert fe.n_frames(len(y)) == 1 + len(y) // fe.hop_length


# --------------------------------------------------------------------------- targets
@pytest.mark.parametrize("kind", ["stft", "cochleagram"])
@PROPS
@given(data=st.data())
def test_masks_finite_and_in_unit_range(kind, data):
    sr = data.draw(st.sampled_from(RATES), label="sr")
    clean = data.draw(waveforms(sr), label="clean")
    noise = data.draw(waveforms(sr, n=len(clean)), label="noise")
    fe = front_end(kind, sr)
    shape = (fe.n_frames(len(clean)), fe.n_bins)
    for mask in (ideal_ratio_mask(clean, noise, fe), ideal_binary_mask(clean, noise, fe)):
        assert mask.shape == shape and mask.dtype == np.float32
        assert np.isfinite(mask).all()
        assert mask.min() >= 0.0 and mask.max() <= 1.0
    # masks made from these parts can always be applied to their mixture
    out = fe.apply_mask(clean + noise, ideal_ratio_mask(clean, noise, fe))
    assert len(out) == len(clean) and np.isfinite(out).all()


# --------------------------------------------------------------------------- resynthesis
@pytest.mark.parametrize("kind", ["stft", "cochleagram"])
@PROPS
@given(data=rate_and_wave(), seed=st.integers(0, 2**16),
       style=st.sampled_from(["random", "binary", "zeros", "ones"]))
def test_apply_mask_keeps_length_and_stays_finite(kind, data, seed, style):
    sr, y = data
    fe = front_end(kind, sr)
    mask = _random_mask((fe.n_frames(len(y)), fe.n_bins), seed, style)
    out = fe.apply_mask(y, mask)
    assert out.shape == y.shape and out.dtype == np.float32
    assert np.isfinite(out).all()
    if style == "zeros":
        assert not np.any(out)
    if style == "ones" and kind == "stft":  # COLA hop: the STFT round trip is the identity
        # up to float32 rounding, which the last samples see magnified: only the tail of the
        # last frame's Hann window covers them, and istft divides by its tiny square (seen:
        # 1.02e-4 of the peak at 44.1 kHz, 4088 samples, n_fft 2048)
        peak = max(float(np.max(np.abs(y))), 1e-30)
        assert np.max(np.abs(out - y)) <= 1e-3 * peak
        assert np.max(np.abs(out - y)[: len(y) - fe.hop_length]) <= 1e-5 * peak


@pytest.mark.parametrize("kind", ["stft", "cochleagram"])
@given(sr=st.sampled_from(RATES), short=st.integers(0, 100))
@settings(max_examples=10, deadline=None)
def test_shorter_than_one_frame_is_refused_clearly(kind, sr, short):
    fe = front_end(kind, sr)
    n = _frame(sr) * short // 101  # 0 .. one frame minus a bit
    y = np.full(n, 0.1, np.float32)
    with pytest.raises(AudioError, match=r"empty|only \d+ samples long") as exc:
        fe.power(y)
    assert "at least" in str(exc.value) or "empty" in str(exc.value)
    with pytest.raises(AudioError, match=r"empty|samples"):
        fe.apply_mask(y, np.ones((fe.n_frames(n), fe.n_bins)))


# --------------------------------------------------------------------------- enhancer
SR = 8000


def _tiny_enhancer(front):
    net = DNN0Regressor(module__hidden_dim=16, max_epochs=2, train_split=None, verbose=0,
                        random_state=0)
    return SpeechEnhancer(make_pipeline(front, ContextStacker(1), net))


@pytest.fixture(scope="module")
def enhancers():
    """Two tiny enhancers (STFT and cochleagram), trained once on tones in noise."""
    rng = np.random.default_rng(0)
    t = np.arange(SR) / SR
    clean = [(0.1 * np.sin(2 * np.pi * f * t)).astype(np.float32) for f in (150, 300, 600)]
    noisy = [c + (0.05 * rng.standard_normal(SR)).astype(np.float32) for c in clean]
    n = _frame(SR)
    return {
        "stft": _tiny_enhancer(STFTTransformer(sr=SR, n_fft=n, hop_length=n // 2)).fit(
            noisy, clean),
        "cochleagram": _tiny_enhancer(CochleagramTransformer(
            sr=SR, n_channels=32, frame_length=n, hop_length=n // 2)).fit(noisy, clean),
    }


@pytest.mark.parametrize("kind", ["stft", "cochleagram"])
@PROPS
@given(y=waveforms(SR, max_seconds=4.0))
def test_enhancer_predict_finite_and_same_length(enhancers, kind, y):
    enh = enhancers[kind]
    (out,) = enh.predict([y])
    assert out.shape == y.shape and out.dtype == np.float32
    assert np.isfinite(out).all()
    (mask,) = enh.predict_mask([y])
    assert mask.shape == (enh.front_end_.n_frames(len(y)), enh.front_end_.n_bins)
    assert np.isfinite(mask).all() and mask.min() >= 0 and mask.max() <= 1


@given(n=st.integers(0, _frame(SR) - 1))
@settings(max_examples=10, deadline=None)
def test_enhancer_refuses_input_shorter_than_a_frame(enhancers, n):
    y = np.full(n, 0.1, np.float32)
    with pytest.raises(AudioError, match=r"X\[0\] is (empty|only \d+ samples long)"):
        enhancers["stft"].predict([y])


def test_enhancer_tiny_but_nonzero_input_is_not_turned_into_nan(enhancers):
    """Level normalisation must not overflow: 1e-40 is a valid (denormal) float32 sample."""
    for value in (1e-45, 1e-40, 1e-30):
        y = np.full(3 * _frame(SR), value, np.float32)
        for enh in enhancers.values():
            out = enh.predict([y])[0]
            assert out.shape == y.shape and np.isfinite(out).all()


@pytest.mark.slow
def test_three_minutes_in_one_piece(enhancers):
    """The 'minutes long' case: one explicit 3-minute input at 8 kHz."""
    rng = np.random.default_rng(1)
    n = 3 * 60 * SR
    y = np.clip(0.3 * rng.standard_normal(n) + 0.05, -1, 1).astype(np.float32)
    for kind, enh in enhancers.items():
        fe = enh.front_end_
        mask = ideal_ratio_mask(y, rng.standard_normal(n).astype(np.float32), fe)
        assert mask.shape == (fe.n_frames(n), fe.n_bins) and np.isfinite(mask).all()
        out = enh.predict([y])[0]
        assert out.shape == (n,) and np.isfinite(out).all(), kind
