"""sksep.baselines: classical enhancers and the oracle masks, on real speech."""

from pathlib import Path

import noisereduce
import numpy as np
import pytest
from conftest import _mix_at_snr
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

import sksep
from sksep.baselines import IterativeWiener, OracleMask, SpectralGating, SpectralSubtraction
from sksep.datasets import AudioCollection
from sksep.exceptions import AudioError, ParameterError, SampleRateError
from sksep.features import CochleagramTransformer, STFTTransformer
from sksep.io import load
from sksep.metrics import evaluate, si_sdr, si_sdr_scorer, stoi, stoi_scorer
from sksep.targets import ideal_ratio_mask

SR = 16000
SAMPLE = Path(sksep.__file__).parent / "datasets" / "data" / "sample"
CLASSICAL = [SpectralGating, SpectralSubtraction, IterativeWiener]


@pytest.fixture(scope="module")
def pairs():
    """Two real utterances (en, ru; bundled sample) in white noise at 0 dB: (noisy, clean)."""
    names = ["allison_en_confbridge-invalid.flac", "nsh_ru_ru_0058.flac"]
    clean = [load(SAMPLE / "speech" / name)[0][: 5 * SR // 2] for name in names]
    rng = np.random.default_rng(0)
    noisy = [_mix_at_snr(s, rng.standard_normal(s.size), 0.0) for s in clean]
    return noisy, clean


@pytest.mark.parametrize("cls", CLASSICAL)
def test_classical_baseline_keeps_length_and_raises_si_sdr(cls, pairs):
    noisy, clean = pairs
    inputs = noisy + [noisy[0][:3001]]  # an odd length, not a multiple of any hop
    est = cls(sr=SR)
    assert est.fit(inputs, clean + [clean[0][:3001]]) is est
    assert est.sr_ == SR
    out = est.predict(inputs)
    assert [y.shape for y in out] == [y.shape for y in inputs]
    assert all(y.dtype == np.float32 and np.isfinite(y).all() for y in out)
    gains = [si_sdr(s, e) - si_sdr(s, y) for s, y, e in zip(clean, noisy, out[:2], strict=True)]
    assert np.mean(gains) > 0.5, gains
    # the frame delay is removed: the output is aligned with the input
    lag = np.argmax(np.correlate(out[0][:8000], noisy[0][:8000], "full")) - 7999
    assert lag == 0


def test_baselines_sit_in_the_same_table(pairs):
    noisy, clean = pairs
    rows = {"noisy": evaluate(clean, noisy, SR, metrics=("stoi", "si_sdr")).mean(numeric_only=True)}
    for cls in CLASSICAL:
        rows[cls.__name__] = evaluate(
            clean, cls(sr=SR).fit(noisy).predict(noisy), SR, metrics=("stoi", "si_sdr")
        ).mean(numeric_only=True)
    assert all(np.isfinite(r).all() for r in rows.values())
    assert rows["SpectralGating"]["si_sdr"] > rows["noisy"]["si_sdr"]


def test_spectral_gating_score_is_mean_stoi(pairs):
    noisy, clean = pairs
    gate = SpectralGating(sr=SR, stationary=True).fit(noisy)
    enhanced = gate.predict(noisy)
    expected = np.mean([stoi(s, e, SR) for s, e in zip(clean, enhanced, strict=True)])
    assert gate.score(noisy, clean) == pytest.approx(expected, rel=1e-12)
    # prop_decrease=0 removes nothing: the output is (almost) the input
    same = SpectralGating(sr=SR, prop_decrease=0.0).fit(noisy).predict(noisy)
    assert si_sdr(noisy[0], same[0]) > 30


def test_stationary_gating_takes_utterances_shorter_than_n_fft(pairs):
    # scipy refused the noise statistics' STFT below n_fft - n_fft // 4 + 1 samples
    # ("noverlap must be less than nperseg")
    noisy, clean = pairs
    rng = np.random.default_rng(1)
    for n_fft, lengths in [(1024, (1, 2, 300, 512, 768, 1023)), (256, (1, 100, 192))]:
        short = [rng.normal(0, 0.1, n).astype(np.float32) for n in lengths]
        out = SpectralGating(sr=SR, stationary=True, n_fft=n_fft).fit(short).predict(short)
        assert [y.shape for y in out] == [y.shape for y in short]
        assert all(y.dtype == np.float32 and np.isfinite(y).all() for y in out)
        # noise only: gated down, as a long noise-only input is
        assert all(np.std(e) < 0.5 * np.std(y)
                   for y, e in zip(short[1:], out[1:], strict=True))
    # a short piece of speech in noise still gains, like the whole utterance
    piece, truth = noisy[0][8000:8800], clean[0][8000:8800]
    gated = SpectralGating(sr=SR, stationary=True).fit([piece]).predict([piece])[0]
    assert si_sdr(truth, gated) > si_sdr(truth, piece)
    # utterances of n_fft samples or more are gated exactly as before (no noise copy made)
    long = noisy[0][:1024]
    expected = noisereduce.reduce_noise(y=long, sr=SR, stationary=True, n_jobs=1,
                                        use_tqdm=False)
    got = SpectralGating(sr=SR, stationary=True).fit([long]).predict([long])[0]
    np.testing.assert_allclose(got, expected.astype(np.float32), atol=1e-7)


@pytest.mark.parametrize("cls", CLASSICAL)
def test_estimator_contract(cls, pairs):
    noisy, _ = pairs
    est = cls(sr=8000)
    assert clone(est).get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        est.predict(noisy)
    with pytest.raises(SampleRateError, match="sr=8000 Hz but the audio is at 16000 Hz"):
        est.fit(AudioCollection(noisy, SR))
    fitted = cls(sr=SR).fit(AudioCollection(noisy, SR))
    with pytest.raises(SampleRateError):
        fitted.predict(AudioCollection(noisy, 8000))
    with pytest.raises(AudioError, match="single 1-D waveform"):
        fitted.predict(noisy[0])
    with pytest.raises(ParameterError, match="sr must be a positive"):
        cls(sr=0).fit(noisy)


@pytest.mark.parametrize(
    ("est", "message"),
    [
        (SpectralGating(prop_decrease=1.5), "prop_decrease must be <= 1.0"),
        (SpectralGating(stationary="yes"), "stationary must be True or False"),
        (SpectralGating(n_fft=100.5), "n_fft must be an integer"),
        (SpectralSubtraction(n_fft=511), "n_fft must be even"),
        (SpectralSubtraction(lookback=0), "lookback must be >= 1"),
        (IterativeWiener(lpc_order=600), "lpc_order must be below frame_len=512"),
        (IterativeWiener(alpha=-0.1), "alpha must be >= 0.0"),
    ],
)
def test_bad_parameters_are_refused_at_fit(est, message, pairs):
    with pytest.raises(ParameterError, match=message):
        est.fit(pairs[0])


# -- the oracle ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def babble_pairs():
    """Two real utterances in real babble (bundled sample) at 0 dB: (noisy, clean)."""
    names = ["allison_en_confbridge-invalid.flac", "nsh_ru_ru_0058.flac"]
    clean = [load(SAMPLE / "speech" / name)[0][: 2 * SR] for name in names]
    babble = load(SAMPLE / "noise" / "babble_train_0.flac")[0]
    noisy = [_mix_at_snr(s, babble[4000:], 0.0) for s in clean]
    return noisy, clean


@pytest.mark.parametrize("frontend", [None, CochleagramTransformer(sr=SR, n_channels=32)],
                         ids=["stft", "cochleagram"])
@pytest.mark.parametrize("kind", ["irm", "ibm"])
def test_oracle_mask_is_far_above_the_noisy_input(frontend, kind, babble_pairs):
    noisy, clean = babble_pairs
    oracle = OracleMask(frontend, kind=kind).fit(noisy)
    assert oracle.sr_ == SR
    out = oracle.predict(noisy, clean)
    assert [y.shape for y in out] == [y.shape for y in noisy]
    assert all(y.dtype == np.float32 for y in out)
    before = evaluate(clean, noisy, SR, metrics=("stoi", "si_sdr")).mean(numeric_only=True)
    after = evaluate(clean, out, SR, metrics=("stoi", "si_sdr")).mean(numeric_only=True)
    assert after["stoi"] > before["stoi"] + 0.1
    assert after["si_sdr"] > before["si_sdr"] + 3
    assert oracle.score(noisy, clean) == pytest.approx(after["stoi"], rel=1e-12)


def test_oracle_irm_applies_exactly_the_ideal_ratio_mask(babble_pairs):
    noisy, clean = babble_pairs
    stft = STFTTransformer(sr=SR)
    out = OracleMask(stft, kind="irm", beta=1.0).fit(noisy).predict(noisy[:1], clean[:1])[0]
    mask = ideal_ratio_mask(clean[0], noisy[0] - clean[0], stft, beta=1.0)
    np.testing.assert_allclose(out, stft.apply_mask(noisy[0], mask), atol=1e-6)


def test_oracle_needs_the_clean_signal(babble_pairs):
    noisy, clean = babble_pairs
    oracle = OracleMask().fit(noisy)
    with pytest.raises(ParameterError, match=r"needs the clean speech.*ceiling"):
        oracle.predict(noisy)
    with pytest.raises(AudioError, match=r"X\[0\] has 32000 samples but clean\[0\] has 31999"):
        oracle.predict(noisy[:1], [clean[0][:-1]])
    with pytest.raises(ParameterError, match="X holds 2 utterances but clean holds 1"):
        oracle.predict(noisy, clean[:1])
    with pytest.raises(NotFittedError):
        OracleMask().predict(noisy, clean)
    with pytest.raises(ParameterError, match="kind must be 'irm' or 'ibm'"):
        OracleMask(kind="crm").fit(noisy)
    with pytest.raises(ParameterError, match="frontend must be a T-F front end"):
        OracleMask(frontend="stft").fit(noisy)
    with pytest.raises(SampleRateError):
        OracleMask(STFTTransformer(sr=8000)).fit(AudioCollection(noisy, SR))


def test_oracle_checks_and_fits_its_front_end_in_fit(babble_pairs):
    noisy, _ = babble_pairs
    # a bad front end used to pass fit and fail only in predict
    for args in [(noisy,), ()]:
        with pytest.raises(ParameterError, match="n_fft must be >= 2, got n_fft=-3"):
            OracleMask(frontend=STFTTransformer(n_fft=-3)).fit(*args)
    with pytest.raises(ParameterError, match="apply_mask needs center=True"):
        OracleMask(frontend=STFTTransformer(center=False)).fit(noisy)
    with pytest.raises(AudioError, match="at least 512 samples"):
        OracleMask(CochleagramTransformer(sr=SR, n_channels=8)).fit([noisy[0][:100]])
    # frontend_ is the fitted clone the docstring describes
    stft = STFTTransformer(sr=SR, n_fft=256, hop_length=128)
    oracle = OracleMask(stft).fit(noisy)
    assert oracle.frontend_ is not stft and not hasattr(stft, "n_bins_")
    assert oracle.frontend_.n_bins_ == 129
    assert OracleMask().fit(noisy).frontend_.n_bins_ == 257


def test_oracle_in_cross_validate_and_grid_search(babble_pairs):
    noisy, clean = babble_pairs
    X, y = noisy * 2, clean * 2
    result = cross_validate(OracleMask(), X, y, cv=KFold(2), scoring={"stoi": stoi_scorer})
    assert (result["test_stoi"] > 0.8).all()
    search = GridSearchCV(OracleMask(), {"kind": ["irm", "ibm"]}, cv=KFold(2),
                          scoring=si_sdr_scorer).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert clone(OracleMask(STFTTransformer(n_fft=256))).get_params()["frontend__n_fft"] == 256
