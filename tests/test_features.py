"""Feature transformers: shapes, frame alignment, FeatureUnion, pipelines, bad input, contract."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from sksep.datasets import AudioCollection
from sksep.exceptions import AudioError, ParameterError, SampleRateError
from sksep.features import (
    CochleagramTransformer,
    ContextStacker,
    FrameList,
    FrameStandardizer,
    GFCCTransformer,
    MFCCTransformer,
    NoiseAwareFeatures,
    STFTTransformer,
)

SR = 16000


def tone_noise(n, seed=0, sr=SR):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)


@pytest.fixture(scope="module")
def utts():
    return [tone_noise(n, seed=i) for i, n in enumerate([4000, 5333, 8000])]


def test_original_settings_give_121_bins_and_64_channels():
    y = tone_noise(8000, sr=8000)
    stft = STFTTransformer(sr=8000, n_fft=240, hop_length=120).fit([y])
    coch = CochleagramTransformer(sr=8000, fmin=50, fmax=4000, frame_length=240,
                                  hop_length=120).fit([y])
    assert stft.n_bins_ == 121 and stft.transform([y])[0].shape == (67, 121)
    assert coch.transform([y])[0].shape == (67, 64)
    assert coch.centre_freqs_[0] == pytest.approx(50) and coch.centre_freqs_[-1] < 4000


@pytest.mark.parametrize("est", [STFTTransformer(), CochleagramTransformer(), MFCCTransformer(),
                                 GFCCTransformer()], ids=lambda e: type(e).__name__)
def test_all_front_ends_and_cepstra_share_frames(est, utts):
    out = est.fit(utts).transform(utts)
    assert isinstance(out, FrameList) and len(out) == 3
    for y, F in zip(utts, out):
        assert F.dtype == np.float32
        assert F.shape == (1 + len(y) // 256, est.n_features_out_)
        assert np.isfinite(F).all()
    assert len(est.get_feature_names_out()) == est.n_features_out_


def test_stft_scales_are_consistent(utts):
    y = utts[0]
    mag = STFTTransformer(scale="magnitude").fit_transform([y])[0]
    power = STFTTransformer(scale="power").fit_transform([y])[0]
    log = STFTTransformer().fit_transform([y])[0]
    np.testing.assert_allclose(power, mag**2, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(log, np.log(np.maximum(mag, 1e-5)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(STFTTransformer().power(y), power, rtol=1e-5, atol=1e-6)


def test_cochleagram_compressions(utts):
    y = utts[1]
    E = CochleagramTransformer().power(y)
    log = CochleagramTransformer().fit_transform([y])[0]
    cbrt = CochleagramTransformer(compression="cube-root").fit_transform([y])[0]
    none = CochleagramTransformer(compression="none").fit_transform([y])[0]
    np.testing.assert_allclose(none, E)
    np.testing.assert_allclose(cbrt, np.cbrt(E), rtol=1e-5)
    np.testing.assert_allclose(log, np.log(np.maximum(E, 1e-10)), rtol=1e-5, atol=1e-5)
    # the 440 Hz tone dominates the channel nearest 440 Hz
    cfs = CochleagramTransformer().fit([y]).centre_freqs_
    assert abs(cfs[np.argmax(E.mean(axis=0))] - 440) < 40


def test_deltas_and_names(utts):
    m = MFCCTransformer(n_coeffs=13, deltas=2).fit(utts)
    out = m.transform(utts)
    assert out[0].shape[1] == 39
    names = m.get_feature_names_out()
    assert names[0] == "mfcc0" and names[13] == "mfcc_d1_0" and names[26] == "mfcc_d2_0"
    # delta of the static coefficients, as librosa computes it
    import librosa

    static = out[2][:, :13]
    np.testing.assert_allclose(out[2][:, 13:26],
                               librosa.feature.delta(static, axis=0, mode="nearest"),
                               rtol=1e-3, atol=1e-3)
    g = GFCCTransformer(n_coeffs=20, deltas=1).fit(utts)
    assert g.transform(utts)[0].shape[1] == 40
    assert list(g.get_feature_names_out()[[0, 20]]) == ["gfcc0", "gfcc_d1_0"]


def test_feature_union_joins_frame_by_frame(utts):
    union = FeatureUnion([("stft", STFTTransformer()), ("coch", CochleagramTransformer()),
                          ("mfcc", MFCCTransformer(deltas=1)), ("gfcc", GFCCTransformer())])
    out = union.fit_transform(utts)
    assert [o.shape for o in out] == [(1 + len(y) // 256, 257 + 64 + 26 + 31) for y in utts]
    names = union.get_feature_names_out()
    assert len(names) == 378 and names[0] == "stft__stft0" and names[257] == "coch__coch0"
    # the STFT part of the joined matrix is the STFT's own output
    np.testing.assert_array_equal(out[1][:, :257], STFTTransformer().fit_transform(utts)[1])


def test_feature_union_refuses_misaligned_hops(utts):
    union = FeatureUnion([("a", STFTTransformer()), ("b", CochleagramTransformer(hop_length=128))])
    with pytest.raises(ParameterError, match="frame-aligned"):
        union.fit_transform(utts)


def test_done_when_pipeline_on_utterances_of_different_lengths(utts):
    pipe = make_pipeline(CochleagramTransformer(), ContextStacker(2), FrameStandardizer())
    out = pipe.fit(utts).transform(utts)
    assert [o.shape for o in out] == [(1 + len(y) // 256, 5 * 64) for y in utts]
    allframes = np.concatenate(out)
    np.testing.assert_allclose(allframes.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(allframes.std(axis=0), 1, atol=1e-3)
    # new utterances use the training statistics, not their own
    new = pipe.transform([tone_noise(6000, seed=9) * 0.1])[0]
    assert abs(float(new.mean())) > 0.1


def test_context_stacker_rows_patches_and_padding():
    X = [np.arange(10, dtype=np.float32).reshape(5, 2)]
    flat = ContextStacker(1).fit_transform(X)[0]
    assert flat.shape == (5, 6)
    np.testing.assert_array_equal(flat[0], [0, 1, 0, 1, 2, 3])  # edge padding
    np.testing.assert_array_equal(flat[4], [6, 7, 8, 9, 8, 9])
    patches = ContextStacker(left=2, right=1, flatten=False).fit_transform(X)[0]
    assert patches.shape == (5, 4, 2)
    np.testing.assert_array_equal(patches[2], [[0, 1], [2, 3], [4, 5], [6, 7]])
    zero = ContextStacker(1, pad="constant").fit_transform(X)[0]
    np.testing.assert_array_equal(zero[0], [0, 0, 0, 1, 2, 3])
    cs = ContextStacker(1).fit(X)
    assert list(cs.get_feature_names_out(["a", "b"])) == ["a@-1", "b@-1", "a@+0", "b@+0",
                                                          "a@+1", "b@+1"]
    with pytest.raises(ParameterError, match="3 features per frame, fit saw 2"):
        cs.transform([np.zeros((4, 3))])


def test_standardizer_on_patches_and_inverse():
    rng = np.random.default_rng(0)
    X = [rng.normal(5, 3, size=(n, 4, 2)).astype(np.float32) for n in (30, 50)]
    s = FrameStandardizer().fit(X)
    assert s.n_frames_seen_ == 80 * 4
    out = s.transform(X)
    assert out[0].shape == (30, 4, 2)
    np.testing.assert_allclose(np.concatenate(out).reshape(-1, 2).mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(s.inverse_transform(out)[1], X[1], rtol=1e-4)


@pytest.mark.parametrize("with_mean, with_std", [(False, True), (True, False), (False, False)])
def test_standardizer_options_match_standard_scaler(with_mean, with_std):
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    X = [rng.normal(5, 3, size=(n, 3)) for n in (20, 7)]
    s = FrameStandardizer(with_mean=with_mean, with_std=with_std).fit(X)
    ref = StandardScaler(with_mean=with_mean, with_std=with_std).fit(np.concatenate(X))
    np.testing.assert_allclose(s.transform(X)[1], ref.transform(X[1]), rtol=1e-5)
    np.testing.assert_allclose(s.inverse_transform(s.transform(X))[0], X[0], rtol=1e-5)


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("est", [STFTTransformer(), CochleagramTransformer()],
                         ids=lambda e: type(e).__name__)
def test_front_end_bad_audio(est):
    est.fit([tone_noise(4000)])
    with pytest.raises(AudioError, match="only 100 samples long; at least 512"):
        est.transform([np.zeros(100, np.float32)])
    with pytest.raises(AudioError, match="only 100 samples"):
        est.power(np.zeros(100))
    bad = tone_noise(4000)
    bad[7] = np.nan
    with pytest.raises(AudioError, match="NaN or infinite"):
        est.transform([bad])
    with pytest.raises(AudioError, match="1-D mono"):
        est.power(np.zeros((2, 4000)))
    with pytest.raises(AudioError, match="single 1-D waveform"):
        est.transform(tone_noise(4000))
    with pytest.raises(SampleRateError, match="8000"):
        est.transform(AudioCollection([tone_noise(4000)], sr=8000))
    pcm = (tone_noise(4000) * 8000).astype(np.int16)  # unscaled PCM would be 80 dB too loud
    with pytest.raises(AudioError, match=r"X\[0\] holds integer samples \(int16\).*y / 32768"):
        est.transform([pcm])
    np.testing.assert_array_equal(est.transform([pcm / 32768])[0],
                                  est.transform([(pcm / 32768).astype(np.float32)])[0])


def test_bad_parameters():
    y = [tone_noise(4000)]
    with pytest.raises(ParameterError, match="fmax=9000.*Nyquist"):
        CochleagramTransformer(fmax=9000).fit(y)
    with pytest.raises(ParameterError, match="fmax=5000.*Nyquist"):
        MFCCTransformer(fmax=5000, sr=8000).fit([tone_noise(4000, sr=8000)])
    with pytest.raises(ParameterError, match="fmin must be below fmax"):
        CochleagramTransformer(fmin=4000, fmax=3000).power(y[0])
    with pytest.raises(ParameterError, match="scale"):
        STFTTransformer(scale="db").fit(y)
    with pytest.raises(ParameterError, match="compression"):
        CochleagramTransformer(compression="sqrt").fit(y)
    with pytest.raises(ParameterError, match="deltas"):
        MFCCTransformer(deltas=3).fit(y)
    with pytest.raises(ParameterError, match="n_coeffs"):
        GFCCTransformer(n_coeffs=65).fit(y)
    with pytest.raises(ParameterError, match="left"):
        ContextStacker(-1).fit([np.zeros((3, 2))])


def test_clone_pickle_and_params(utts):
    for est in [STFTTransformer(n_fft=256, hop_length=128), CochleagramTransformer(n_channels=32),
                GFCCTransformer(deltas=1), ContextStacker(3, flatten=False), FrameStandardizer()]:
        c = clone(est)
        assert c.get_params() == est.get_params()
    coch = CochleagramTransformer(n_channels=32).fit(utts)
    again = pickle.loads(pickle.dumps(coch))
    np.testing.assert_array_equal(again.transform(utts)[0], coch.transform(utts)[0])
    out = pickle.loads(pickle.dumps(coch.transform(utts)))
    assert isinstance(out, FrameList) and len(out) == 3


# -- scikit-learn's estimator checks -----------------------------------------------------------
# The front ends and cepstra take utterances: a 2-D array is one utterance per ROW, so the
# checks' small tables (2-10 "samples" per row) are shorter than one frame and refused, as
# they must be. Tiny frames (4 samples) let many checks run; the rest cannot apply:
_SHORT = "the check's rows (utterances) are shorter than one 4-sample frame: refused by design"
_WAVEFORM_XFAIL = {
    "check_n_features_in_after_fitting": "inputs are waveforms of any length: there is no "
    "fixed number of input features to record",
    "check_complex_data": "refused with AudioError 'must hold real numbers', not sklearn's text",
    "check_dtype_object": "object arrays are refused as non-numeric audio",
    "check_estimators_dtypes": "integer arrays are refused as unscaled PCM, as librosa does",
    "check_estimators_empty_data_messages": "empty audio is refused with sksep's own message",
    "check_estimators_nan_inf": "NaN audio is refused; the check's table has rows shorter "
    "than a frame, which fail first",
    "check_estimator_sparse_array": "sparse audio makes no sense; refused, with another message",
    "check_estimator_sparse_matrix": "sparse audio makes no sense; refused, with another message",
    "check_transformer_data_not_an_array": "utterance lists must be sequences of waveforms",
    "check_fit2d_1feature": "a 1-sample utterance is refused as shorter than a frame",
}
_FRAME_XFAIL = {
    "check_n_features_in_after_fitting": "inputs are lists of per-utterance matrices; the "
    "feature count is checked with sksep's ParameterError, not sklearn's message",
    "check_dtype_object": "an object array is a list of utterances, each must be 2-D",
    "check_estimators_empty_data_messages": "refused with sksep's own message",
    "check_transformer_data_not_an_array": "frame lists must be real sequences of matrices",
    "check_fit2d_predict1d": "a 1-D array is refused as not a list of frame matrices",
    # a 2-D array is ONE utterance whose rows are consecutive frames: context depends on order
    "check_methods_sample_order_invariance": "rows are time frames; stacking needs their order",
    "check_methods_subset_invariance": "rows are time frames; a subset has other neighbours",
}

_TINY = [
    STFTTransformer(n_fft=4, hop_length=2),
    CochleagramTransformer(n_channels=4, frame_length=4, hop_length=2),
    MFCCTransformer(n_fft=4, hop_length=2, n_mels=4, n_coeffs=2),
    GFCCTransformer(n_channels=4, n_coeffs=2, frame_length=4, hop_length=2),
]
_SHORT_CHECKS = [
    "check_fit_score_takes_y", "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
    "check_readonly_memmap_input", "check_pipeline_consistency", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_transformer_general",
    "check_transformer_preserve_dtypes", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_dict_unchanged", "check_fit_idempotent",
    "check_fit_check_is_fitted", "check_n_features_in", "check_fit2d_predict1d",
]


def _expected_failed(est):
    if isinstance(est, (ContextStacker, FrameStandardizer, NoiseAwareFeatures)):
        reasons = dict(_FRAME_XFAIL)
        if isinstance(est, FrameStandardizer):
            reasons.pop("check_methods_sample_order_invariance")
            reasons.pop("check_methods_subset_invariance")
        if isinstance(est, NoiseAwareFeatures):
            reasons.pop("check_methods_sample_order_invariance")  # a quantile ignores order
            reasons["check_methods_subset_invariance"] = (
                "rows are one utterance's frames; a subset has another noise floor")
        return reasons
    return {**dict.fromkeys(_SHORT_CHECKS, _SHORT), **_WAVEFORM_XFAIL}


@parametrize_with_checks(_TINY + [ContextStacker(1), FrameStandardizer(), NoiseAwareFeatures()],
                         expected_failed_checks=_expected_failed)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_stft_settings_that_skip_samples_or_weigh_nothing_are_refused():
    y = [tone_noise(4000)]
    with pytest.raises(ParameterError, match="hop_length=1024 is longer than the window"):
        STFTTransformer(hop_length=1024).fit(y)
    with pytest.raises(ParameterError, match="hop_length=256 is longer than the window"):
        STFTTransformer(win_length=128, hop_length=256).fit(y)
    with pytest.raises(ParameterError, match="non-finite weights"):
        STFTTransformer(window=("kaiser", np.nan)).fit(y)


@pytest.mark.parametrize("est", [ContextStacker(1), FrameStandardizer(), NoiseAwareFeatures()],
                         ids=lambda e: type(e).__name__)
def test_input_feature_names_must_match_the_fitted_width(est):
    est.fit([np.random.default_rng(0).standard_normal((20, 2)).astype(np.float32)])
    with pytest.raises(ParameterError, match="input_features has 3 names, fit saw 2"):
        est.get_feature_names_out(["a", "b", "c"])
    assert "b" in " ".join(est.get_feature_names_out(["a", "b"]))


def test_pandas_series_of_utterances_is_taken_by_position():
    import pandas as pd

    X = [tone_noise(4000), tone_noise(3000)]
    fe = STFTTransformer().fit(X)
    feats = fe.transform(pd.Series(X, index=[5, 9]))
    for a, b in zip(feats, fe.transform(X), strict=True):
        np.testing.assert_array_equal(a, b)
    stacked = ContextStacker(1).fit_transform(pd.Series(list(feats), index=["u", "v"]))
    assert [s.shape[0] for s in stacked] == [f.shape[0] for f in feats]
