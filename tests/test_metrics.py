"""sksep.metrics: the per-utterance scores, evaluate() and the scikit-learn scorers."""

import math
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pesq as pesq_pkg
import pystoi
import pytest
from conftest import _mix_at_snr
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

import sksep
from sksep.baselines import SpectralGating
from sksep.datasets import AudioCollection
from sksep.exceptions import AudioError, ParameterError, SampleRateError
from sksep.io import load, resample
from sksep.metrics import (
    estoi,
    estoi_scorer,
    evaluate,
    make_metric_scorer,
    mos_lqo_to_raw,
    pesq,
    pesq_scorer,
    si_sdr,
    si_sdr_scorer,
    snr,
    stoi,
    stoi_scorer,
)

SR = 16000
SAMPLE = Path(sksep.__file__).parent / "datasets" / "data" / "sample"
SPEECH_FILES = [
    "allison_en_confbridge-invalid.flac",
    "june_fr_followme-call-from.flac",
    "nsh_ru_ru_0058.flac",
]


@pytest.fixture(scope="module")
def speech():
    """Three real utterances of the bundled sample (en, fr, ru), at most 3 s each."""
    return [load(SAMPLE / "speech" / name)[0][: 3 * SR] for name in SPEECH_FILES]


@pytest.fixture(scope="module")
def noisy(speech):
    """The utterances with real babble (bundled sample) at 0 dB SNR."""
    babble = load(SAMPLE / "noise" / "babble_train_0.flac")[0]
    return [_mix_at_snr(s, babble[1000:], 0.0) for s in speech]


# -- single-utterance metrics -----------------------------------------------------------


def test_identical_signals_score_at_the_top(speech):
    s = speech[0]
    assert stoi(s, s, SR) == pytest.approx(1.0, abs=1e-6)
    assert estoi(s, s, SR) == pytest.approx(1.0, abs=1e-6)
    assert pesq(s, s, SR, mode="nb") == pytest.approx(4.549, abs=2e-3)  # P.862.1 ceiling
    assert pesq(s, s, SR, mode="wb") == pytest.approx(4.644, abs=2e-3)  # P.862.2 ceiling
    assert pesq(s, s, SR, raw=True) == pytest.approx(4.5, abs=1e-3)
    assert si_sdr(s, s) > 80
    assert snr(s, s) == math.inf


def test_noise_lowers_every_metric_and_more_noise_lowers_it_more(speech):
    s = speech[1]
    rng = np.random.default_rng(0)
    white = rng.standard_normal(s.size)
    scores = {}
    for snr_db in (10.0, 0.0):
        y = _mix_at_snr(s, white, snr_db)
        scores[snr_db] = [stoi(s, y, SR), estoi(s, y, SR), pesq(s, y, SR), si_sdr(s, y, SR)]
        assert snr(s, y) == pytest.approx(snr_db, abs=1e-3)
    assert all(hi > lo for hi, lo in zip(scores[10.0], scores[0.0], strict=True))
    assert scores[0.0][0] < 0.9 and scores[0.0][2] < 2.0
    assert si_sdr(s, _mix_at_snr(s, white, 0.0)) == pytest.approx(0.0, abs=0.2)


def test_values_equal_pystoi_and_pesq_called_directly(speech, noisy):
    s, y = speech[0], noisy[0]
    # (ESTOI: pystoi adds a 2e-16 dither from np.random, which sksep draws with a fixed seed)
    assert stoi(s, y, SR) == pytest.approx(pystoi.stoi(s, y, SR), rel=1e-12)
    assert estoi(s, y, SR) == pytest.approx(pystoi.stoi(s, y, SR, extended=True), rel=1e-12)
    assert pesq(s, y, SR, mode="wb") == pesq_pkg.pesq(SR, s, y, "wb")
    # narrow-band resamples to 8 kHz inside, with sksep.io.resample (soxr HQ)
    s8, y8 = resample(s, SR, 8000), resample(y, SR, 8000)
    assert pesq(s, y, SR, mode="nb") == pesq_pkg.pesq(8000, s8, y8, "nb")
    assert pesq(s8, y8, 8000) == pesq_pkg.pesq(8000, s8, y8, "nb")


def test_narrow_band_pesq_of_16k_audio_is_not_the_packages_16k_narrow_band(speech, noisy):
    # as documented: nb of 16 kHz audio scores the signals resampled to 8 kHz, not
    # pesq.pesq(16000, ..., "nb") on the 16 kHz signals (0.06 to 0.08 apart here)
    for s, y in zip(speech, noisy, strict=True):
        assert abs(pesq(s, y, SR) - pesq_pkg.pesq(SR, s, y, "nb")) > 0.03


def test_raw_pesq_inverts_the_p862_mappings(speech):
    s = speech[2]
    y = _mix_at_snr(s, np.random.default_rng(2).standard_normal(s.size), 25.0)
    for mode, (a, b) in {"nb": (1.4945, 4.6607), "wb": (1.3669, 3.8224)}.items():
        mos = pesq(s, y, SR, mode=mode)
        raw = pesq(s, y, SR, mode=mode, raw=True)
        assert raw == pytest.approx(mos_lqo_to_raw(mos, mode=mode))
        assert 0.999 + 4 / (1 + math.exp(-a * raw + b)) == pytest.approx(mos, abs=1e-6)
        assert 1.0 < raw < 4.5
    values = mos_lqo_to_raw(np.array([1.5, np.nan, 4.0]))
    assert values.shape == (3,) and np.isnan(values[1]) and values[0] < values[2]
    with pytest.raises(ParameterError, match="0.999 and 4.999"):
        mos_lqo_to_raw(5.2)
    with pytest.raises(ParameterError, match="mode"):
        mos_lqo_to_raw(3.0, mode="swb")


def test_si_sdr_is_scale_invariant_and_snr_is_not(speech, noisy):
    s, y = speech[0], noisy[0]
    assert si_sdr(s, 3.0 * y) == pytest.approx(si_sdr(s, y), abs=1e-6)
    assert si_sdr(s, y + 0.5) == pytest.approx(si_sdr(s, y), abs=1e-6)  # zero-mean
    assert snr(s, 3.0 * y) < snr(s, y)
    rng = np.random.default_rng(1)
    a, e = rng.standard_normal(48000), rng.standard_normal(48000)
    e -= e.mean() + np.dot(e, a - a.mean()) / np.dot(a - a.mean(), a - a.mean()) * (a - a.mean())
    expected = 10 * np.log10(np.sum((a - a.mean()) ** 2) / np.sum((0.1 * e) ** 2))
    assert si_sdr(a, 2 * (a + 0.1 * e)) == pytest.approx(expected, abs=1e-3)


def test_mismatched_lengths_name_both(speech):
    s = speech[0]
    message = rf"clean has {s.size} samples but estimate has {s.size - 5}"
    with pytest.raises(AudioError, match=message):
        stoi(s, s[:-5], SR)
    for f in (estoi, pesq, si_sdr, snr):
        with pytest.raises(AudioError, match="same length"):
            f(s, s[:-5], SR)


def test_bad_input_raises_clear_errors(speech):
    s = speech[0]
    silent = np.zeros_like(s)
    for f in (stoi, estoi, pesq, si_sdr, snr):
        with pytest.raises(AudioError, match="clean is silent"):
            f(silent, s, SR)
    bad = s.copy()
    bad[10] = np.nan
    with pytest.raises(AudioError, match="estimate contains 1 NaN"):
        stoi(s, bad, SR)
    with pytest.raises(AudioError, match="1-D mono"):
        pesq(np.stack([s, s]), np.stack([s, s]), SR)
    with pytest.raises(ParameterError, match="sr must be a positive"):
        stoi(s, s, -1)
    with pytest.raises(AudioError, match="estimate is silent"):
        pesq(s, silent, SR)
    with pytest.raises(AudioError, match="estimate is constant"):
        si_sdr(s, silent)
    with pytest.raises(ParameterError, match="mode must be 'nb'"):
        pesq(s, s, SR, mode="swb")
    s8 = resample(s, SR, 8000)
    with pytest.raises(ParameterError, match="16000 Hz or more, got sr=8000; use mode='nb'"):
        pesq(s8, s8, 8000, mode="wb")


def test_too_short_and_speechless_utterances_raise(speech):
    short = speech[0][: SR // 5]  # 0.2 s
    with pytest.raises(AudioError, match="too short for STOI"):
        stoi(short, short, SR)
    with pytest.raises(AudioError, match="too short for ESTOI"):
        estoi(short, short, SR)
    with pytest.raises(AudioError, match="too short for PESQ"):
        pesq(short, short, SR)
    # a 3.9 kHz tone lies outside PESQ's narrow-band input filter: no utterance found
    tone = np.sin(2 * np.pi * 3900 * np.arange(2 * 8000) / 8000).astype(np.float32)
    with pytest.raises(AudioError, match="no utterance"):
        pesq(tone, tone, 8000)


def _gated_tone(seconds=3.0, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0)


def test_pesq_refuses_levels_it_cannot_handle_naming_the_signal():
    c = _gated_tone()  # RMS level -6.0 dB
    # the pesq package raised a bare ValueError ("cannot convert float NaN to integer")
    # for these, or blamed clean for an estimate 600 dB too loud
    quiet, loud = "too quiet for PESQ: its level is", "too loud for PESQ: its level is"
    with pytest.raises(AudioError, match=rf"^estimate is {quiet} -606\.0 dB re full scale"):
        pesq(c, c * 1e-30, SR)
    with pytest.raises(AudioError, match=rf"^estimate is {quiet} -800\.0 dB"):
        pesq(c, np.full(c.size, 1e-40), SR)
    with pytest.raises(AudioError, match=rf"^clean is {loud} 594\.0 dB"):
        pesq(c * 1e30, c, SR)
    with pytest.raises(AudioError, match=rf"^estimate is {loud} 594\.0 dB"):
        pesq(c, c * 1e30, SR, mode="wb")
    # inside -150 to +150 dB the level does not change the score (PESQ aligns levels)
    y = c + np.random.default_rng(0).normal(0, 0.1, c.size)
    reference = pesq(c, y, SR)
    assert pesq(c, y * 10 ** (-140 / 20), SR) == pytest.approx(reference, abs=1e-3)
    assert pesq(c * 10 ** (140 / 20), y, SR) == pytest.approx(reference, abs=1e-3)
    with pytest.raises(AudioError, match=rf"^estimate is {quiet} -165\.9 dB"):
        pesq(c, y * 10 ** (-160 / 20), SR)


def test_pesq_turns_a_value_error_of_the_package_into_an_audio_error(monkeypatch):
    def broken(fs, ref, deg, mode):
        raise ValueError("cannot convert float NaN to integer")

    monkeypatch.setattr(pesq_pkg, "pesq", broken)
    c = _gated_tone()
    with pytest.raises(AudioError, match="PESQ failed on clean and estimate .*float NaN"):
        pesq(c, c, SR)
    # ... which evaluate() turns into NaN and a reason instead of dying
    table = evaluate([c, c], [c, c], SR, metrics=["pesq", "snr"], n_jobs=1)
    assert table["pesq"].isna().all() and (table["snr"] == math.inf).all()
    assert table.loc[0, "error"].startswith("pesq: PESQ failed on clean and estimate")


def test_evaluate_gives_nan_and_a_reason_for_levels_pesq_cannot_handle():
    c = _gated_tone()
    table = evaluate([c, c, c], [c, c * 1e-30, c * 1e30], SR, metrics=["pesq", "si_sdr"])
    assert table.loc[0, "pesq"] == pytest.approx(4.549, abs=2e-3) and table.loc[0, "error"] is None
    assert np.isnan(table.loc[1, "pesq"]) and np.isnan(table.loc[2, "pesq"])
    assert table["si_sdr"].tolist() == [math.inf] * 3
    assert table.loc[1, "error"].startswith("pesq: estimate is too quiet for PESQ")
    assert table.loc[2, "error"].startswith("pesq: estimate is too loud for PESQ")


def test_stoi_and_estoi_are_deterministic_and_keep_the_global_random_state(speech, noisy):
    s, y = speech[0][:2 * SR], noisy[0][:2 * SR]
    # pystoi's ESTOI adds a dither from np.random: 3 different values in 5 calls before
    assert len({estoi(s, y, SR) for _ in range(5)}) == 1
    assert len({estoi(s, np.zeros_like(s), SR) for _ in range(3)}) == 1  # was random around 0
    assert len({stoi(s, y, SR) for _ in range(3)}) == 1
    expected = _next_global_draws()
    for f in (stoi, estoi):
        assert np.array_equal(_next_global_draws(partial(f, s, y, SR)), expected)


def _next_global_draws(between=None):
    """Seed NumPy's legacy global generator, run ``between()``, return its next 3 draws."""
    np.random.seed(0)  # noqa: NPY002 (the generator pystoi draws from)
    if between is not None:
        between()
    return np.random.rand(3)  # noqa: NPY002


def test_the_global_random_state_is_restored_when_pystoi_fails(monkeypatch, speech):
    def broken(*args, **kwargs):
        np.random.seed(123)  # noqa: NPY002
        raise RuntimeError("boom")

    def call():
        with pytest.raises(RuntimeError, match="boom"):
            estoi(speech[0], speech[0], SR)

    monkeypatch.setattr(pystoi, "stoi", broken)
    assert np.array_equal(_next_global_draws(call), _next_global_draws())


def test_si_sdr_and_snr_keep_float64_precision():
    rng = np.random.default_rng(3)
    s = rng.standard_normal(16000)  # float64
    # a copy scaled in float64 is exact to float64 rounding: inf (was about 148 dB)
    for gain in (3.0, -0.7, 1 / 3, 1e-3):
        assert si_sdr(s, gain * s) == math.inf
    assert si_sdr(s + 0.3, 7.1 * (s + 0.3)) == math.inf
    # a copy scaled in float32 carries float32 rounding: finite, about 150 dB
    s32 = s.astype(np.float32)
    assert 140 < si_sdr(s32, np.float32(3) * s32) < 160
    # distortion far below float32 resolution is measured, not rounded away
    e = rng.standard_normal(16000)
    assert si_sdr(s, s + 1e-10 * e) == pytest.approx(200.0, abs=0.2)
    assert snr(s, s + 1e-10 * e) == pytest.approx(200.0, abs=0.2)
    # float64 samples beyond float32's range are scored, not refused as inf or silent
    for scale in (1e200, 1e-200):
        assert si_sdr(scale * s, scale * (s + 0.1 * e)) == pytest.approx(si_sdr(s, s + 0.1 * e))
        assert snr(scale * s, scale * (s + 0.1 * e)) == pytest.approx(snr(s, s + 0.1 * e))
    # and float64 input is still checked as check_waveform checks it
    bad = s.copy()
    bad[3] = np.inf
    with pytest.raises(AudioError, match="estimate contains 1 NaN or infinite sample"):
        si_sdr(s, bad)
    with pytest.raises(AudioError, match="clean is silent"):
        snr(np.zeros(100), s[:100])
    with pytest.raises(AudioError, match="1-D mono"):
        si_sdr(np.stack([s, s]), np.stack([s, s]))
    with pytest.raises(AudioError, match="integer samples"):
        snr((s * 1000).astype(np.int16), s)
    assert snr([1.0, 2.0], [1.0, 2.0]) == math.inf


# -- evaluate ---------------------------------------------------------------------------


def test_evaluate_table_one_row_per_utterance(speech, noisy):
    clean = AudioCollection(speech, SR, meta={"id": ["en", "fr", "ru"]})
    table = evaluate(clean, noisy, noisy=noisy, metrics=("stoi", "pesq", "si_sdr"))
    assert table.index.tolist() == ["en", "fr", "ru"]
    assert table.columns.tolist() == [
        "stoi", "pesq", "si_sdr", "stoi_noisy", "pesq_noisy", "si_sdr_noisy", "error",
    ]
    assert table["error"].isna().all()
    for i, (s, y) in enumerate(zip(speech, noisy, strict=True)):
        assert table["stoi"].iloc[i] == pytest.approx(stoi(s, y, SR), rel=1e-12)
        assert table["pesq"].iloc[i] == pesq(s, y, SR)
        assert table["si_sdr"].iloc[i] == si_sdr(s, y)
    assert table["stoi"].to_numpy() == pytest.approx(table["stoi_noisy"].to_numpy(), rel=1e-12)
    plain = evaluate(np.stack([s[:SR] for s in speech]), [y[:SR] for y in noisy], SR, "snr")
    assert plain.index.tolist() == [0, 1, 2]
    pairs = zip(speech, noisy, strict=True)
    assert plain["snr"].tolist() == [snr(s[:SR], y[:SR]) for s, y in pairs]


def test_evaluate_gives_nan_and_a_reason_instead_of_dying(speech, noisy):
    short = speech[0][: SR // 5]
    clean = [speech[0], short, np.zeros(SR, np.float32), speech[1]]
    ests = [noisy[0], short, noisy[1][:SR], noisy[1][:-3]]
    table = evaluate(clean, ests, SR, metrics=("stoi", "pesq", "si_sdr"))
    assert len(table) == 4
    assert table.loc[0, ["stoi", "pesq", "si_sdr"]].notna().all()
    assert table.loc[0, "error"] is None
    # too short: STOI and PESQ fail, SI-SDR still works
    assert np.isnan(table.loc[1, "stoi"]) and np.isnan(table.loc[1, "pesq"])
    assert table.loc[1, "si_sdr"] > 80
    assert "stoi: clean is too short for STOI" in table.loc[1, "error"]
    assert "pesq: clean is too short for PESQ" in table.loc[1, "error"]
    # silent reference: every metric fails, the reason says so
    assert table.loc[2, ["stoi", "pesq", "si_sdr"]].isna().all()
    assert table.loc[2, "error"].count("clean is silent") == 3
    # lengths differ
    assert table.loc[3, ["stoi", "pesq", "si_sdr"]].isna().all()
    assert f"but estimate has {speech[1].size - 3}" in table.loc[3, "error"]


def test_evaluate_custom_metrics_and_whole_call_errors(speech, noisy):
    table = evaluate(speech, noisy, SR, metrics={"len_s": lambda c, e, sr: c.size / sr,
                                                 "nan": lambda c, e, sr: math.nan})
    assert table["len_s"].tolist() == [s.size / SR for s in speech]
    assert table["error"].tolist() == ["nan: the metric returned NaN"] * 3
    with pytest.raises(ParameterError, match="unknown metric 'pesq_swb'"):
        evaluate(speech, noisy, SR, metrics=["stoi", "pesq_swb"])
    with pytest.raises(ParameterError, match="clean holds 3 utterances but estimates holds 2"):
        evaluate(speech, noisy[:2], SR)
    with pytest.raises(ParameterError, match="sr is required"):
        evaluate(speech, noisy)
    with pytest.raises(SampleRateError, match="sr=8000 Hz was given but clean is at 16000"):
        evaluate(AudioCollection(speech, SR), noisy, 8000)
    with pytest.raises(AudioError, match=r"wrap a single utterance in a list, e.g. \[y\]"):
        evaluate(speech[0], noisy[0], SR)
    with pytest.raises(ParameterError, match="metrics is empty"):
        evaluate(speech, noisy, SR, metrics=[])


def test_parallel_evaluate_is_identical_to_sequential(speech, noisy):
    # seven utterances of unequal lengths, one of which cannot be scored
    clean = [s[: n * SR // 2] for s in speech for n in (3, 5)] + [speech[0][:1000]]
    ests = [y[: n * SR // 2] for y in noisy for n in (3, 5)] + [noisy[0][:1000]]
    sequential = evaluate(clean, ests, SR, n_jobs=1)
    parallel = evaluate(clean, ests, SR, n_jobs=2, verbose=True)
    pd.testing.assert_frame_equal(parallel, sequential, check_exact=True)
    assert sequential.iloc[:6].drop(columns="error").notna().all().all()
    assert sequential["error"].iloc[6].startswith("stoi: clean is too short")


def test_parallel_estoi_is_identical_to_sequential(speech, noisy):
    # ESTOI's dither came from each process's own global generator: values differed
    # between n_jobs=1 and n_jobs=2 (wildly so for an estimate with no speech left)
    clean = [s[: 2 * SR] for s in speech] * 2
    ests = [y[: 2 * SR] for y in noisy] + [np.zeros_like(s[: 2 * SR]) for s in speech]
    sequential = evaluate(clean, ests, SR, metrics=["stoi", "estoi"], n_jobs=1)
    parallel = evaluate(clean, ests, SR, metrics=["stoi", "estoi"], n_jobs=2)
    assert sequential["estoi"].notna().all()
    assert np.array_equal(parallel["estoi"].to_numpy(), sequential["estoi"].to_numpy())
    pd.testing.assert_frame_equal(parallel, sequential, check_exact=True)


def test_guided_chunks_deal_every_utterance_once_longest_first_and_shrink():
    from sksep.metrics._evaluate import _guided_chunks

    sizes = np.random.default_rng(0).integers(8000, 40000, 100).tolist()
    chunks = _guided_chunks(sizes, 2)
    assert sorted(i for c in chunks for i in c) == list(range(100))
    work = [sum(sizes[i] for i in c) for c in chunks]
    # the first chunk takes about a quarter of the audio, the last ones single utterances
    assert 0.25 <= work[0] / sum(sizes) < 0.3
    assert len(chunks[-1]) == 1 and len(chunks) < 30
    # longest utterances go out first: every utterance of a chunk is at least as long
    # as every utterance of the chunks after it
    shortest = [min(sizes[i] for i in c) for c in chunks]
    longest = [max(sizes[i] for i in c) for c in chunks]
    assert all(a >= b for a, b in zip(shortest[:-1], longest[1:]))
    assert _guided_chunks([5], 4) == [[0]] and _guided_chunks([], 2) == []


# -- scorers ----------------------------------------------------------------------------


def test_scorers_return_the_mean_metric_of_predict(speech, noisy):
    gate = SpectralGating(sr=SR).fit(noisy)
    enhanced = gate.predict(noisy)
    expected = evaluate(speech, enhanced, SR, metrics=("stoi", "estoi", "pesq", "si_sdr")).mean(
        numeric_only=True
    )
    for scorer, name in ((stoi_scorer, "stoi"), (estoi_scorer, "estoi"), (pesq_scorer, "pesq"),
                         (si_sdr_scorer, "si_sdr")):
        assert scorer(gate, noisy, speech) == pytest.approx(expected[name], rel=1e-12)
    assert gate.score(noisy, speech) == pytest.approx(expected["stoi"], rel=1e-12)
    assert repr(make_metric_scorer("snr")) == "make_metric_scorer('snr')"
    with pytest.raises(ParameterError, match="unknown metric"):
        make_metric_scorer("mos")


def test_scorers_skip_unscorable_utterances_with_a_warning(speech):
    gate = SpectralGating(sr=SR).fit(speech)
    short = speech[0][: SR // 5]
    with pytest.warns(RuntimeWarning, match="could not score 1 of 2 utterances"):
        value = stoi_scorer(gate, [speech[1], short], [speech[1], short])
    assert value == pytest.approx(stoi(speech[1], gate.predict([speech[1]])[0], SR))
    with pytest.warns(RuntimeWarning, match="could not score any of the 1"):
        assert math.isnan(stoi_scorer(gate, [short], [short]))


def test_scorers_need_a_sample_rate(speech):
    class NoRate:
        def predict(self, X):
            return list(X)

    with pytest.raises(ParameterError, match="cannot tell the sample rate"):
        stoi_scorer(NoRate(), speech, speech)
    # an AudioCollection carries its rate
    assert stoi_scorer(NoRate(), AudioCollection(speech, SR), speech) == pytest.approx(1.0)


def test_scorers_in_cross_validate_and_grid_search(speech, noisy):
    X = [y[: 2 * SR] for y in noisy] * 2
    y = [s[: 2 * SR] for s in speech] * 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no utterance may be dropped here
        result = cross_validate(
            SpectralGating(sr=SR), X, y, cv=KFold(2),
            scoring={"stoi": stoi_scorer, "pesq": pesq_scorer, "si_sdr": si_sdr_scorer},
        )
    for key in ("test_stoi", "test_pesq", "test_si_sdr"):
        assert np.isfinite(result[key]).all() and result[key].shape == (2,)
    assert 0.3 < result["test_stoi"].mean() < 1.0
    search = GridSearchCV(
        SpectralGating(sr=SR), {"prop_decrease": [0.0, 1.0]}, cv=KFold(2),
        scoring={"stoi": stoi_scorer, "si_sdr": si_sdr_scorer}, refit="si_sdr",
    )
    search.fit(X, y)
    # prop_decrease=0 returns the noisy input: its SI-SDR is that of the mixture (about 0 dB)
    scores = search.cv_results_["mean_test_si_sdr"]
    assert scores[0] == pytest.approx(np.mean([si_sdr(c, n) for c, n in zip(y, X, strict=True)]),
                                      abs=0.05)
    assert search.best_params_ == {"prop_decrease": [0.0, 1.0][int(np.argmax(scores))]}


def test_one_scorer_for_several_metrics_predicts_once(speech, noisy):
    class Counting(SpectralGating):
        calls = 0

        def predict(self, X):
            type(self).calls += 1
            return super().predict(X)

    X = [y[: 2 * SR] for y in noisy] * 2
    y = [s[: 2 * SR] for s in speech] * 2
    both = make_metric_scorer(["stoi", "pesq"])
    assert repr(both) == "make_metric_scorer(('stoi', 'pesq'))"
    gate = Counting(sr=SR).fit(X)
    values = both(gate, X, y)
    assert Counting.calls == 1 and set(values) == {"stoi", "pesq"}
    assert values["stoi"] == pytest.approx(stoi_scorer(gate, X, y), rel=1e-12)
    assert values["pesq"] == pytest.approx(pesq_scorer(gate, X, y), rel=1e-12)
    Counting.calls = 0
    search = GridSearchCV(Counting(sr=SR), {"prop_decrease": [0.0, 1.0]}, cv=KFold(2),
                          scoring=both, refit="stoi").fit(X, y)
    # 2 candidates x 2 folds: one predict per fold for both metrics (plus none for refit)
    assert Counting.calls == 4
    assert np.isfinite(search.cv_results_["mean_test_pesq"]).all()
    best = int(np.argmax(search.cv_results_["mean_test_stoi"]))
    assert search.best_params_["prop_decrease"] == [0.0, 1.0][best]
    for bad in ([], ["stoi", "stoi"], ["stoi", "mos"], 3):
        with pytest.raises(ParameterError):
            make_metric_scorer(bad)
