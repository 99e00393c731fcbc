"""Feature cache: sharded, keyed, resumable, atomic; parallel extraction; Pipeline memory reuse."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from joblib import Memory
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from sksep import SpeechEnhancer, io
from sksep.exceptions import ParameterError
from sksep.features import (
    CochleagramTransformer,
    ContextStacker,
    FeatureCache,
    STFTTransformer,
    cache_features,
    transform_parallel,
)
from sksep.features._cache import STALE_TMP_SECONDS
from sksep.models import DNN0Regressor

SR = 8000


pytestmark = pytest.mark.usefixtures("single_torch_thread")


def _stft():
    return STFTTransformer(sr=SR, n_fft=128, hop_length=64)


@pytest.fixture(scope="module")
def corpus():
    from conftest import _speech_like

    return [_speech_like(seconds=0.1 + 0.02 * i, sr=SR, seed=i) for i in range(11)]


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_cache_matches_transform_and_is_reused(corpus, tmp_path):
    ref = _stft().fit(corpus).transform(corpus)
    cache = cache_features(_stft(), corpus, tmp_path, shard_size=4)
    assert cache.n_shards == 3 and len(cache) == 11
    assert _same(cache.to_list(), ref)
    assert isinstance(cache[5], np.memmap) and not cache[5].flags.writeable
    assert sorted(p.name for p in cache.path.iterdir()) == [
        "manifest.json", "shard-00000.npy", "shard-00001.npy", "shard-00002.npy"]
    built = []
    again = cache_features(_stft(), corpus, tmp_path, shard_size=4,
                           callback=lambda i, done, n: built.append(i))
    assert built == [] and again.path == cache.path
    assert _same(FeatureCache(cache.path).to_list(), ref)
    # other parameters or another corpus never reuse these shards
    other = cache_features(STFTTransformer(sr=SR, n_fft=128, hop_length=32), corpus, tmp_path,
                           shard_size=4)
    changed = [y.copy() for y in corpus]
    changed[7][10] += 1e-3
    edited = cache_features(_stft(), changed, tmp_path, shard_size=4)
    assert len({cache.path, other.path, edited.path}) == 3
    assert not np.array_equal(edited[7], cache[7]) and np.array_equal(edited[6], cache[6])


def test_interrupted_build_resumes_with_only_the_missing_shards(corpus, tmp_path):
    class Stop(Exception):
        pass

    def stop_after_two(index, n_done, n_shards):
        if n_done == 2:
            raise Stop

    with pytest.raises(Stop):
        cache_features(_stft(), corpus, tmp_path, shard_size=3, callback=stop_after_two)
    (folder,) = tmp_path.iterdir()
    with pytest.raises(ParameterError, match="unfinished"):
        FeatureCache(folder)
    # a half-written shard left by a kill (hours ago), and a stray shard file the manifest
    # does not list
    stale = folder / "shard-00002.npy.abc.tmp"
    stale.write_bytes(b"\x93NUMPY half")
    old = time.time() - STALE_TMP_SECONDS - 60
    os.utime(stale, (old, old))
    (folder / "shard-00003.npy").write_bytes(b"garbage")
    rebuilt = []
    cache = cache_features(_stft(), corpus, tmp_path, shard_size=3,
                           callback=lambda i, done, n: rebuilt.append(i))
    assert sorted(rebuilt) == [2, 3]
    assert not list(folder.glob("*.tmp"))
    assert _same(cache.to_list(), _stft().fit(corpus).transform(corpus))
    # a recorded shard that was damaged later is rebuilt, not read
    with open(folder / "shard-00001.npy", "r+b") as f:
        f.truncate(100)
    rebuilt.clear()
    cache = cache_features(_stft(), corpus, tmp_path, shard_size=3,
                           callback=lambda i, done, n: rebuilt.append(i))
    assert rebuilt == [1] and _same(cache.to_list(), _stft().fit(corpus).transform(corpus))


def test_another_builds_temporary_files_survive(corpus, tmp_path):
    """Two builds of one cache side by side: neither deletes the other's file in progress."""
    cache = cache_features(_stft(), corpus, tmp_path, shard_size=4)
    in_progress = cache.path / "shard-00001.npy.other.tmp"   # just written by another build
    in_progress.write_bytes(b"\x93NUMPY being written")
    left = cache.path / "shard-00002.npy.killed.tmp"          # untouched for over an hour
    left.write_bytes(b"\x93NUMPY half")
    old = time.time() - STALE_TMP_SECONDS - 1
    os.utime(left, (old, old))
    again = cache_features(_stft(), corpus, tmp_path, shard_size=4)
    assert again.path == cache.path
    assert in_progress.read_bytes() == b"\x93NUMPY being written"
    assert not left.exists()


def test_a_shard_whose_temporary_file_vanished_is_written_again(corpus, tmp_path, monkeypatch):
    """Another process (e.g. an older sksep sweeping the folder) deleting a shard's temporary
    file while it is written does not fail the build: the shard is written again."""
    made, real_mkstemp, real_save = [], tempfile.mkstemp, np.save

    def mkstemp(*args, **kwargs):
        fd, path = real_mkstemp(*args, **kwargs)
        made.append(path)
        return fd, path

    def save(f, arr, **kwargs):
        real_save(f, arr, **kwargs)
        if len(made) == 1:  # the first shard's first try: swept away under its feet
            os.unlink(made[0])

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(np, "save", save)
    cache = cache_features(_stft(), corpus, tmp_path, shard_size=4)
    monkeypatch.undo()
    shard_temporaries = [p for p in made if os.path.basename(p).startswith("shard-")]
    assert len(shard_temporaries) == cache.n_shards + 1  # one shard was written twice
    assert _same(cache.to_list(), _stft().fit(corpus).transform(corpus))
    assert not list(cache.path.glob("*.tmp"))


def test_cache_key_changes_with_the_sksep_version(corpus, tmp_path, monkeypatch):
    """New feature code comes with a new version: its features go to another folder."""
    import sksep

    cache = cache_features(_stft(), corpus[:3], tmp_path)
    monkeypatch.setattr(sksep, "__version__", sksep.__version__ + ".changed")
    built = []
    other = cache_features(_stft(), corpus[:3], tmp_path,
                           callback=lambda i, done, n: built.append(i))
    assert other.path != cache.path and built == [0]
    monkeypatch.undo()
    assert cache_features(_stft(), corpus[:3], tmp_path).path == cache.path


def test_killed_build_process_resumes(corpus, tmp_path):
    data = tmp_path / "corpus.npz"
    np.savez(data, *corpus)
    script = f"""
import os, numpy as np
from sksep.features import STFTTransformer, cache_features
z = np.load({str(data)!r})
X = [z[f"arr_{{i}}"] for i in range(len(z.files))]
def die(index, n_done, n):
    if n_done == 2:
        os._exit(3)   # no cleanup at all, as with a kill
cache_features(STFTTransformer(sr={SR}, n_fft=128, hop_length=64), X, {str(tmp_path / "c")!r},
               shard_size=4, callback=die)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).parent.parent)
    assert proc.returncode == 3, proc.stderr
    rebuilt = []
    cache = cache_features(_stft(), corpus, tmp_path / "c", shard_size=4,
                           callback=lambda i, done, n: rebuilt.append(i))
    assert rebuilt == [2]
    assert _same(cache.to_list(), _stft().fit(corpus).transform(corpus))


def test_files_are_hashed_by_content_and_read_by_the_workers(corpus, tmp_path):
    paths = []
    for i, y in enumerate(corpus[:5]):
        p = tmp_path / f"u{i}.wav"
        io.save(p, y, SR, subtype="FLOAT")
        paths.append(str(p))
    ref = _stft().fit(corpus[:5]).transform(corpus[:5])
    assert _same(transform_parallel(_stft(), paths, n_jobs=2, batch_size=2), ref)
    cache = cache_features(_stft(), paths, tmp_path / "c", shard_size=2, n_jobs=2)
    assert _same(cache.to_list(), ref) and cache.ids == paths
    io.save(paths[4], corpus[6][: len(corpus[4])], SR, subtype="FLOAT")  # same size, new content
    assert cache_features(_stft(), paths, tmp_path / "c", shard_size=2).path != cache.path


def test_files_are_read_at_the_rate_of_a_pipelines_front_end(corpus, tmp_path):
    # an 8 kHz file through a 16 kHz pipeline is resampled, as the front end alone does
    path = tmp_path / "u.wav"
    io.save(path, corpus[3], SR, subtype="FLOAT")
    front = STFTTransformer(sr=2 * SR, n_fft=128, hop_length=64)
    alone = transform_parallel(front, [str(path)])
    piped = transform_parallel(Pipeline([("front", front), ("ctx", ContextStacker(0))]),
                               [str(path)])
    assert len(alone[0]) == len(piped[0]) > 1.5 * len(_stft().fit(corpus).transform(corpus[3:4])[0])
    np.testing.assert_allclose(piped[0], alone[0])
    cached = cache_features(Pipeline([("front", front)]), [str(path)], tmp_path / "c")
    np.testing.assert_allclose(cached.to_list()[0], alone[0])


def test_a_collection_at_another_rate_is_refused(corpus, tmp_path):
    from sksep.datasets import AudioCollection
    from sksep.exceptions import SampleRateError

    at_16k = AudioCollection(corpus[:3], sr=2 * SR)
    for call in (lambda: transform_parallel(_stft(), at_16k),
                 lambda: transform_parallel(Pipeline([("f", _stft())]), at_16k),
                 lambda: cache_features(_stft(), at_16k, tmp_path / "c")):
        with pytest.raises(SampleRateError, match="16000 Hz"):
            call()
    assert _same(transform_parallel(_stft(), AudioCollection(corpus[:3], sr=SR)),
                 _stft().fit(corpus).transform(corpus[:3]))


def test_transform_parallel_equals_transform_and_checks_arguments(corpus):
    coch = CochleagramTransformer(sr=SR, n_channels=16, hop_length=64)
    ref = coch.fit(corpus).transform(corpus)
    assert _same(transform_parallel(coch, corpus, n_jobs=2, batch_size=3), ref)
    with pytest.raises(ParameterError, match="batch_size"):
        transform_parallel(coch, corpus, batch_size=0)
    with pytest.raises(ParameterError, match="transform"):
        transform_parallel(object(), corpus)
    with pytest.raises(ParameterError, match="shard_size"):
        cache_features(coch, corpus, "unused", shard_size=-1)


def test_pipeline_memory_reuses_features_across_grid_search_candidates(corpus, tmp_path):
    """Grid-search reuse is scikit-learn's: Pipeline(memory=...) computes each fold's
    features once for all candidates that share the front end."""
    from conftest import _speech_like

    rng = np.random.default_rng(0)
    clean = [_speech_like(seconds=0.6, sr=SR, seed=i) for i in range(8)]  # STOI needs 0.4 s
    noisy = [y + (0.05 * rng.standard_normal(len(y))).astype(np.float32) for y in clean]
    groups = np.repeat([0, 1], 4)
    memory = Memory(tmp_path / "mem", verbose=0)
    pipe = Pipeline([("front", _stft()), ("stack", ContextStacker(1)),
                     ("net", DNN0Regressor(module__hidden_dim=4, max_epochs=1, batch_size=16,
                                           train_split=None, verbose=0, random_state=0))],
                    memory=memory)
    search = GridSearchCV(SpeechEnhancer(pipe),
                          {"estimator__net__module__hidden_dim": [4, 6, 8]}, cv=GroupKFold(2))
    search.fit(noisy, clean, groups=groups)
    calls = [d for d in (tmp_path / "mem").rglob("*") if d.is_dir()
             and (d / "output.pkl").exists()]
    # 3 candidates x 2 folds + 1 refit = 7 fits of each of the 2 transformers, but only
    # 2 folds + 1 refit = 3 distinct inputs each: 6 cached results in all
    assert len(calls) == 6
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))

