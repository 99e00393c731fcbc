"""SpeechEnhancer: fit from (noisy, clean), predict waveforms, score STOI, in GridSearchCV."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline

from sksep import SpeechEnhancer
from sksep.datasets import load_sample, make_mixtures
from sksep.exceptions import AudioError, ParameterError, SampleRateError
from sksep.features import (
    CochleagramTransformer,
    ContextStacker,
    FrameStandardizer,
    STFTTransformer,
)
from sksep.metrics import pesq_scorer, stoi, stoi_scorer
from sksep.models import DNN0Regressor

SR = 8000


@pytest.fixture(scope="module")
def mixtures():
    speech, noise = load_sample(sr=SR)
    # two utterances of each training speaker, short ones first: fast and speaker-grouped
    picks = []
    for spk in sorted(set(speech.train.column("speaker"))):
        idx = np.flatnonzero(speech.train.column("speaker") == spk)
        idx = idx[np.argsort(speech.train.durations[idx])][:2]
        picks.extend(idx.tolist())
    train = make_mixtures(speech.train[picks], noise.train, snr_db=[0, 5], random_state=0)
    test = make_mixtures(speech.test[:2], noise.test, snr_db=[0], random_state=1)
    return train, test


def tiny(front_end=None, epochs=2):
    return make_pipeline(
        front_end or STFTTransformer(sr=SR, n_fft=256, hop_length=128),
        ContextStacker(1),
        FrameStandardizer(),
        DNN0Regressor(module__hidden_dim=32, module__n_layers=2, max_epochs=epochs,
                      random_state=0, verbose=0),
    )


def test_fit_predict_keeps_lengths_and_scores_stoi(mixtures):
    train, test = mixtures
    enh = SpeechEnhancer(tiny()).fit(train.noisy, train.clean)
    assert enh.sr_ == SR
    out = enh.predict(test.noisy)
    assert len(out) == len(test)
    for y, e in zip(test.noisy, out, strict=True):
        assert e.shape == y.shape and e.dtype == np.float32 and np.isfinite(e).all()
    masks = enh.predict_mask(test.noisy)
    assert all(0.0 <= m.min() and m.max() <= 1.0 for m in masks)
    expected = np.mean([stoi(c, e, SR) for c, e in zip(test.clean, out, strict=True)])
    assert enh.score(test.noisy, test.clean) == pytest.approx(expected)
    # an utterance STOI cannot score (shorter than its 30-frame segment) is left out, with a word
    short_noisy = [*test.noisy.to_list(), test.noisy[0][:2000]]
    short_clean = [*test.clean.to_list(), test.clean[0][:2000]]
    with pytest.warns(RuntimeWarning, match="could not score 1 of 3 utterances"):
        assert enh.score(short_noisy, short_clean) == pytest.approx(expected)


def test_original_estimator_is_left_unfitted(mixtures):
    train, _ = mixtures
    pipe = tiny()
    enh = SpeechEnhancer(pipe).fit(train.noisy, train.clean)
    assert not hasattr(pipe.steps[-1][1], "module_")
    assert hasattr(enh.estimator_.steps[-1][1], "module_")
    unfitted = clone(enh)
    assert not hasattr(unfitted, "estimator_")
    assert unfitted.get_params()["target"] == "irm"


def test_level_normalisation_makes_masks_level_invariant(mixtures):
    train, test = mixtures
    enh = SpeechEnhancer(tiny()).fit(train.noisy, train.clean)
    quiet = [0.05 * y for y in test.noisy]
    for a, b in zip(enh.predict_mask(test.noisy), enh.predict_mask(quiet), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3)  # float32 rounding of the rescaled input
    # and the output keeps the input's level
    loud, soft = enh.predict(test.noisy[:1])[0], enh.predict(quiet[:1])[0]
    np.testing.assert_allclose(soft, 0.05 * loud, atol=1e-5)


def test_mask_exponent_sharpens_the_applied_mask_without_refitting(mixtures):
    train, test = mixtures
    enh = SpeechEnhancer(tiny()).fit(train.noisy, train.clean)
    plain, out = enh.predict_mask(test.noisy), enh.predict(test.noisy)
    enh.set_params(mask_exponent=2.0)
    for a, b in zip(plain, enh.predict_mask(test.noisy), strict=True):
        np.testing.assert_allclose(b, a**2, rtol=1e-6)
    sharp = enh.predict(test.noisy)
    # a smaller mask everywhere leaves less energy in every output
    for y, e in zip(out, sharp, strict=True):
        assert np.sum(e.astype(float) ** 2) < np.sum(y.astype(float) ** 2)
    with pytest.raises(ParameterError, match="mask_exponent must be > 0, got mask_exponent=0"):
        enh.set_params(mask_exponent=0).predict(test.noisy)


def test_binary_target_trains(mixtures):
    train, test = mixtures
    enh = SpeechEnhancer(tiny(), target="ibm").fit(train.noisy, train.clean)
    assert len(enh.predict(test.noisy)) == len(test)


def test_pickle_round_trip_gives_identical_output(mixtures):
    train, test = mixtures
    enh = SpeechEnhancer(tiny()).fit(train.noisy, train.clean)
    again = pickle.loads(pickle.dumps(enh))
    for a, b in zip(enh.predict(test.noisy), again.predict(test.noisy), strict=True):
        np.testing.assert_array_equal(a, b)


def test_grid_search_over_features_and_networks_by_speaker(mixtures):
    train, test = mixtures
    grid = {
        "estimator": [
            tiny(STFTTransformer(sr=SR, n_fft=256, hop_length=128), epochs=1),
            tiny(CochleagramTransformer(sr=SR, n_channels=16, frame_length=256,
                                        hop_length=128), epochs=1),
        ]
    }
    search = GridSearchCV(
        SpeechEnhancer(tiny()),
        grid,
        scoring={"stoi": stoi_scorer, "pesq": pesq_scorer},
        refit="stoi",
        cv=GroupKFold(n_splits=3),
        error_score="raise",
    )
    search.fit(train.noisy, train.clean, groups=train.speaker)
    res = search.cv_results_
    assert len(res["params"]) == 2
    for key in ("mean_test_stoi", "mean_test_pesq"):
        assert np.isfinite(res[key]).all()
    assert 0 < res["mean_test_stoi"].max() <= 1
    assert search.best_index_ == int(np.argmax(res["mean_test_stoi"]))
    out = search.predict(test.noisy)
    assert [len(e) for e in out] == [len(y) for y in test.noisy]


def test_cross_validate_reports_scores(mixtures):
    train, _ = mixtures
    cv = cross_validate(SpeechEnhancer(tiny(epochs=1)), train.noisy, train.clean,
                        groups=train.speaker, cv=GroupKFold(n_splits=3),
                        scoring=stoi_scorer, error_score="raise")
    assert cv["test_score"].shape == (3,)
    assert np.isfinite(cv["test_score"]).all()


def test_bad_inputs_are_refused_with_clear_errors(mixtures):
    train, _ = mixtures
    noisy, clean = train.noisy.to_list(), train.clean.to_list()
    with pytest.raises(AudioError, match="samples"):
        SpeechEnhancer(tiny()).fit(noisy[:2], [clean[0], clean[1][:-5]])
    with pytest.raises(AudioError, match="utterances"):
        SpeechEnhancer(tiny()).fit(noisy[:2], clean[:1])
    fitted = SpeechEnhancer(tiny(epochs=1)).fit(noisy, clean)
    with pytest.raises(AudioError, match="3 utterances but y has 2"):
        fitted.score(noisy[:3], clean[:2])
    with pytest.raises(ParameterError, match="target"):
        SpeechEnhancer(tiny(), target="crm").fit(noisy, clean)
    with pytest.raises(ParameterError, match="front end"):
        SpeechEnhancer(make_pipeline(FrameStandardizer())).fit(noisy, clean)
    with pytest.raises(SampleRateError, match="16000"):
        SpeechEnhancer(tiny()).fit(train.noisy.resample(16000), train.clean.resample(16000))
    with pytest.raises(SampleRateError, match="16000"):  # the clean speech's rate too
        SpeechEnhancer(tiny()).fit(train.noisy, train.clean.resample(16000))
    with pytest.raises(SampleRateError, match="16000"):
        fitted.score(train.noisy, train.clean.resample(16000))
    bad = [y.copy() for y in noisy]
    bad[1][10] = np.nan
    with pytest.raises(AudioError, match=r"X\[1\].*NaN"):
        SpeechEnhancer(tiny()).fit(bad, clean)


def test_settings_that_cannot_resynthesise_fail_before_training(mixtures):
    train, _ = mixtures
    noisy, clean = train.noisy, train.clean
    cases = [
        (STFTTransformer(sr=SR, n_fft=256, hop_length=128, center=False), "center=True"),
        (STFTTransformer(sr=SR, n_fft=240, hop_length=180), "COLA"),
        (STFTTransformer(sr=SR, n_fft=256, hop_length=256, window="boxcar"),
         r"hop_length <= win_length // 2 \(128\)"),
    ]
    for front_end, reason in cases:
        net = DNN0Regressor(module__hidden_dim=8, max_epochs=1, verbose=0)
        enh = SpeechEnhancer(make_pipeline(front_end, net))
        with pytest.raises(ParameterError, match=reason):
            enh.fit(noisy, clean)
        with pytest.raises(ParameterError, match=reason):
            enh.fit_stream(clean, noisy, snr_db=0)
        assert not hasattr(enh, "estimator_")
    # a bare front end, or a pipeline of one step, estimates no mask
    for est in (STFTTransformer(sr=SR), make_pipeline(STFTTransformer(sr=SR))):
        with pytest.raises(ParameterError, match="needs a Pipeline of a front end"):
            SpeechEnhancer(est).fit(noisy, clean)


def test_parameters_are_checked_naming_them(mixtures):
    train, _ = mixtures
    bad = [({"beta": None}, "beta must be a finite number"),
           ({"beta": 0}, "beta must be > 0"),
           ({"level_db": "loud"}, "level_db must be a finite number"),
           ({"lc_db": np.nan}, "lc_db must be a finite number"),
           ({"mask_exponent": "2"}, "mask_exponent must be a finite number"),
           ({"batch_utterances": 2.5}, "batch_utterances must be an integer"),
           ({"batch_utterances": True}, "batch_utterances must be an integer"),
           ({"batch_utterances": 0}, "batch_utterances must be >= 1"),
           ({"target": ["irm"]}, "target must be one of")]
    for params, message in bad:
        with pytest.raises(ParameterError, match=message):
            SpeechEnhancer(tiny(), **params).fit(train.noisy, train.clean)


def test_validation_set_of_fit_stream_is_checked(mixtures):
    train, _ = mixtures
    enh = SpeechEnhancer(tiny(epochs=1))
    speech, noise = train.clean.to_list(), train.noise.to_list()
    with pytest.raises(SampleRateError, match="audio is at 16000"):
        enh.fit_stream(speech, noise, snr_db=0, n_fit_items=2,
                       valid=(train.noisy.resample(16000), train.clean.resample(16000)))
    short = [y[:-7] for y in train.clean]
    with pytest.raises(AudioError, match=r"valid\[0\]\[0\] has \d+ samples but valid\[1\]\[0\]"):
        enh.fit_stream(speech, noise, snr_db=0, n_fit_items=2, valid=(train.noisy, short))
    with pytest.raises(ParameterError, match="valid must be a \\(noisy, clean\\) pair"):
        enh.fit_stream(speech, noise, snr_db=0, n_fit_items=2, valid=train.noisy)


def test_fitted_enhancer_errors_name_the_real_problem(mixtures):
    train, test = mixtures
    enh = SpeechEnhancer(tiny(epochs=1)).fit(train.noisy, train.clean)
    with pytest.raises(AudioError, match="single 1-D waveform"):
        enh.score(test.noisy[0], [test.clean[0]])
    with pytest.raises(SampleRateError) as exc:
        enh.predict(test.noisy.resample(16000))
    assert "fit the enhancer with a front end of sr=16000" in str(exc.value)
    assert "SpeechEnhancer(sr=" not in str(exc.value)  # it has no such parameter


def test_pandas_series_of_waveforms_is_taken_by_position(mixtures):
    import pandas as pd

    train, test = mixtures
    enh = SpeechEnhancer(tiny(epochs=1))
    labels = np.arange(len(train)) + 100  # labels that are not positions
    from_series = enh.fit(pd.Series(train.noisy.to_list(), index=labels),
                          pd.Series(train.clean.to_list(), index=labels))
    out = from_series.predict(pd.Series(test.noisy.to_list(), index=[7, 3]))
    ref = SpeechEnhancer(tiny(epochs=1)).fit(train.noisy, train.clean).predict(test.noisy)
    for a, b in zip(out, ref, strict=True):
        np.testing.assert_array_equal(a, b)
