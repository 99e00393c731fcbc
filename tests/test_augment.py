"""Augmentations of (clean, noise) pairs: shapes, seeding, levels and spectra as named."""

import numpy as np
import pytest
import scipy.signal

from sksep.datasets import (
    AudioCollection,
    Compose,
    NoiseMix,
    RandomGain,
    Reverb,
    SpectralTilt,
    SpeedPerturb,
    SyntheticNoise,
    load_sample,
    make_babble,
    synthetic_noise,
)
from sksep.exceptions import AudioError, ParameterError
from sksep.features import STFTTransformer
from sksep.models import MixingDataset

SR = 8000


@pytest.fixture(scope="module")
def pair():
    speech, noise = load_sample(sr=SR)
    clean = speech.train[0][: SR]
    return clean, noise.train[0][: SR].copy()


def band_db(y, lo, hi, sr=SR):
    """Mean power (dB) of ``y`` between ``lo`` and ``hi`` Hz (Welch)."""
    f, p = scipy.signal.welch(y, fs=sr, nperseg=512)
    sel = (f >= lo) & (f < hi)
    return 10 * np.log10(np.mean(p[sel]))


def all_augs():
    return [RandomGain(), SpectralTilt(sr=SR, target="both"),
            SyntheticNoise(sr=SR, prob=1.0), SyntheticNoise(sr=SR, prob=1.0, mode="add"),
            Reverb(sr=SR, rt60_range=(0.2, 0.3), prob=1.0),
            SpeedPerturb(sr=SR, prob=1.0, target="both"),
            NoiseMix(load_sample(sr=SR)[1].train, sr=SR, prob=1.0)]


@pytest.mark.parametrize("aug", all_augs(), ids=repr)
def test_shapes_finite_and_seeded(aug, pair):
    clean, noise = pair
    c1, n1 = aug(clean, noise, np.random.default_rng(3))
    c2, n2 = aug(clean, noise, np.random.default_rng(3))
    c3, n3 = aug(clean, noise, np.random.default_rng(4))
    for y in (c1, n1):
        assert y.shape == clean.shape and y.dtype == np.float32 and np.isfinite(y).all()
    assert np.array_equal(c1, c2) and np.array_equal(n1, n2)
    assert not (np.array_equal(c1, c3) and np.array_equal(n1, n3))


def test_random_gain_in_range(pair):
    clean, noise = pair
    aug = RandomGain(-12, 3)
    gains = []
    for seed in range(30):
        c, n = aug(clean, noise, seed)
        g = 20 * np.log10(np.std(c) / np.std(clean))
        assert np.isclose(g, 20 * np.log10(np.std(n) / np.std(noise)), atol=1e-3)  # same SNR
        gains.append(g)
    assert -12.001 <= min(gains) and max(gains) <= 3.001
    assert max(gains) - min(gains) > 8  # actually spread over the range


@pytest.mark.parametrize("target", ["speech", "noise"])
def test_tilt_direction(target):
    white = synthetic_noise("white", 4 * SR, SR, rng=0)
    tilt = SpectralTilt(sr=SR, max_db_per_octave=6, target=target)
    ratios = {}
    for seed in range(6):
        slope = np.random.default_rng(seed).uniform(-6, 6, size=2)[0 if target == "speech" else 1]
        c, n = tilt(white, white, seed)
        out, kept = (c, n) if target == "speech" else (n, c)
        assert np.array_equal(kept, white)
        ratio = band_db(out, 2000, 3500) - band_db(out, 250, 500)
        ratios[slope] = ratio
        # 3 octaves apart (375 -> 2750 Hz centres, ~2.9 octaves): ratio ~ slope * 2.9
        assert np.sign(ratio) == np.sign(slope) or abs(slope) < 0.5
    lo, hi = min(ratios), max(ratios)
    assert ratios[hi] - ratios[lo] > 2 * (hi - lo)


@pytest.mark.parametrize("kind, slope", [("white", 0.0), ("pink", -3.0), ("brown", -6.0)])
def test_coloured_noise_slopes(kind, slope):
    y = synthetic_noise(kind, 8 * SR, SR, rng=1)
    f, p = scipy.signal.welch(y, fs=SR, nperseg=1024)
    sel = (f >= 100) & (f <= 3500)
    fit = np.polyfit(np.log2(f[sel]), 10 * np.log10(p[sel]), 1)[0]
    assert abs(fit - slope) < 0.5, fit


def test_other_families_look_as_named():
    n = 4 * SR
    band = synthetic_noise("bandlimited", n, SR, rng=2)
    f, p = scipy.signal.welch(band, fs=SR, nperseg=1024)
    assert np.percentile(p, 10) / p.max() < 1e-2  # white noise: about 0.5
    hum = synthetic_noise("hum", n, SR, rng=2)
    f, p = scipy.signal.welch(hum, fs=SR, nperseg=4096)
    peak = f[np.argmax(p)]
    assert 48 <= peak <= 62
    imp = synthetic_noise("impulsive", n, SR, rng=2)
    kurtosis = np.mean(imp ** 4) / np.mean(imp ** 2) ** 2
    assert kurtosis > 10  # Gaussian noise has 3
    mod = synthetic_noise("modulated", n, SR, rng=2)
    env = np.sqrt(np.convolve(mod ** 2, np.ones(400) / 400, mode="valid"))
    assert env.max() / np.median(env) > 1.5
    for y in (band, hum, imp, mod):
        assert y.shape == (n,) and np.isclose(np.sqrt(np.mean(y ** 2)), 1.0, rtol=1e-3)


def test_synthetic_noise_keeps_level_and_prob_zero_is_identity(pair):
    clean, noise = pair
    c, n = SyntheticNoise(sr=SR, kinds=["pink"], prob=1.0)(clean, noise, 0)
    assert np.isclose(np.std(n), np.std(noise), rtol=1e-2) and not np.array_equal(n, noise)
    c, n = SyntheticNoise(sr=SR, prob=0.0)(clean, noise, 0)
    assert np.array_equal(n, noise) and np.array_equal(c, clean)
    with pytest.raises(ParameterError, match="kinds"):
        SyntheticNoise(sr=SR, kinds=["purple"])(clean, noise, 0)


def test_reverb_extends_energy_decay():
    rng = np.random.default_rng(0)
    burst = np.zeros(SR, dtype=np.float32)
    burst[:800] = rng.normal(0, 0.3, 800)
    wet, _ = Reverb(sr=SR, rt60_range=(0.6, 0.6), prob=1.0)(burst, burst, 0)
    tail = slice(1200, 4000)  # 50-400 ms after the burst ended
    assert np.sum(burst[tail] ** 2) == 0
    assert np.sum(wet[tail] ** 2) / np.sum(wet ** 2) > 0.01
    assert np.isclose(np.std(wet), np.std(burst), rtol=1e-3)
    # longer RT60, more energy in the tail
    short, _ = Reverb(sr=SR, rt60_range=(0.15, 0.15), prob=1.0)(burst, burst, 0)
    assert np.sum(short[tail] ** 2) < np.sum(wet[tail] ** 2)


def test_babble_excludes_speaker():
    rng = np.random.default_rng(0)
    speech = AudioCollection([rng.normal(0, 0.1, 3000), np.full(3000, 0.5), rng.normal(0, 1, 2000)],
                             SR, meta={"speaker": ["a", "b", "c"]})
    y = make_babble(speech, 5000, n_talkers=2, exclude_speaker="b", rng=0)
    assert y.shape == (5000,) and abs(np.mean(y)) < 0.1  # the constant talker "b" is left out
    assert np.array_equal(y, make_babble(speech, 5000, n_talkers=2, exclude_speaker="b", rng=0))
    with pytest.raises(AudioError, match="no non-silent"):
        make_babble(speech[[1]], 100, exclude_speaker="b")


def test_mixing_dataset_accepts_compose():
    speech, noise = load_sample(sr=SR)
    aug = Compose([RandomGain(-6, 6), SpectralTilt(sr=SR, target="both"),
                   SyntheticNoise(sr=SR, prob=0.5), Reverb(sr=SR, rt60_range=(0.2, 0.3), prob=0.5)])
    ds = MixingDataset([y[: SR] for y in speech.train[:3]], [y for y in noise.train[:2]],
                       STFTTransformer(n_fft=128, hop_length=64, sr=SR), snr_db=[0, 5],
                       augment=aug, random_state=0)
    plain = MixingDataset([y[: SR] for y in speech.train[:3]], [y for y in noise.train[:2]],
                          STFTTransformer(n_fft=128, hop_length=64, sr=SR), snr_db=[0, 5],
                          random_state=0)
    changed = False
    for i in range(3):
        noisy, clean, added, feats, mask = ds.mixture(i)
        assert np.isfinite(feats).all() and np.isfinite(mask).all()
        assert feats.shape[0] == mask.shape[0] and np.array_equal(noisy, clean + added)
        again = ds.mixture(i)[0]
        assert np.array_equal(noisy, again)
        changed |= not np.array_equal(noisy, plain.mixture(i)[0])
    assert changed


def _peak_hz(y, sr=SR):
    return np.argmax(np.abs(np.fft.rfft(y * np.hanning(len(y))))) * sr / len(y)


@pytest.mark.parametrize("rate", [0.8, 1.25])
def test_speed_perturb_moves_frequencies_keeps_length_rms_and_speech(rate):
    t = np.arange(SR) / SR
    # a tone and a click train: pitch and tempo must both move by the rate
    noise = (0.1 * np.sin(2 * np.pi * 400 * t)).astype(np.float32)
    noise[:: SR // 10] += 0.5
    clean = (0.05 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    aug = SpeedPerturb(sr=SR, min_rate=rate, max_rate=rate, prob=1.0)
    c, n = aug(clean, noise, 0)
    assert np.array_equal(c, clean)  # target="noise": speech untouched
    assert n.shape == noise.shape and n.dtype == np.float32
    assert np.sqrt(np.mean(n.astype(float) ** 2)) == pytest.approx(
        np.sqrt(np.mean(noise.astype(float) ** 2)), rel=1e-4)
    tone = n - np.where(np.abs(n) > 0.2, n, 0)  # (clicks clipped out, roughly)
    assert _peak_hz(tone) == pytest.approx(400 * rate, abs=8)
    clicks = np.flatnonzero(n > 0.3)
    gaps = np.diff(clicks[np.r_[True, np.diff(clicks) > 5]])
    assert np.median(gaps) == pytest.approx(SR / 10 / rate, abs=3)


def test_speed_perturb_prob_target_and_bad_parameters(pair):
    clean, noise = pair
    same = SpeedPerturb(sr=SR, prob=0.0)(clean, noise, 0)
    assert np.array_equal(same[0], clean) and np.array_equal(same[1], noise)
    c, n = SpeedPerturb(sr=SR, min_rate=1.25, max_rate=1.25, prob=1.0, target="speech")(
        clean, noise, 0)
    assert np.array_equal(n, noise) and not np.array_equal(c, clean)
    for bad, match in [({"min_rate": 0.0}, "min_rate must be positive"),
                       ({"min_rate": 1.3, "max_rate": 1.2}, "min_rate <= max_rate"),
                       ({"prob": 2.0}, "prob"), ({"target": "mix"}, "target")]:
        with pytest.raises(ParameterError, match=match):
            SpeedPerturb(sr=SR, **bad)(clean, noise, 0)
    assert "SpeedPerturb(sr=8000, min_rate=0.8" in repr(SpeedPerturb(sr=SR))


def _tone(hz, n=SR, amp=0.1):
    return (amp * np.sin(2 * np.pi * hz * np.arange(n) / SR)).astype(np.float32)


@pytest.mark.parametrize("rel_db", [-6.0, 0.0, 6.0])
def test_noise_mix_adds_a_pool_recording_at_the_drawn_level_keeping_rms(rel_db):
    noise, clean = _tone(300), _tone(150, amp=0.05)
    short = _tone(2000, n=SR // 3, amp=0.7)  # shorter than the noise: looped
    aug = NoiseMix([short], sr=SR, min_db=rel_db, max_db=rel_db, prob=1.0)
    c, n = aug(clean, noise, 0)
    assert np.array_equal(c, clean)
    assert n.shape == noise.shape and n.dtype == np.float32
    rms = lambda y: np.sqrt(np.mean(np.square(y, dtype=float)))  # noqa: E731
    assert rms(n) == pytest.approx(rms(noise), rel=1e-5)  # the SNR drawn later is kept
    # the two tones' powers stand in the drawn ratio
    f, p = scipy.signal.welch(n, fs=SR, nperseg=512)
    power = lambda lo, hi: p[(f >= lo) & (f < hi)].sum()  # noqa: E731
    assert 10 * np.log10(power(1900, 2100) / power(250, 350)) == pytest.approx(rel_db, abs=0.5)
    assert np.abs(n[-SR // 4:]).max() > 0.1  # looped to the end, not zero-padded


def test_noise_mix_draws_over_the_pool_prob_and_silence():
    pool = [_tone(1000), _tone(2500), np.zeros(SR, np.float32)]
    noise, clean = _tone(300), _tone(150)
    aug = NoiseMix(pool, sr=SR, min_db=0.0, max_db=0.0, prob=1.0)
    peaks = set()
    for seed in range(20):
        _, n = aug(clean, noise, seed)
        at_1k, at_2k5 = band_db(n, 900, 1100), band_db(n, 2400, 2600)
        assert max(at_1k, at_2k5) > band_db(noise, 900, 2600) + 20  # something was always added
        peaks.add(int(at_1k > at_2k5))
    assert peaks == {0, 1}  # both voiced recordings are drawn, the silent one never
    same = NoiseMix(pool, sr=SR, prob=0.0)(clean, noise, 0)
    assert np.array_equal(same[1], noise)
    silent = np.zeros(SR, np.float32)
    assert np.array_equal(aug(clean, silent, 0)[1], silent)  # no level to be relative to


def test_noise_mix_bad_input():
    clean = noise = _tone(300)
    speech, noises = load_sample(sr=SR)
    for kwargs, match in [({"min_db": 3.0, "max_db": -3.0}, "min_db <= max_db"),
                          ({"prob": -0.1}, "prob")]:
        with pytest.raises(ParameterError, match=match):
            NoiseMix([noise], sr=SR, **kwargs)(clean, noise, 0)
    with pytest.raises(ParameterError, match="pool is at 8000 Hz but sr=16000"):
        NoiseMix(noises.train, sr=16000)(clean, noise, 0)
    with pytest.raises(ParameterError, match="single waveform"):
        NoiseMix(noise, sr=SR)(clean, noise, 0)
    with pytest.raises(AudioError, match="no non-silent recording"):
        NoiseMix([np.zeros(10)], sr=SR)(clean, noise, 0)
    with pytest.raises(AudioError, match="NaN"):
        NoiseMix([np.full(10, np.nan)], sr=SR)(clean, noise, 0)
    assert repr(NoiseMix(noises.train, sr=SR)).startswith(
        f"NoiseMix(pool=<{len(noises.train)} recordings>, sr=8000, min_db=-6.0")
