"""sksep.models on real features of the bundled sample: pipelines, grid search, pickling."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline

from sksep.datasets import load_sample, make_mixtures
from sksep.features import (
    CochleagramTransformer,
    ContextStacker,
    FrameStandardizer,
    STFTTransformer,
)
from sksep.models import CNN0Regressor, CNN1Regressor, DNN0Regressor, DNN1Regressor
from sksep.targets import ideal_ratio_mask

pytestmark = pytest.mark.usefixtures("single_torch_thread")


@pytest.fixture(scope="module")
def data():
    """Three utterances of each of three speakers, mixed at -5/0/5 dB; cochleagram IRMs."""
    speech, noise = load_sample()
    meta = speech.train.meta
    speakers = sorted(meta["speaker"].unique())[:3]
    idx = np.concatenate([np.flatnonzero(meta["speaker"].to_numpy() == s)[:3] for s in speakers])
    train = make_mixtures(speech.train[idx], noise.train, snr_db=[-5, 0, 5], random_state=0)
    test = make_mixtures(speech.test[:2], noise.test, snr_db=0, random_state=1)
    Y = ideal_ratio_mask(train.clean, train.noise, CochleagramTransformer())
    return train, Y, test


def _frames(noisy):
    return [CochleagramTransformer().n_frames(len(y)) for y in noisy]


def test_design_card_line_runs(data):
    train, Y, test = data
    pipe = make_pipeline(CochleagramTransformer(), DNN1Regressor())
    pipe.fit(train.noisy, Y)
    masks = pipe.predict(test.noisy)
    assert [m.shape for m in masks] == [(n, 64) for n in _frames(test.noisy)]
    assert all(m.dtype == np.float32 and m.min() >= 0 and m.max() <= 1 for m in masks)
    valid = pipe[-1].history[:, "valid_loss"]
    assert min(valid) < valid[0]


SMALL_NETS = {
    "DNN0": (ContextStacker(2), DNN0Regressor, {"module__hidden_dim": 64}),
    "DNN1": (ContextStacker(2), DNN1Regressor, {"module__hidden_dim": 64}),
    "CNN0": (ContextStacker(2, flatten=False), CNN0Regressor,
             {"module__n_filters": (4, 4, 8, 8), "module__kernel_size": 5}),
    "CNN1": (ContextStacker(4, flatten=False), CNN1Regressor,
             {"module__n_filters": (4, 8, 8, 8, 8)}),
}


@pytest.mark.parametrize("name", list(SMALL_NETS))
def test_each_network_trains_on_the_sample_with_context(name, data):
    train, Y, test = data
    stacker, cls, params = SMALL_NETS[name]
    net = cls(max_epochs=6, verbose=0, random_state=0, **params)
    pipe = make_pipeline(CochleagramTransformer(), FrameStandardizer(), clone(stacker), net)
    pipe.fit(train.noisy, Y)
    valid = net.history[:, "valid_loss"]
    assert len(valid) == 6 and valid[-1] < valid[0]
    masks = pipe.predict(test.noisy)
    assert [m.shape for m in masks] == [(n, 64) for n in _frames(test.noisy)]
    assert all(np.isfinite(m).all() for m in masks)


def test_cnn_builds_its_own_patches_from_plain_features(data):
    train, Y, test = data
    net = CNN1Regressor(context=(5, 5), module__n_filters=(4, 4, 4, 4, 4), max_epochs=2,
                        verbose=0, random_state=0)
    pipe = make_pipeline(CochleagramTransformer(), net).fit(train.noisy, Y)
    assert net.sample_shape_ == (11, 64)
    assert [m.shape for m in pipe.predict(test.noisy)] == [(n, 64) for n in _frames(test.noisy)]


def test_grid_search_over_pipeline_steps_and_network_params_by_speaker(data):
    train, Y, _ = data
    small = {"max_epochs": 2, "verbose": 0, "random_state": 0, "module__hidden_dim": 16}
    pipe = Pipeline([
        ("features", CochleagramTransformer()),
        ("context", ContextStacker(1)),
        ("net", DNN0Regressor(**small)),
    ])
    grid = [
        {"features": [CochleagramTransformer(), STFTTransformer()],
         "net": [DNN0Regressor(**small), DNN1Regressor(**small)]},
        {"net__module__hidden_dim": [8], "net__lr": [1e-2], "net__max_epochs": [3]},
    ]
    search = GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=3))
    search.fit(train.noisy, Y, groups=train.speaker)
    assert len(search.cv_results_["params"]) == 5
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    # STFT features (257 wide) still predict 64-channel cochleagram masks: sizes come from data
    assert best["net"].n_outputs_ == 64
    masks = search.predict(train.noisy[:2])
    assert [m.shape for m in masks] == [y.shape for y in Y[:2]]


def test_fitted_pipeline_pickles_and_clones(data):
    train, Y, test = data
    pipe = make_pipeline(CochleagramTransformer(), ContextStacker(1),
                         DNN0Regressor(module__hidden_dim=16, max_epochs=1, verbose=0,
                                       random_state=0)).fit(train.noisy, Y)
    back = pickle.loads(pickle.dumps(pipe))
    for a, b in zip(back.predict(test.noisy), pipe.predict(test.noisy), strict=True):
        np.testing.assert_array_equal(a, b)
    fresh = clone(pipe)
    assert not hasattr(fresh[-1], "module_")
    assert fresh[-1].get_params()["module__hidden_dim"] == 16
