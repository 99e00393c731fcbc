"""Resumable training: the whole training state saved after every epoch.

skorch's own :class:`~skorch.callbacks.Checkpoint` and
:class:`~skorch.callbacks.LoadInitState` save the module, optimizer and
history, but an interrupted run resumed from them does not continue as the
uninterrupted run would have: early stopping starts over, the random draws
differ, and ``max_epochs`` more epochs are run. :class:`TrainingCheckpoint`
saves everything a sksep regressor's training depends on, so that an
interrupted fit, run again, continues from the last finished epoch and ends
where it would have ended. Each run (settings and data) has its own subfolder,
so one folder serves a whole grid search.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import numbers
from pathlib import Path

import joblib
import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from skorch.history import History

from .._atomic import atomic_path, atomic_write_text
from ..exceptions import ModelFileError, ParameterError

__all__ = ["TrainingCheckpoint", "array_digest", "stable_repr"]

_FORMAT = 1
# parameters that may change between an interrupted run and its resumption
_FREE_PARAMS = ("max_epochs", "verbose", "device", "callbacks")
# parameters that are part of the run through its other entries ("validation")
_KEYED_ELSEWHERE = ("train_split",)


def array_digest(*arrays):
    """A short SHA-256 of arrays' dtypes, shapes and bytes (None entries are skipped)."""
    digest = hashlib.sha256()
    for a in arrays:
        if a is None:
            continue
        a = np.ascontiguousarray(a)
        digest.update(repr((a.dtype.str, a.shape)).encode())
        digest.update(a.view(np.uint8).data)
    return digest.hexdigest()[:16]


def stable_repr(obj):
    """``repr(obj)``, or its class's qualified name when the repr holds a memory address."""
    text = repr(obj)
    if " at 0x" not in text:
        return text
    kind = obj if inspect.isfunction(obj) or inspect.isclass(obj) else type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def _describe(value):
    """A stable text for a parameter value, or None when it has none.

    Plain values by their repr, classes and functions by their qualified
    names, containers and :func:`functools.partial` item by item, arrays by
    a hash of their bytes, other objects by their repr when it holds no
    memory address, else by their class and :func:`joblib.hash` (None when
    they cannot be hashed).
    """
    if value is None or isinstance(value, (bool, numbers.Number, str, bytes)):
        return repr(value)
    if inspect.isclass(value) or inspect.isroutine(value):
        module = getattr(value, "__module__", None) or ""
        name = getattr(value, "__qualname__", None) or getattr(value, "__name__", repr(value))
        return f"{module}.{name}" if module else name
    if isinstance(value, (tuple, list)):
        parts = [_describe(v) for v in value]
        return None if None in parts else f"({', '.join(parts)})"
    if isinstance(value, dict):
        parts = {str(k): _describe(v) for k, v in value.items()}
        if None in parts.values():
            return None
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in sorted(parts.items())) + "}"
    if isinstance(value, functools.partial):
        parts = [_describe(value.func), *(_describe(a) for a in value.args),
                 *(None if (d := _describe(v)) is None else f"{k}={d}"
                   for k, v in sorted(value.keywords.items()))]
        return None if None in parts else f"functools.partial({', '.join(parts)})"
    if isinstance(value, np.ndarray):
        return f"ndarray sha256:{array_digest(value)}"
    text = repr(value)
    if " at 0x" not in text:
        return text
    try:
        digest = joblib.hash(value)
    except Exception:  # noqa: BLE001 - unpicklable: no stable description
        return None
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__} joblib.hash:{digest}"


def _config(net):
    """The net's settings that a resumed run must share with the interrupted one.

    Raises
    ------
    ParameterError
        If a parameter's value has no stable description (see :func:`_describe`),
        so that runs differing in it could not be told apart.
    """
    params = {k: v for k, v in net.get_params(deep=True).items()
              if k.split("__")[0] not in _FREE_PARAMS and k not in _KEYED_ELSEWHERE
              and not k.startswith("_")}
    # Of the callbacks, only those whose state is restored count (others may come and go),
    # read from the live objects: skorch's get_params reports the defaults' values.
    for name, cb in getattr(net, "callbacks_", []):
        if isinstance(cb, (LRScheduler, EarlyStopping)):
            params.update({f"callbacks__{name}__{k}": v for k, v in vars(cb).items()
                           if not (k.startswith("_") or k.endswith("_") or k == "sink")})
    config = {}
    for key, value in sorted(params.items()):
        text = _describe(value)
        if text is None:
            raise ParameterError(
                f"TrainingCheckpoint cannot key the run by {key}={value!r}: the value has no "
                "stable description (its repr holds a memory address and joblib cannot hash "
                "it), so a run with another value could be resumed in its place. Give a "
                "class, a function, a functools.partial or an object with a repr of its "
                "settings"
            )
        config[key] = text
    return config


def _data_key(X):
    """What identifies the training data: its ``fingerprint()``, else its kind and size."""
    fingerprint = getattr(X, "fingerprint", None)
    if callable(fingerprint):
        return str(fingerprint())
    try:
        return f"{type(X).__name__} of {len(X)}"
    except TypeError:
        return type(X).__name__


def _plain(value):
    """JSON for history values json cannot write (numpy and torch scalars, anything else)."""
    if isinstance(value, (np.generic, torch.Tensor)) and np.size(value) == 1:
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _restore_best_scores(net):
    """Give the scoring callbacks the best scores of the restored history.

    skorch's scoring callbacks (``train_loss``, ``valid_loss``, EpochScoring)
    keep the best score so far to record ``<name>_best`` each epoch; they set
    it before the history is restored. The best score is the one of the last
    epoch flagged best, as :class:`skorch.callbacks.EpochScoring` reads it.
    """
    for _, cb in net.callbacks_:
        if not hasattr(cb, "best_score_"):
            continue
        name = getattr(cb, "name_", None) or getattr(cb, "name", None)
        if not isinstance(name, str):
            continue
        flags = [row.get(f"{name}_best") for row in net.history]
        best = [i for i, flag in enumerate(flags) if flag is True]
        if best and name in net.history[best[-1]]:
            cb.best_score_ = net.history[best[-1]][name]


def _split_key(train_split):
    """What identifies the validation data: a fixed set's fingerprint, else the split's repr."""
    valid = getattr(train_split, "keywords", {}).get("valid_ds")  # skorch's predefined_split
    if valid is not None:
        return _data_key(valid)
    return None if train_split is None else stable_repr(train_split)


class TrainingCheckpoint(Callback):
    """Save the whole training state after every epoch; resume from it in a later fit.

    Add it to a sksep regressor's callbacks (it runs after all the others,
    wherever it is in the list). After every finished epoch it
    writes (atomically) the network's weights, the optimizer's and criterion's
    state, the history, the state of every learning-rate scheduler and early
    stopping callback, and the random generators' states. When a later ``fit``
    (of the same or a cloned regressor, e.g. the same script run again) finds
    the saved state of the same run, it restores all of that and trains only
    the epochs that are left: ``max_epochs`` counts the epochs of the whole
    run, the learning-rate schedule and the patience of early stopping go on
    where they were, and a streamed :class:`~sksep.models.MixingDataset` makes
    the mixtures of the epochs that are left. The resumed run ends with the
    same weights as an uninterrupted one (up to nondeterministic GPU kernels).

    A *run* is the network's settings (every parameter of the network, its
    learning-rate scheduler and its early stopping, but ``max_epochs``,
    ``verbose`` and ``device``; objects such as
    ``optimizer=functools.partial(torch.optim.SGD, momentum=0.9)`` by their
    repr, or by a :func:`joblib.hash` when the repr holds a memory address),
    the ``metadata``, the training data (the
    dataset's ``fingerprint()``: a hash of in-memory frames and masks, or of a
    stream's sources and settings) and the validation data (the split's
    settings, or the fingerprint of a fixed validation set). Each run has its own subfolder of
    ``dirname`` named by a hash of those, with a ``run.json`` that lists them;
    other settings or data start a new run beside the others. So one folder
    serves a grid search or a cross-validation: run it again after an
    interruption, and the fits that had finished are restored without
    training, the one that was cut short resumes, and the rest train.

    A run that ended (early stopping, or ``max_epochs`` reached) is kept:
    fitting again restores the finished model without training; raising
    ``max_epochs`` trains the extra epochs, unless early stopping had ended
    the run. A resumed run's history, ``*_best`` flags included, is the
    uninterrupted run's (the scoring callbacks get the best scores of the
    restored epochs). An interrupted fit (Ctrl-C) raises :class:`KeyboardInterrupt`
    after the last finished epoch is saved, rather than ending quietly as
    skorch does, so that a script does not go on with a half-trained network.
    At most the unfinished epoch is lost; interrupted before its first epoch
    finished, a run has saved nothing, and the message says so.

    Parameters
    ----------
    dirname : str or Path
        Folder of the runs' subfolders (created when missing).
    metadata : dict or None, default=None
        Further settings the run depends on that neither the network nor the
        dataset's fingerprint holds (values are compared as text).
    sink : callable, default=print
        Where a resumption is reported (when the net is verbose).

    Attributes
    ----------
    run_dir_ : Path
        The subfolder of the last fit's run.
    resumed_epochs_ : int
        Epochs restored at the start of the last fit (0 when it started afresh).

    Raises
    ------
    ParameterError
        From ``fit``, if a network parameter's value can be neither described
        nor hashed (it could not tell this run from another).

    Notes
    -----
    The state file holds tensors, numbers and text only and is read with
    ``torch.load(..., weights_only=True)``; a damaged or foreign one stops the
    fit with :class:`~sksep.exceptions.ModelFileError`. The in-memory
    :class:`~sksep.models.UtteranceDataset` split is seeded, so a resumed
    ``fit`` on the same data validates on the same utterances.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sksep.models import DNN0Regressor, TrainingCheckpoint
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.normal(size=(40, 6)).astype(np.float32) for _ in range(5)]
    >>> Y = [rng.uniform(size=(40, 3)).astype(np.float32) for _ in range(5)]
    >>> folder = tempfile.mkdtemp()
    >>> def make_net():
    ...     return DNN0Regressor(module__hidden_dim=8, max_epochs=3, verbose=0, random_state=0,
    ...                          callbacks=[("checkpoint", TrainingCheckpoint(folder))])
    >>> net = make_net().fit(X, Y)
    >>> again = make_net().fit(X, Y)          # the finished run is restored, not retrained
    >>> len(again.history), again.callbacks[0][1].resumed_epochs_
    (3, 3)
    """

    filename = "training_state.pt"

    def __init__(self, dirname, *, metadata=None, sink=print):
        self.dirname = dirname
        self.metadata = metadata
        self.sink = sink

    def initialize(self):
        self.resumed_epochs_ = 0
        self.stopped_early_ = False
        self.saved_epochs_ = 0
        self.target_epochs_ = None
        self.run_ = None
        return self

    # ----------------------------------------------------------------- planning
    def remaining_epochs(self, max_epochs):
        """Epochs a fit with ``max_epochs`` in all still has to train after resuming."""
        if self.stopped_early_:
            return 0
        return max(int(max_epochs) - self.resumed_epochs_, 0)

    def plan(self, n_epochs_before, n_epochs):
        """Record that this fit means to end after ``n_epochs_before + n_epochs`` epochs."""
        self.target_epochs_ = int(n_epochs_before) + int(n_epochs)

    # ---------------------------------------------------------------- the run
    def _metadata(self):
        if self.metadata is None:
            return {}
        if not isinstance(self.metadata, dict):
            raise ParameterError(f"metadata must be a dict or None, got {self.metadata!r}")
        return {str(k): str(v) for k, v in sorted(self.metadata.items())}

    def _identify(self, net, X):
        self.run_ = {"config": _config(net), "metadata": self._metadata(), "data": _data_key(X),
                     "validation": _split_key(net.train_split)}
        key = hashlib.sha256(json.dumps(self.run_, sort_keys=True).encode()).hexdigest()[:16]
        self.run_dir_ = Path(self.dirname) / key

    # ------------------------------------------------------------------- saving
    def _state(self, net, stopped_early):
        schedulers, stoppers = {}, {}
        for name, cb in net.callbacks_:
            if isinstance(cb, LRScheduler) and getattr(cb, "lr_scheduler_", None) is not None:
                schedulers[name] = cb.lr_scheduler_.state_dict()
            elif isinstance(cb, EarlyStopping) and hasattr(cb, "misses_"):
                stoppers[name] = {
                    "misses_": int(cb.misses_),
                    "dynamic_threshold_": float(cb.dynamic_threshold_),
                    "best_epoch_": int(cb.best_epoch_),
                    "best_model_weights_": cb.best_model_weights_,
                }
        state = {
            "format": _FORMAT,
            "stopped_early": bool(stopped_early),
            "history": json.dumps(net.history.to_list(), default=_plain),
            "module": net.module_.state_dict(),
            "optimizer": net.optimizer_.state_dict(),
            "criterion": net.criterion_.state_dict(),
            "schedulers": schedulers,
            "early_stopping": stoppers,
            "torch_rng": torch.get_rng_state(),
        }
        if torch.cuda.is_available():
            state["cuda_rng"] = torch.cuda.get_rng_state_all()
        return state

    def _save(self, net, stopped_early=False):
        if not (self.run_dir_ / "run.json").exists():
            atomic_write_text(self.run_dir_ / "run.json", json.dumps(self.run_, indent=1))
        with atomic_path(self.run_dir_ / self.filename) as tmp:
            torch.save(self._state(net, stopped_early), tmp)

    # ------------------------------------------------------------------ loading
    def _load(self, path):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ModelFileError(
                f"cannot read the training checkpoint {path}: {exc}. Delete its folder to "
                "train this run afresh"
            ) from exc
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ModelFileError(
                f"{path} is not a sksep training checkpoint (format {_FORMAT}); delete its "
                "folder to train this run afresh"
            )
        return state

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.initialize()
        self._identify(net, X)
        path = self.run_dir_ / self.filename
        if len(net.history) or not path.exists():
            return  # a fresh run, or a partial_fit going on in memory
        state = self._load(path)
        try:
            net.module_.load_state_dict(state["module"])
            net.optimizer_.load_state_dict(state["optimizer"])
            net.criterion_.load_state_dict(state["criterion"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise ModelFileError(
                f"the training checkpoint {path} does not fit this network: {exc}"
            ) from exc
        net.history = History(json.loads(state["history"]))
        _restore_best_scores(net)
        for name, cb in net.callbacks_:
            if name in state["schedulers"] and getattr(cb, "lr_scheduler_", None) is not None:
                cb.lr_scheduler_.load_state_dict(state["schedulers"][name])
            if name in state["early_stopping"]:
                for attr, value in state["early_stopping"][name].items():
                    setattr(cb, attr, value)
        torch.set_rng_state(state["torch_rng"])
        if "cuda_rng" in state and torch.cuda.is_available() \
                and len(state["cuda_rng"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.resumed_epochs_ = self.saved_epochs_ = len(net.history)
        self.stopped_early_ = state["stopped_early"]
        if hasattr(X, "epoch"):  # a streamed dataset makes the mixtures of epoch `epoch` next
            X.epoch = self.resumed_epochs_
        if net.verbose:
            how = " (it had ended by early stopping)" if self.stopped_early_ else ""
            self.sink(f"Resuming after epoch {self.resumed_epochs_} from {path}{how}")

    def on_epoch_end(self, net, **kwargs):
        self._save(net)
        self.saved_epochs_ = len(net.history)

    def on_train_end(self, net, **kwargs):
        stopped = any(isinstance(cb, EarlyStopping) and getattr(cb, "misses_", 0) >= cb.patience
                      for _, cb in net.callbacks_)
        if stopped and not self.stopped_early_:
            self._save(net, stopped_early=True)
            self.stopped_early_ = True
            return
        if stopped or self.target_epochs_ is None:
            return
        if self.saved_epochs_ < self.target_epochs_:
            if not self.saved_epochs_:
                if (self.run_dir_ / self.filename).exists():  # by an earlier fit of this run
                    raise KeyboardInterrupt(
                        "training interrupted before an epoch of this fit had finished; the "
                        f"state saved earlier is kept in {self.run_dir_}"
                    )
                raise KeyboardInterrupt(
                    "training interrupted before its first epoch had finished: nothing was "
                    "saved, so fitting again starts afresh"
                )
            raise KeyboardInterrupt(
                f"training interrupted; epochs 1-{self.saved_epochs_} are saved in "
                f"{self.run_dir_}: fit again with the same checkpoint folder to resume"
            )
