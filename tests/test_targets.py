"""Ideal ratio and binary masks on the front ends' own T-F power."""

import numpy as np
import pytest

from sksep.exceptions import AudioError, ParameterError
from sksep.features import CochleagramTransformer, FrameList, STFTTransformer
from sksep.targets import ideal_binary_mask, ideal_ratio_mask


@pytest.fixture(scope="module")
def parts():
    rng = np.random.default_rng(0)
    t = np.arange(8000) / 16000
    s = (0.5 * np.sin(2 * np.pi * 500 * t)).astype(np.float32)
    n = (0.05 * rng.standard_normal(8000)).astype(np.float32)
    return s, n


@pytest.mark.parametrize("fe", [STFTTransformer(), CochleagramTransformer()],
                         ids=lambda f: type(f).__name__)
def test_irm_is_the_power_ratio(parts, fe):
    s, n = parts
    S2, N2 = fe.power(s).astype(float), fe.power(n).astype(float)
    m = ideal_ratio_mask(s, n, fe)
    assert m.shape == S2.shape and m.dtype == np.float32
    np.testing.assert_allclose(m, np.sqrt(S2 / (S2 + N2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ideal_ratio_mask(s, n, fe, beta=1.0), S2 / (S2 + N2), rtol=1e-5,
                               atol=1e-6)


def test_irm_high_on_speech_bin_low_elsewhere(parts):
    s, n = parts
    m = ideal_ratio_mask(s, n, STFTTransformer())
    assert m[:, 16].mean() > 0.95  # 500 Hz bin (16000 / 512 * 16)
    assert m[:, 200].mean() < 0.3


def test_ibm_threshold(parts):
    s, n = parts
    fe = CochleagramTransformer()
    S2, N2 = fe.power(s).astype(float), fe.power(n).astype(float)
    for lc in (-5.0, 0.0, 10.0):
        m = ideal_binary_mask(s, n, fe, lc_db=lc)
        np.testing.assert_array_equal(m, (10 * np.log10(S2 / N2) > lc).astype(np.float32))
    assert set(np.unique(m)) <= {0.0, 1.0}


def test_lists_give_lists_and_silence_gives_zero(parts):
    s, n = parts
    fe = STFTTransformer()
    masks = ideal_ratio_mask([s, s[:4000]], [n, n[:4000]], fe)
    assert isinstance(masks, FrameList) and [m.shape for m in masks] == [(32, 257), (16, 257)]
    silent = ideal_ratio_mask(np.zeros(4000), np.zeros(4000), fe)
    assert not silent.any()
    assert ideal_binary_mask(s, np.zeros_like(s), fe)[:, 16].all()


def test_target_errors(parts):
    s, n = parts
    fe = STFTTransformer()
    with pytest.raises(AudioError, match="clean has 8000 samples but noise has 7999"):
        ideal_ratio_mask(s, n[:-1], fe)
    with pytest.raises(AudioError, match=r"clean\[1\] has 4000 samples but noise\[1\] has 8000"):
        ideal_binary_mask([s, s[:4000]], [n, n], fe)
    with pytest.raises(AudioError, match="clean has 2 utterances but noise has 1"):
        ideal_ratio_mask([s, s], [n], fe)
    with pytest.raises(ParameterError, match="beta"):
        ideal_ratio_mask(s, n, fe, beta=0)
    with pytest.raises(ParameterError, match="front end"):
        ideal_ratio_mask(s, n, object())
    with pytest.raises(AudioError, match="only 100 samples"):
        ideal_ratio_mask(s[:100], n[:100], fe)


def test_targets_refuse_audio_at_another_rate(parts):
    from sksep.datasets import AudioCollection
    from sksep.exceptions import SampleRateError

    s, n = parts
    clean, noise = AudioCollection([s], sr=16000), AudioCollection([n], sr=16000)
    for target in (ideal_ratio_mask, ideal_binary_mask):
        for fe in (STFTTransformer(sr=8000), CochleagramTransformer(sr=8000, fmax=4000)):
            with pytest.raises(SampleRateError, match="sr=8000 Hz but the audio is at 16000"):
                target(clean, noise, fe)
        # at the front end's own rate the same collections give one mask each
        assert len(target(clean, noise, STFTTransformer(sr=16000))) == 1
