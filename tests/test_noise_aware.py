"""NoiseAwareFeatures: per-utterance noise-floor estimate next to (or off) every frame."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from sksep.exceptions import ParameterError
from sksep.features import ContextStacker, NoiseAwareFeatures, STFTTransformer


def test_append_and_subtract_use_the_utterance_quantile():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(50, 4)).astype(np.float32), rng.normal(3, 1, (20, 4)).astype(np.float32)]
    appended = NoiseAwareFeatures(quantile=0.2).fit_transform(X)
    for m, out in zip(X, appended):
        floor = np.quantile(m, 0.2, axis=0)
        assert out.shape == (len(m), 8) and out.dtype == np.float32
        np.testing.assert_array_equal(out[:, :4], m)
        np.testing.assert_allclose(out[:, 4:], np.broadcast_to(floor, m.shape), rtol=1e-6)
    # each utterance gets its own estimate: the second one's floor is about 3 higher
    assert np.all(appended[1][0, 4:] - appended[0][0, 4:] > 1.5)
    sub = NoiseAwareFeatures(quantile=0.5, mode="subtract").fit_transform(X)
    np.testing.assert_allclose(np.median(sub[0], axis=0), 0.0, atol=1e-6)
    # one 2-D array in, one out
    single = NoiseAwareFeatures().fit(X).transform(X[0])
    assert isinstance(single, np.ndarray) and single.shape == (50, 8)


def test_a_stationary_noise_floor_is_found_under_speech_like_bursts(speech_like, white_noise):
    sr = 8000
    speech = speech_like(seconds=2.0, sr=sr, seed=1)
    quiet = white_noise(len(speech), level=0.003, seed=2)
    loud = white_noise(len(speech), level=0.03, seed=2)
    front = STFTTransformer(sr=sr, n_fft=256, hop_length=128)
    feats = front.fit_transform([speech + quiet, speech + loud])
    floors = NoiseAwareFeatures(quantile=0.1).fit_transform(feats)
    # 10x the noise amplitude raises the estimated log floor by about ln(10) = 2.3
    # (a few bins stay dominated by the harmonics)
    rise = floors[1][0, 129:] - floors[0][0, 129:]
    assert np.mean(rise > 0) > 0.95 and 1.8 < np.median(rise) < 2.5


def test_in_a_pipeline_names_clone_and_errors():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(10, 3)).astype(np.float32)]
    pipe = make_pipeline(NoiseAwareFeatures(), ContextStacker(1)).fit(X)
    assert pipe.transform(X)[0].shape == (10, 18)
    naf = NoiseAwareFeatures().fit(X)
    assert list(naf.get_feature_names_out(["a", "b", "c"])) == [
        "a", "b", "c", "floor_a", "floor_b", "floor_c"]
    assert len(NoiseAwareFeatures(mode="subtract").fit(X).get_feature_names_out()) == 3
    assert clone(naf).get_params() == {"quantile": 0.1, "mode": "append"}
    for bad in ({"quantile": 1.5}, {"quantile": "low"}, {"mode": "divide"}):
        with pytest.raises(ParameterError):
            NoiseAwareFeatures(**bad).fit(X)
    with pytest.raises(ParameterError, match="fit saw 3"):
        naf.transform([np.zeros((4, 5), np.float32)])


def test_saved_with_a_model(tmp_path):
    import sksep
    from sksep import SpeechEnhancer
    from sksep.models import DNN0Regressor

    sr = 8000
    rng = np.random.default_rng(3)
    clean = [(0.1 * rng.standard_normal(4000)).astype(np.float32) for _ in range(3)]
    noisy = [c + (0.05 * rng.standard_normal(4000)).astype(np.float32) for c in clean]
    enh = SpeechEnhancer(make_pipeline(
        STFTTransformer(sr=sr, n_fft=64, hop_length=32), NoiseAwareFeatures(), ContextStacker(1),
        DNN0Regressor(module__hidden_dim=8, max_epochs=1, verbose=0, random_state=0),
    )).fit(noisy, clean)
    path = sksep.save(enh, tmp_path / "na.sksep")
    again = sksep.load(path)
    np.testing.assert_array_equal(enh.predict(noisy)[0], again.predict(noisy)[0])
