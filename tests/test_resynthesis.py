"""Resynthesis: all-ones masks give the input back; the oracle IRM chain raises STOI.

Measured (bundled sample, 6 test utterances, default 16 kHz settings):
- STFT all-ones mask: about 156 dB SNR (float32 rounding); required here: > 40 dB.
- Cochleagram all-ones mask: 23.5-39.8 dB SNR, STOI 1.000; required here: every
  utterance >= 20 dB and STOI >= 0.99 (a synthetic harmonic + noise signal: 22.7 dB).
- Oracle IRM at 0 dB SNR: mean STOI 0.730 -> 0.959 (STFT, +0.23) and -> 0.934
  (cochleagram, +0.20); required: +0.15 for both.
"""

import numpy as np
import pytest
from pystoi import stoi

from sksep.datasets import load_sample, make_mixtures
from sksep.exceptions import ParameterError
from sksep.features import CochleagramTransformer, STFTTransformer
from sksep.targets import ideal_ratio_mask

SR = 16000


@pytest.fixture(scope="module")
def mix():
    speech, noise = load_sample()
    return make_mixtures(speech.test[:6], noise.test, snr_db=0, random_state=0)


def snr_db(ref, est):
    return 10 * np.log10(np.sum(ref.astype(float) ** 2) / np.sum((ref - est).astype(float) ** 2))


def test_stft_all_ones_returns_the_input(mix):
    fe = STFTTransformer()
    for y in mix.clean[:3]:
        out = fe.apply_mask(y, np.ones_like(fe.power(y)))
        assert out.shape == y.shape and out.dtype == np.float32
        assert snr_db(y, out) > 40
    eight = STFTTransformer(sr=8000, n_fft=240, hop_length=120)
    y8 = mix.clean[0][::2].copy()
    assert snr_db(y8, eight.apply_mask(y8, np.ones((eight.n_frames(len(y8)), 121)))) > 40


def test_stft_refuses_non_cola_hop(mix):
    fe = STFTTransformer(sr=8000, n_fft=240, hop_length=180)  # the original's hop
    y = mix.clean[0][:8000]
    assert fe.power(y).shape == (1 + 8000 // 180, 121)  # features are fine
    with pytest.raises(ParameterError, match="COLA.*hop_length=120"):
        fe.apply_mask(y, np.ones((1 + 8000 // 180, 121)))


def test_stft_without_centring_gives_features_but_no_resynthesis(mix):
    fe = STFTTransformer(sr=8000, n_fft=256, hop_length=128, center=False)
    y = mix.clean[0][:8000]
    assert fe.power(y).shape == (fe.n_frames(8000), 129) == (1 + (8000 - 256) // 128, 129)
    # the last (8000 - 256) % 128 = 64 samples lie in no full frame
    with pytest.raises(ParameterError, match="center=True.*up to 127"):
        fe.apply_mask(y, np.ones((fe.n_frames(8000), 129)))


def test_cochleagram_all_ones_reconstruction(mix):
    fe = CochleagramTransformer()
    for y in mix.clean:
        out = fe.apply_mask(y, np.ones_like(fe.power(y)))
        assert out.shape == y.shape
        assert snr_db(y, out) >= 20
        assert stoi(y, out, SR) >= 0.99


@pytest.mark.parametrize("fe", [STFTTransformer(), CochleagramTransformer()],
                         ids=lambda f: type(f).__name__)
def test_mask_zero_silences_and_bad_masks_are_refused(mix, fe):
    y = mix.noisy[0]
    shape = fe.power(y).shape
    assert np.max(np.abs(fe.apply_mask(y, np.zeros(shape)))) < 1e-6
    with pytest.raises(ParameterError, match=rf"mask has shape \(3, 4\).*{shape[0]}, {shape[1]}"):
        fe.apply_mask(y, np.ones((3, 4)))
    with pytest.raises(ParameterError, match=r"\[0, 1\].*np.clip"):
        fe.apply_mask(y, np.full(shape, 1.2))
    bad = np.ones(shape)
    bad[0, 0] = np.nan
    with pytest.raises(ParameterError, match="NaN"):
        fe.apply_mask(y, bad)


@pytest.mark.parametrize("fe", [STFTTransformer(), CochleagramTransformer()],
                         ids=lambda f: type(f).__name__)
def test_oracle_irm_raises_stoi_at_0db(mix, fe):
    """The whole chain: analysis -> IRM target -> masked resynthesis, on real speech and noise."""
    masks = ideal_ratio_mask(mix.clean, mix.noise, fe)
    before = np.mean([stoi(c, y, SR) for c, y in zip(mix.clean, mix.noisy)])
    after = np.mean([stoi(c, fe.apply_mask(y, m), SR)
                     for c, y, m in zip(mix.clean, mix.noisy, masks)])
    assert after - before >= 0.15


def test_stft_hop_beyond_half_the_window_is_refused_not_zero_filled(mix):
    y = mix.clean[0][:8000]  # 8000 % 512 = 320 samples past the last frame's centre
    wide = STFTTransformer(sr=8000, n_fft=512, hop_length=512, window="boxcar")
    # a boxcar with hop = window passes the COLA check, but its last centred frame ends
    # 256 samples after its centre: the last 64 samples would come back as zeros
    with pytest.raises(ParameterError, match=r"hop_length <= win_length // 2 \(256\)"):
        wide.apply_mask(y, np.ones((wide.n_frames(8000), 257)))
    half = STFTTransformer(sr=8000, n_fft=512, hop_length=256, window="boxcar")
    half.check_resynthesis()
    out = half.apply_mask(y, np.ones((half.n_frames(8000), 257)))
    assert snr_db(y, out) > 40 and np.abs(out[-64:]).max() > 0
