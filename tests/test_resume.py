"""Interrupted work: training resumes from its checkpoint, writers never leave a readable torso.

- a regressor trained with skorch ``Checkpoint`` + ``LoadInitState`` and
  interrupted mid-epoch (KeyboardInterrupt in-process, SIGKILL in a
  subprocess) resumes from the last finished epoch: history continues, the
  weights are the checkpoint's, the learning-rate schedule carries on;
- ``Mixtures.to_folder`` killed part-way leaves a folder that ``read_mixtures``
  refuses (also when overwriting an older corpus), and a rerun completes it;
- ``run_comparison`` interrupted after its first systems reuses them and finishes.
"""

from __future__ import annotations

import dataclasses
import json
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from skorch.callbacks import (
    Callback,
    Checkpoint,
    LoadInitState,
    LRScheduler,
    TrainEndCheckpoint,
)

from sksep.datasets import AudioCollection, make_mixtures, read_mixtures
from sksep.exceptions import CorpusLayoutError, ModelFileError, ParameterError
from sksep.models import DNN0Regressor, TrainingCheckpoint, UtteranceSplit


# --------------------------------------------------------------------------- training
def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = [rng.standard_normal((200, 12)).astype(np.float32) for _ in range(6)]
    Y = [1 / (1 + np.exp(-x)) for x in X]
    return X, Y


class Interrupt(Callback):
    """Raise KeyboardInterrupt (what Ctrl-C does) after ``batch`` batches of epoch ``epoch``."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training and len(net.history) == self.epoch \
                and len(net.history[-1]["batches"]) >= self.batch:
            raise KeyboardInterrupt


class Record(Callback):
    """Weights when training starts (after any checkpoint is loaded) and lr of each epoch."""

    def initialize(self):
        self.start, self.lrs = None, []
        return self

    def on_train_begin(self, net, **kwargs):
        self.start = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}

    def on_epoch_begin(self, net, **kwargs):
        self.lrs.append(net.optimizer_.param_groups[0]["lr"])


def _net(dirname, max_epochs, *extra):
    cp = Checkpoint(dirname=str(dirname), monitor=None)  # every epoch
    return DNN0Regressor(module__hidden_dim=16, max_epochs=max_epochs, batch_size=64, verbose=0,
                         random_state=0, callbacks=[cp, LoadInitState(cp), *extra])


def test_interrupted_training_resumes_from_last_checkpoint(tmp_path):
    X, Y = _data()
    reference = Record()
    _net(tmp_path / "ref", 4, ("record", reference)).fit(X, Y)

    ckpt = tmp_path / "ckpt"
    first = Record()
    net = _net(ckpt, 4, ("interrupt", Interrupt(epoch=3, batch=2)), ("record", first))
    net.fit(X, Y)  # skorch catches KeyboardInterrupt, ends training and returns
    assert len(net.history) == 3 and "train_loss" not in net.history[-1]  # epoch 3 unfinished
    saved = json.loads((ckpt / "history.json").read_text())
    assert [row["epoch"] for row in saved] == [1, 2]  # the checkpoint holds finished epochs only
    weights = torch.load(ckpt / "params.pt", weights_only=True)

    resumed = Record()
    net = _net(ckpt, 2, ("record", resumed)).fit(X, Y)
    assert [row["epoch"] for row in net.history] == [1, 2, 3, 4]
    assert net.history[:2, "train_loss"] == [row["train_loss"] for row in saved]
    for name, tensor in weights.items():
        assert torch.equal(resumed.start[name], tensor), name
    # the lr schedule (x0.9 per epoch) carries on where the interrupted run left it
    np.testing.assert_allclose(resumed.lrs, reference.lrs[2:4], rtol=1e-12)
    assert first.lrs == reference.lrs[:3]
    # the regressors' own callbacks and the user's live side by side
    names = [name for name, _ in net.callbacks_]
    assert {"lr_scheduler", "early_stopping", "Checkpoint", "LoadInitState"} <= set(names)
    assert len(names) == len(set(names))


def test_train_end_checkpoint_is_written_on_interrupt(tmp_path):
    """skorch runs on_train_end after a KeyboardInterrupt: TrainEndCheckpoint keeps the state."""
    X, Y = _data()
    end = TrainEndCheckpoint(dirname=str(tmp_path))
    net = DNN0Regressor(module__hidden_dim=16, max_epochs=5, batch_size=64, verbose=0,
                        random_state=0, callbacks=[end, ("interrupt", Interrupt(2, 1))])
    net.fit(X, Y)
    history = json.loads((tmp_path / "train_end_history.json").read_text())
    assert len(history) == 2  # epoch 1 and the interrupted epoch 2
    again = DNN0Regressor(module__hidden_dim=16, max_epochs=1, batch_size=64, verbose=0,
                          random_state=0, callbacks=[LoadInitState(end)]).fit(X, Y)
    assert len(again.history) == 3


def test_truncated_checkpoint_is_not_silently_ignored(tmp_path):
    """A half-written params file must stop the resume, not restart training from scratch."""
    X, Y = _data()
    _net(tmp_path, 1).fit(X, Y)
    data = (tmp_path / "params.pt").read_bytes()
    (tmp_path / "params.pt").write_bytes(data[: len(data) // 2])
    # LoadInitState only passes over a *missing* checkpoint; torch's reader refuses this one
    with pytest.raises((OSError, RuntimeError, EOFError)):
        _net(tmp_path, 1).fit(X, Y)


_KILLED_TRAINING = textwrap.dedent("""
    import pathlib, sys, time
    import numpy as np
    from skorch.callbacks import Callback, Checkpoint, LoadInitState
    from sksep.models import DNN0Regressor

    folder = pathlib.Path(sys.argv[1])
    rng = np.random.default_rng(0)
    X = [rng.standard_normal((200, 12)).astype(np.float32) for _ in range(6)]
    Y = [1 / (1 + np.exp(-x)) for x in X]

    class Stall(Callback):  # mid-epoch 2: say so, then wait to be killed
        def on_batch_end(self, net, training=False, **kwargs):
            if training and len(net.history) == 2 and len(net.history[-1]["batches"]) == 2:
                (folder / "mid-epoch-2").write_text("ready")
                time.sleep(120)

    cp = Checkpoint(dirname=str(folder), monitor=None)
    DNN0Regressor(module__hidden_dim=16, max_epochs=4, batch_size=64, verbose=0,
                  random_state=0, callbacks=[cp, LoadInitState(cp), Stall()]).fit(X, Y)
""")


@pytest.mark.slow
def test_training_killed_with_sigkill_resumes(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_TRAINING, str(tmp_path)],
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not (tmp_path / "mid-epoch-2").exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "training never reached epoch 2"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert [r["epoch"] for r in json.loads((tmp_path / "history.json").read_text())] == [1]
    weights = torch.load(tmp_path / "params.pt", weights_only=True)

    X, Y = _data()
    resumed = Record()
    net = _net(tmp_path, 3, ("record", resumed)).fit(X, Y)
    assert [row["epoch"] for row in net.history] == [1, 2, 3, 4]
    for name, tensor in weights.items():
        assert torch.equal(resumed.start[name], tensor), name
    assert net.history[-1, "train_loss"] < net.history[0, "train_loss"]


def test_resume_recipe_in_the_docs_runs():
    """The code block of docs/guarantees.rst is the recipe tested above; it must run as shown."""
    text = (Path(__file__).parents[1] / "docs" / "guarantees.rst").read_text(encoding="utf-8")
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
    assert len(blocks) == 1
    exec(compile(textwrap.dedent(blocks[0]), "guarantees.rst", "exec"), {})


# --------------------------------------------------------------------------- TrainingCheckpoint
def _resumable(dirname, max_epochs, *extra, **params):
    params = {"module__hidden_dim": 16, "module__dropout": 0.3, "batch_size": 64, "verbose": 0,
              "random_state": 0, **params}
    return DNN0Regressor(max_epochs=max_epochs, **params,
                         callbacks=[("checkpoint", TrainingCheckpoint(dirname)), *extra])


def _weights(net):
    return {k: v.detach().clone() for k, v in net.module_.state_dict().items()}


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_training_checkpoint_resumes_to_the_uninterrupted_result(tmp_path):
    """Interrupted mid-epoch 3 and resumed, a run ends with the uninterrupted run's weights.

    That needs everything restored: weights, Adam's moments, the lr schedule, early
    stopping's best weights and patience, and the random draws (dropout, shuffling).
    """
    X, Y = _data()
    reference = Record()
    ref = _resumable(tmp_path / "ref", 4, ("record", reference)).fit(X, Y)

    first = Record()
    with pytest.raises(KeyboardInterrupt, match="epochs 1-2 are saved"):
        _resumable(tmp_path / "run", 4, ("interrupt", Interrupt(epoch=3, batch=2)),
                   ("record", first)).fit(X, Y)
    resumed = Record()
    net = _resumable(tmp_path / "run", 4, ("record", resumed)).fit(X, Y)
    checkpoint = dict(net.callbacks_)["checkpoint"]
    assert checkpoint.resumed_epochs_ == 2
    assert [row["epoch"] for row in net.history] == [1, 2, 3, 4]  # max_epochs is the total
    assert net.history[:, "train_loss"] == ref.history[:, "train_loss"]
    assert net.history[:, "valid_loss"] == ref.history[:, "valid_loss"]
    np.testing.assert_allclose(resumed.lrs, reference.lrs[2:], rtol=0)
    _assert_same_weights(_weights(net), _weights(ref))

    # a finished run is restored without training; more max_epochs train the extra ones
    again = Record()
    done = _resumable(tmp_path / "run", 4, ("record", again)).fit(X, Y)
    assert len(done.history) == 4 and again.lrs == []
    _assert_same_weights(_weights(done), _weights(ref))
    longer = _resumable(tmp_path / "run", 6).fit(X, Y)
    assert [row["epoch"] for row in longer.history] == [1, 2, 3, 4, 5, 6]
    straight = _resumable(tmp_path / "straight6", 6).fit(X, Y)
    _assert_same_weights(_weights(longer), _weights(straight))


def _history_without_durations(net):
    return [{k: v for k, v in row.items() if k != "dur"} for row in net.history]


def test_resumed_history_equals_the_uninterrupted_one(tmp_path):
    """The *_best flags too: the scoring callbacks go on from the restored best scores."""
    rng = np.random.default_rng(0)
    X = [rng.standard_normal((100, 6)).astype(np.float32) for _ in range(6)]
    Y = [rng.uniform(size=(100, 3)).astype(np.float32) for _ in range(6)]

    def make(folder, *extra):
        return DNN0Regressor(module__hidden_dim=8, max_epochs=6, verbose=0, random_state=0,
                             lr=0.05, callbacks=[("checkpoint", TrainingCheckpoint(folder)),
                                                 *extra])

    ref = make(tmp_path / "ref").fit(X, Y)
    # after the interruption, an epoch is not the best so far: a flag that can come out wrong
    assert False in ref.history[2:, "valid_loss_best"]
    with pytest.raises(KeyboardInterrupt, match="epochs 1-2 are saved"):
        make(tmp_path / "run", ("interrupt", Interrupt(epoch=3, batch=1))).fit(X, Y)
    net = make(tmp_path / "run").fit(X, Y)
    assert dict(net.callbacks_)["checkpoint"].resumed_epochs_ == 2
    assert _history_without_durations(net) == _history_without_durations(ref)
    scoring = dict(net.callbacks_)["valid_loss"]
    assert scoring.best_score_ == min(ref.history[:, "valid_loss"])


def test_run_key_tells_object_parameters_apart(tmp_path):
    """Objects as parameters (e.g. an optimizer with its arguments bound) belong to the run."""
    import functools

    X, Y = _data()

    def sgd(momentum, **params):
        return _resumable(tmp_path, 1, optimizer__weight_decay=0.0, **params,
                          optimizer=functools.partial(torch.optim.SGD, momentum=momentum))

    first = sgd(0.0).fit(X, Y)
    other = sgd(0.9).fit(X, Y)
    assert _resumed(other) == 0 and other.optimizer_.param_groups[0]["momentum"] == 0.9
    assert dict(other.callbacks_)["checkpoint"].run_dir_ \
        != dict(first.callbacks_)["checkpoint"].run_dir_
    assert _resumed(sgd(0.0).fit(X, Y)) == 1  # the same partial: the same run
    config = json.loads((dict(first.callbacks_)["checkpoint"].run_dir_ / "run.json").read_text())
    assert "momentum=0.0" in config["config"]["optimizer"]
    # an object known only by its address is keyed by its hash ...
    hashed = [dict(_resumable(tmp_path, 1, iterator_valid__worker_init_fn=_Seeder(k))
                   .fit(X, Y).callbacks_)["checkpoint"] for k in (1, 2, 1)]
    assert hashed[0].run_dir_ != hashed[1].run_dir_ and hashed[2].run_dir_ == hashed[0].run_dir_
    assert hashed[2].resumed_epochs_ == 1
    # ... and one that cannot be hashed either is refused, by name, rather than left out
    with pytest.raises(ParameterError, match="iterator_valid__worker_init_fn"):
        _resumable(tmp_path, 1, iterator_valid__worker_init_fn=_Unhashable()).fit(X, Y)


class _Seeder:
    """A callable parameter whose repr shows only its address."""

    def __init__(self, k):
        self.k = k

    def __call__(self, worker_id):
        pass


class _Unhashable(_Seeder):
    def __init__(self):
        import threading

        self.lock = threading.Lock()  # cannot be pickled, so joblib cannot hash it


def test_interrupt_in_the_first_epoch_says_nothing_was_saved(tmp_path):
    X, Y = _data()
    with pytest.raises(KeyboardInterrupt) as info:
        _resumable(tmp_path, 3, ("interrupt", Interrupt(epoch=1, batch=1))).fit(X, Y)
    assert "nothing was saved" in str(info.value) and "1-0" not in str(info.value)
    assert list(tmp_path.iterdir()) == []
    net = _resumable(tmp_path, 3).fit(X, Y)  # and the next fit starts afresh
    assert _resumed(net) == 0 and len(net.history) == 3


class NumpyScore(Callback):
    """Records a numpy float in the history, as scoring callbacks may."""

    def on_epoch_end(self, net, **kwargs):
        net.history.record("np_score", np.float32(len(net.history)))


def test_training_checkpoint_keeps_numpy_values_of_the_history(tmp_path):
    X, Y = _data()
    _resumable(tmp_path, 1, ("np", NumpyScore())).fit(X, Y)
    net = _resumable(tmp_path, 2, ("np", NumpyScore())).fit(X, Y)
    assert net.history[:, "np_score"] == [1.0, 2.0]


def test_training_checkpoint_saves_and_restores_cuda_generators(tmp_path, monkeypatch):
    """With CUDA present the GPUs' generators are saved too, and restored onto as many GPUs."""
    X, Y = _data()
    saved_states = [torch.arange(4, dtype=torch.uint8), torch.arange(4, 8, dtype=torch.uint8)]
    restored = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: saved_states)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.append)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    _resumable(tmp_path, 1, device="cpu").fit(X, Y)
    _resumable(tmp_path, 2, device="cpu").fit(X, Y)
    assert len(restored) == 1 and [t.tolist() for t in restored[0]] == [[0, 1, 2, 3],
                                                                        [4, 5, 6, 7]]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # fewer GPUs now: left alone
    _resumable(tmp_path, 3, device="cpu").fit(X, Y)
    assert len(restored) == 1


def test_model_file_leaves_the_checkpoint_out_without_a_warning(tmp_path):
    import warnings

    import sksep

    X, Y = _data()
    net = _resumable(tmp_path / "ckpt", 1).fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sksep.save(net, tmp_path / "m.sksep")
    assert sksep.load(tmp_path / "m.sksep").callbacks is None
    with pytest.warns(UserWarning, match="callbacks is not saved"):  # other callbacks: a word
        sksep.save(_resumable(tmp_path / "ckpt", 1, ("np", NumpyScore())).fit(X, Y),
                   tmp_path / "n.sksep")


def test_training_checkpoint_keeps_an_early_stopped_run_stopped(tmp_path):
    X, Y = _data()
    stop = {"callbacks__early_stopping__patience": 1,
            "callbacks__early_stopping__threshold": 0.5}  # 50 % better or it is a miss
    net = _resumable(tmp_path, 20, **stop).fit(X, Y)
    n = len(net.history)
    assert n < 20  # early stopping ended it, and load_best restored the best epoch
    best = _weights(net)
    # a fitted net with its checkpoint clones (skorch takes attributes without "_" as params)
    again = clone(net).fit(X, Y)
    assert len(again.history) == n and dict(again.callbacks_)["checkpoint"].resumed_epochs_ == n
    _assert_same_weights(_weights(again), best)


@pytest.mark.parametrize("params", [
    # early stopping: best epoch 1, then misses; resumed, it must remember both
    {"callbacks__early_stopping__patience": 2, "callbacks__early_stopping__threshold": 0.5},
    # a scheduler with state of its own (best loss, epochs without improvement)
    {"callbacks__lr_scheduler": LRScheduler(torch.optim.lr_scheduler.ReduceLROnPlateau,
                                            monitor="valid_loss", patience=0, threshold=0.2,
                                            factor=0.5)},
], ids=["early_stopping", "plateau"])
def test_training_checkpoint_restores_callback_state(tmp_path, params):
    X, Y = _data()
    ref_lrs, lrs = Record(), Record()
    ref = _resumable(tmp_path / "ref", 6, ("record", ref_lrs), **params).fit(X, Y)
    with pytest.raises(KeyboardInterrupt):
        _resumable(tmp_path / "run", 6, ("interrupt", Interrupt(epoch=3, batch=1)),
                   **params).fit(X, Y)
    net = _resumable(tmp_path / "run", 6, ("record", lrs), **params).fit(X, Y)
    assert len(net.history) == len(ref.history)
    assert lrs.lrs == ref_lrs.lrs[2:]
    _assert_same_weights(_weights(net), _weights(ref))


def _resumed(net):
    return dict(net.callbacks_)["checkpoint"].resumed_epochs_


def test_training_checkpoint_keeps_each_run_in_its_own_folder(tmp_path):
    X, Y = _data()
    first = _resumable(tmp_path, 1).fit(X, Y)
    run = dict(first.callbacks_)["checkpoint"].run_dir_
    assert run.parent == tmp_path and (run / TrainingCheckpoint.filename).is_file()
    described = json.loads((run / "run.json").read_text())
    assert described["config"]["lr"] == "0.001"
    assert described["data"].startswith("UtteranceDataset sha256:")
    # other settings, metadata or data are other runs: they start afresh beside it
    other_runs = [
        _resumable(tmp_path, 1, lr=0.01).fit(X, Y),
        _resumable(tmp_path, 1, callbacks__lr_scheduler__gamma=0.5).fit(X, Y),
        DNN0Regressor(module__hidden_dim=16, module__dropout=0.3, batch_size=64, verbose=0,
                      random_state=0, max_epochs=1, callbacks=[
                          ("checkpoint", TrainingCheckpoint(tmp_path, metadata={"snr": 5}))]
                      ).fit(X, Y),
        _resumable(tmp_path, 1).fit([x[::-1] for x in X], Y),  # say, another fold
        _resumable(tmp_path, 1, train_split=UtteranceSplit(valid_fraction=0.5)).fit(X, Y),
    ]
    assert [_resumed(net) for net in other_runs] == [0, 0, 0, 0, 0]
    assert len(list(tmp_path.glob("*/run.json"))) == 6
    # other callbacks, verbosity and max_epochs are the same run: it resumes
    again = _resumable(tmp_path, 2, ("record", Record()), verbose=1).fit(X, Y)
    assert _resumed(again) == 1 and len(again.history) == 2


def test_fixed_validation_sets_are_part_of_the_run(tmp_path):
    from skorch.helper import predefined_split

    from sksep.models import UtteranceDataset

    X, Y = _data()
    nets = [_resumable(tmp_path, 1, train_split=predefined_split(UtteranceDataset(v, Y[:2])))
            for v in (X[:2], X[2:4], X[:2])]
    runs = [dict(net.fit(X, Y).callbacks_)["checkpoint"] for net in nets]
    assert runs[0].run_dir_ != runs[1].run_dir_ and runs[2].run_dir_ == runs[0].run_dir_
    assert [run.resumed_epochs_ for run in runs] == [0, 0, 1]


class CountEpochs(Callback):
    """Counts the epochs trained by all its clones (a grid search clones the estimator)."""

    epochs = []

    def on_epoch_begin(self, net, **kwargs):
        CountEpochs.epochs.append(len(net.history))


def test_grid_search_with_a_checkpoint_resumes_its_fits(tmp_path):
    """Run again, a grid search restores every finished fit instead of training it."""
    from sklearn.model_selection import GridSearchCV

    X, Y = _data()
    net = _resumable(tmp_path, 2, ("count", CountEpochs()))
    CountEpochs.epochs.clear()
    search = GridSearchCV(net, {"lr": [1e-3, 3e-3]}, cv=2, error_score="raise").fit(X, Y)
    assert len(CountEpochs.epochs) == 2 * (2 * 2 + 1)  # 2 epochs x (2 candidates x 2 folds + refit)
    assert len(list(tmp_path.glob("*/training_state.pt"))) == 5
    CountEpochs.epochs.clear()
    again = GridSearchCV(net, {"lr": [1e-3, 3e-3]}, cv=2, error_score="raise").fit(X, Y)
    assert CountEpochs.epochs == []
    np.testing.assert_array_equal(again.cv_results_["mean_test_score"],
                                  search.cv_results_["mean_test_score"])


def test_training_checkpoint_unreadable_or_foreign_file_is_an_error(tmp_path):
    X, Y = _data()
    net = _resumable(tmp_path, 1).fit(X, Y)
    path = dict(net.callbacks_)["checkpoint"].run_dir_ / TrainingCheckpoint.filename
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="cannot read the training checkpoint"):
        _resumable(tmp_path, 2).fit(X, Y)
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(ModelFileError, match="not a sksep training checkpoint"):
        _resumable(tmp_path, 2).fit(X, Y)
    path.unlink()
    _resumable(tmp_path, 1).fit(X, Y)
    state = torch.load(path, weights_only=True)
    state["module"] = {"weight": torch.zeros(2)}  # as if the network's code had changed
    torch.save(state, path)
    with pytest.raises(ModelFileError, match="does not fit this network"):
        _resumable(tmp_path, 2).fit(X, Y)


def test_streamed_fit_resumes_with_the_mixtures_of_the_epochs_left(tmp_path):
    """fit_stream draws fresh mixtures every epoch; a resumed run draws those it had not."""
    from conftest import _speech_like

    from sksep import SpeechEnhancer
    from sksep.features import ContextStacker, FrameStandardizer, STFTTransformer

    speech = [_speech_like(seconds=0.3, sr=8000, seed=i) for i in range(4)]
    noise = [(0.05 * np.random.default_rng(1).standard_normal(9000)).astype(np.float32)]

    def enhancer(folder, *extra):
        return SpeechEnhancer(make_pipeline(
            STFTTransformer(sr=8000, n_fft=64, hop_length=32), ContextStacker(1),
            FrameStandardizer(), _resumable(folder, 3, *extra, train_split=None)))

    def fit(enh):
        return enh.fit_stream(speech, noise, snr_db=[0, 5], n_items=6, n_fit_items=4,
                              buffer_size=128)

    ref = fit(enhancer(tmp_path / "ref")).estimator_[-1]
    with pytest.raises(KeyboardInterrupt):
        fit(enhancer(tmp_path / "run", ("interrupt", Interrupt(epoch=2, batch=1))))
    net = fit(enhancer(tmp_path / "run")).estimator_[-1]
    assert dict(net.callbacks_)["checkpoint"].resumed_epochs_ == 1
    assert net.history[:, "train_loss"] == ref.history[:, "train_loss"]
    _assert_same_weights(_weights(net), _weights(ref))


# --------------------------------------------------------------------------- mixture corpus
@pytest.fixture
def mixtures():
    rng = np.random.default_rng(0)
    speech = AudioCollection([rng.normal(0, 0.1, 4000 + 100 * i) for i in range(5)], 8000)
    noise = AudioCollection([rng.normal(0, 0.1, 9000)], 8000)
    return make_mixtures(speech, noise, snr_db=[0, 5], random_state=0)


class _Crash(BaseException):
    """Stands for a kill: not an Exception, so nothing on the way catches it."""


def _crash_after(monkeypatch, n_files):
    real = sf.write
    count = {"n": 0}

    def write(*args, **kwargs):
        if count["n"] >= n_files:
            raise _Crash(f"killed after {n_files} files")
        count["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(sf, "write", write)
    return count


@pytest.mark.parametrize("n_files", [0, 1, 7, 14])  # 15 files in all: 5 mixtures x 3 parts
def test_interrupted_corpus_write_is_never_read_as_a_corpus(mixtures, tmp_path, monkeypatch,
                                                            n_files):
    folder = tmp_path / "corpus"
    _crash_after(monkeypatch, n_files)
    with pytest.raises(_Crash):
        mixtures.to_folder(folder)
    monkeypatch.undo()
    with pytest.raises(CorpusLayoutError, match="no mixtures.csv"):
        read_mixtures(folder)
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    # the rerun completes it (nothing to overwrite: no manifest was ever written)
    mixtures.to_folder(folder)
    back = read_mixtures(folder)
    assert len(back) == len(mixtures)
    for a, b in zip(back.noisy, mixtures.noisy, strict=True):
        np.testing.assert_array_equal(a, b)


def test_interrupted_overwrite_does_not_mix_old_and_new(mixtures, tmp_path, monkeypatch):
    folder = tmp_path / "corpus"
    mixtures.to_folder(folder)
    newer = make_mixtures(
        AudioCollection([np.full(3000, 0.05), np.full(3500, -0.05)], 8000),
        AudioCollection([np.random.default_rng(1).normal(0, 0.1, 9000)], 8000),
        snr_db=0, random_state=1,
    )
    _crash_after(monkeypatch, 2)  # the new noisy/ files replace old ones, then the kill
    with pytest.raises(_Crash):
        newer.to_folder(folder, overwrite=True)
    monkeypatch.undo()
    # the old manifest would now list new noisy files with old clean ones: refused instead
    with pytest.raises(CorpusLayoutError, match="no mixtures.csv"):
        read_mixtures(folder)
    newer.to_folder(folder, overwrite=True)
    back = read_mixtures(folder)
    assert len(back) == 2
    for noisy, clean, noise in back:
        np.testing.assert_array_equal(noisy, clean + noise)


# --------------------------------------------------------------------------- comparison
@pytest.mark.slow
def test_interrupted_comparison_resumes_from_cache(tmp_path, monkeypatch, capsys):
    from sksep import baselines, comparison
    from sksep.comparison import QUICK, run_comparison

    settings = dataclasses.replace(
        QUICK, snrs=(0.0,), n_train_utterances=8, n_test_utterances=2, max_epochs=2,
        patience=2,
    )
    kwargs = dict(cache_dir=tmp_path / "cache", settings=settings, networks=("DNN_0",),
                  features=("stft",), n_jobs=1)

    real = baselines.SpectralGating.predict
    calls = {"n": 0}

    def flaky(self, *args, **kw):  # the first run dies in its second system
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        return real(self, *args, **kw)

    monkeypatch.setattr(baselines.SpectralGating, "predict", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_comparison(tmp_path / "report", **kwargs)
    first = capsys.readouterr().out
    assert "unprocessed: STOI" in first and not (tmp_path / "report" / "README.md").exists()

    # the next run is interrupted in the network's second epoch
    real_regressor = comparison._regressor
    monkeypatch.setattr(comparison, "_regressor", lambda *a, **kw: real_regressor(*a, **kw)
                        .set_params(callbacks=[("stop", Interrupt(epoch=2, batch=1))]))
    with pytest.raises(KeyboardInterrupt, match="epochs 1-1 are saved"):
        run_comparison(tmp_path / "report", **kwargs)
    second = capsys.readouterr().out
    assert "unprocessed: cached" in second and "training DNN_0" in second
    monkeypatch.setattr(comparison, "_regressor", real_regressor)

    results = run_comparison(tmp_path / "report", **kwargs)
    second = capsys.readouterr().out
    assert "spectral gating: cached" in second and "resumed after epoch 1" in second
    assert "DNN_0, stft: STOI" in second
    from sksep._report import slug

    [meta] = (tmp_path / "cache").glob(f"*/*/results/{slug('DNN_0, stft')}.json")
    history = json.loads(meta.read_text())["history"]
    assert [row["epoch"] for row in history] == [1, 2]  # epoch 1 restored, epoch 2 trained
    assert (tmp_path / "report" / "README.md").is_file()
    systems = set(results["system"])
    assert {"unprocessed", "spectral gating", "DNN_0, stft", "oracle IRM, stft"} <= systems

    again = run_comparison(tmp_path / "report", **kwargs)
    third = capsys.readouterr().out
    assert "training DNN_0" not in third
    assert third.count(": cached") == len(systems)
    cols = ["system", "snr_db", "utterance_id", "stoi", "pesq", "si_sdr"]
    pd.testing.assert_frame_equal(again[cols], results[cols], check_dtype=False, rtol=1e-9)
