"""Cluster path: joblib's Dask backend on a loopback LocalCluster gives the local results."""

import os

import distributed
import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline

from sksep import SpeechEnhancer
from sksep.features import (
    CochleagramTransformer,
    ContextStacker,
    STFTTransformer,
    cache_features,
    transform_parallel,
)
from sksep.metrics import evaluate
from sksep.models import DNN0Regressor

SR = 8000


def _one_thread():
    torch.set_num_threads(1)
    return torch.get_num_threads()


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes on 127.0.0.1, no dashboard."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the local reference runs with one thread, as the workers
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    client = distributed.Client(cluster)
    assert client.run(_one_thread) and set(client.run(_one_thread).values()) == {1}
    yield client
    client.close()
    cluster.close()
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data():
    from conftest import _speech_like

    rng = np.random.default_rng(0)
    clean = [_speech_like(seconds=0.6, sr=SR, seed=i, f0=100 + 15 * i) for i in range(8)]
    noisy = [y + (0.05 * rng.standard_normal(len(y))).astype(np.float32) for y in clean]
    return noisy, clean, np.repeat([0, 1], 4)


def test_joblib_work_runs_on_the_cluster_workers(client):
    with joblib.parallel_backend("dask"):
        pids = joblib.Parallel()(joblib.delayed(os.getpid)() for _ in range(8))
    worker_pids = set(client.run(os.getpid).values())
    assert set(pids) <= worker_pids and os.getpid() not in pids


def test_grid_search_on_the_cluster_equals_the_local_run(client, data):
    noisy, clean, groups = data
    enh = SpeechEnhancer(make_pipeline(
        STFTTransformer(sr=SR, n_fft=128, hop_length=64), ContextStacker(1),
        DNN0Regressor(module__hidden_dim=4, max_epochs=1, batch_size=32, train_split=None,
                      verbose=0, random_state=0)))
    grid = {"estimator__dnn0regressor__module__hidden_dim": [4, 8]}

    def search():
        return GridSearchCV(enh, grid, cv=GroupKFold(2)).fit(noisy, clean, groups=groups)

    local = search()
    with joblib.parallel_backend("dask"):
        remote = search()
    keys = [k for k in local.cv_results_ if "time" not in k]
    assert keys == [k for k in remote.cv_results_ if "time" not in k]
    for k in keys:
        a, b = local.cv_results_[k], remote.cv_results_[k]
        if k == "params":
            assert a == b
        else:
            assert np.array_equal(np.asarray(a), np.asarray(b)), k
    assert np.all(np.isfinite(local.cv_results_["mean_test_score"]))
    assert local.best_params_ == remote.best_params_


def test_feature_extraction_and_evaluation_on_the_cluster_equal_local(client, data, tmp_path):
    noisy, clean, _ = data
    coch = CochleagramTransformer(sr=SR, n_channels=16, hop_length=64)
    local = coch.fit(noisy).transform(noisy)
    table = evaluate(clean, noisy, sr=SR, metrics=("stoi", "si_sdr"))
    with joblib.parallel_backend("dask"):
        remote = transform_parallel(coch, noisy, batch_size=3)
        cached = cache_features(coch, noisy, tmp_path, shard_size=3)
        remote_table = evaluate(clean, noisy, sr=SR, metrics=("stoi", "si_sdr"))
    assert len(remote) == len(local) == len(cached) == 8
    assert all(np.array_equal(a, b) for a, b in zip(local, remote))
    assert all(np.array_equal(a, b) for a, b in zip(local, cached))
    np.testing.assert_array_equal(table[["stoi", "si_sdr"]].to_numpy(),
                                  remote_table[["stoi", "si_sdr"]].to_numpy())


def test_cluster_page_blocks_run(tmp_path, monkeypatch):
    """docs/cluster.rst: the streaming and cache examples run as printed."""
    from test_docs import run_blocks

    before = torch.get_num_threads()
    try:
        blocks, ns = run_blocks("cluster.rst", tmp_path, monkeypatch)
    finally:
        torch.set_num_threads(before)
    assert len(blocks) == 3
    assert ns["net"].sample_shape_ == (1285,) and ns["net"].n_outputs_ == 257
    assert "valid_loss" in ns["net"].history[-1]
    assert len(ns["same"]) == len(ns["mixtures"]) and ns["cache"][0].shape[1] == 64
