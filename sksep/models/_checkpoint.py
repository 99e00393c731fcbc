"""Resumable training: the whole training state saved after every epoch.

skorch's own :class:`~skorch.callbacks.Checkpoint` and
:class:`~skorch.callbacks.LoadInitState` save the module, optimizer and
history, but an interrupted run resumed from them does not continue as the
uninterrupted run would have: the learning-rate schedule and early stopping
start over, the random draws differ, and ``max_epochs`` more epochs are run.
:class:`TrainingCheckpoint` saves everything a sksep regressor's training
depends on, so that an interrupted fit, run again with the same folder,
continues from the last finished epoch and ends where it would have ended.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import numbers
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from skorch.history import History

from .._atomic import atomic_path
from ..exceptions import ModelFileError, ParameterError

__all__ = ["TrainingCheckpoint"]

_FORMAT = 1
# parameters that may change between an interrupted run and its resumption
_FREE_PARAMS = ("max_epochs", "verbose", "device", "callbacks")


def _describe(value):
    """A stable text for a parameter value, or None when it has none (objects)."""
    if value is None or isinstance(value, (bool, numbers.Number, str)):
        return repr(value)
    if inspect.isclass(value) or inspect.isfunction(value):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, (tuple, list)):
        parts = [_describe(v) for v in value]
        return None if None in parts else f"({', '.join(parts)})"
    return None


def _config(net):
    """The net's settings that a resumed run must share with the interrupted one."""
    params = {k: v for k, v in net.get_params(deep=True).items()
              if k.split("__")[0] not in _FREE_PARAMS}
    # Of the callbacks, only those whose state is restored count (others may come and go),
    # read from the live objects: skorch's get_params reports the defaults' values.
    for name, cb in getattr(net, "callbacks_", []):
        if isinstance(cb, (LRScheduler, EarlyStopping)):
            params.update({f"callbacks__{name}__{k}": v for k, v in vars(cb).items()
                           if not (k.startswith("_") or k.endswith("_") or k == "sink")})
    config = {}
    for key, value in params.items():
        text = _describe(value)
        if text is not None:
            config[key] = text
    return config


def _data_key(X):
    """A fingerprint of the training data: a hash of in-memory frames, else the dataset's repr."""
    features = getattr(X, "features", None)
    if isinstance(features, np.ndarray):
        digest = hashlib.sha256()
        for part in (features, getattr(X, "targets", None), getattr(X, "lengths", None)):
            if isinstance(part, np.ndarray):
                digest.update(repr((part.dtype.str, part.shape)).encode())
                digest.update(np.ascontiguousarray(part).view(np.uint8).data)
        return f"{type(X).__name__} sha256:{digest.hexdigest()[:16]}"
    if type(X).__repr__ is not object.__repr__:
        return repr(X)
    return type(X).__name__


class TrainingCheckpoint(Callback):
    """Save the whole training state after every epoch; resume from it in a later fit.

    Add it to a sksep regressor's callbacks. After every finished epoch it
    writes (atomically) the network's weights, the optimizer's and criterion's
    state, the history, the state of every learning-rate scheduler and early
    stopping callback, and the random generators' states. When a later ``fit``
    (of the same or a cloned regressor, e.g. the same script run again) starts
    with a saved state in ``dirname``, it restores all of that and trains only
    the epochs that are left: ``max_epochs`` counts the epochs of the whole
    run, the learning-rate schedule and the patience of early stopping go on
    where they were, and a streamed :class:`~sksep.models.MixingDataset` makes
    the mixtures of the epochs that are left. The resumed run ends with the
    same weights as an uninterrupted one (up to nondeterministic GPU kernels).

    A run that ended (early stopping, or ``max_epochs`` reached) is also kept:
    fitting again restores the finished model without training; raising
    ``max_epochs`` trains the extra epochs, unless early stopping had ended
    the run. An interrupted fit (Ctrl-C) raises :class:`KeyboardInterrupt`
    after the last finished epoch is saved, rather than ending quietly as
    skorch does, so that a script does not go on with a half-trained network.
    At most the unfinished epoch is lost.

    Parameters
    ----------
    dirname : str or Path
        Folder of the saved state (created when missing). Use one folder per
        training run: resuming with different settings (any parameter of the
        network, its learning-rate scheduler or its early stopping, but
        ``max_epochs``, ``verbose`` and ``device``) or on different data (a
        hash of in-memory training frames and masks; a streamed dataset's
        description) is refused. Other callbacks may differ.
    metadata : dict of str to str or None, default=None
        Further settings the run depends on that the network does not hold
        (e.g. the corpus or the augmentation of a streamed fit); resuming with
        different metadata is refused, as for the network's parameters.
    sink : callable, default=print
        Where the resumption is reported (when the net is verbose).

    Attributes
    ----------
    resumed_epochs_ : int
        Epochs restored from ``dirname`` at the start of the last fit (0 when
        it started afresh).

    Notes
    -----
    The file holds tensors, numbers and text only and is read with
    ``torch.load(..., weights_only=True)``. The in-memory
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
    >>> net = DNN0Regressor(module__hidden_dim=8, max_epochs=3, verbose=0, random_state=0,
    ...                     callbacks=[("checkpoint", TrainingCheckpoint(folder))]).fit(X, Y)
    >>> again = DNN0Regressor(module__hidden_dim=8, max_epochs=3, verbose=0, random_state=0,
    ...                       callbacks=[("checkpoint", TrainingCheckpoint(folder))]).fit(X, Y)
    >>> len(again.history), again.callbacks[0][1].resumed_epochs_
    (3, 3)
    """

    filename = "training_state.pt"

    def __init__(self, dirname, *, metadata=None, sink=print):
        self.dirname = dirname
        self.metadata = metadata
        self.sink = sink

    @property
    def path(self):
        """The file of the saved state."""
        return Path(self.dirname) / self.filename

    def initialize(self):
        self.resumed_epochs_ = 0
        self._stopped_early = False
        self._saved_epochs = 0
        self._target_epochs = None
        self._data = None
        return self

    # ----------------------------------------------------------------- planning
    def remaining_epochs(self, max_epochs):
        """Epochs a fit with ``max_epochs`` in all still has to train after resuming."""
        if self._stopped_early:
            return 0
        return max(int(max_epochs) - self.resumed_epochs_, 0)

    def plan(self, n_epochs_before, n_epochs):
        """Record that this fit means to end after ``n_epochs_before + n_epochs`` epochs."""
        self._target_epochs = int(n_epochs_before) + int(n_epochs)

    # ------------------------------------------------------------------- saving
    def _metadata(self):
        if self.metadata is None:
            return {}
        if not isinstance(self.metadata, dict):
            raise ParameterError(f"metadata must be a dict or None, got {self.metadata!r}")
        return {str(k): str(v) for k, v in self.metadata.items()}

    def _state(self, net, stopped_early, data):
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
            "config": _config(net),
            "metadata": self._metadata(),
            "data": data,
            "stopped_early": bool(stopped_early),
            "history": json.dumps(net.history.to_list()),
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
        with atomic_path(self.path) as tmp:
            torch.save(self._state(net, stopped_early, self._data), tmp)

    # ------------------------------------------------------------------ loading
    def _load(self):
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ModelFileError(
                f"cannot read the training checkpoint {self.path}: {exc}. Delete it to train "
                "afresh"
            ) from exc
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ModelFileError(
                f"{self.path} is not a sksep training checkpoint (format {_FORMAT}); delete it "
                "to train afresh"
            )
        return state

    def _check_same_run(self, net, state):
        now = {**_config(net), **{f"metadata[{k}]": v for k, v in self._metadata().items()}}
        then = {**state["config"],
                **{f"metadata[{k}]": v for k, v in state["metadata"].items()}}
        changed = sorted(k for k in now.keys() | then.keys() if now.get(k) != then.get(k))
        if changed:
            listed = "; ".join(f"{k}: {then.get(k, '(unset)')} then, {now.get(k, '(unset)')} now"
                               for k in changed[:5])
            more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
            raise ParameterError(
                f"the training checkpoint in {self.dirname} was made with other settings "
                f"({listed}{more}); resume with the same settings, or use another folder (or "
                "delete it) to train afresh"
            )

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.initialize()
        self._data = _data_key(X)
        if len(net.history) or not self.path.exists():
            return  # a fresh run, or a partial_fit going on in memory
        state = self._load()
        self._check_same_run(net, state)
        if state["data"] != self._data:
            raise ParameterError(
                f"the training checkpoint in {self.dirname} was made on other training data "
                f"({state['data']} then, {self._data} now); use one folder per training run "
                "(in a grid search, one per candidate and fold)"
            )
        try:
            net.module_.load_state_dict(state["module"])
            net.optimizer_.load_state_dict(state["optimizer"])
            net.criterion_.load_state_dict(state["criterion"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise ModelFileError(
                f"the training checkpoint in {self.dirname} does not fit this network: {exc}"
            ) from exc
        net.history = History(json.loads(state["history"]))
        for name, cb in net.callbacks_:
            if name in state["schedulers"] and getattr(cb, "lr_scheduler_", None) is not None:
                cb.lr_scheduler_.load_state_dict(state["schedulers"][name])
            if name in state["early_stopping"]:
                for attr, value in state["early_stopping"][name].items():
                    setattr(cb, attr, value)
        torch.set_rng_state(state["torch_rng"])
        if "cuda_rng" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.resumed_epochs_ = self._saved_epochs = len(net.history)
        self._stopped_early = state["stopped_early"]
        if hasattr(X, "epoch"):  # a streamed dataset makes the mixtures of epoch `epoch` next
            X.epoch = self.resumed_epochs_
        if net.verbose:
            how = " (it had ended by early stopping)" if self._stopped_early else ""
            self.sink(f"Resuming after epoch {self.resumed_epochs_} from {self.path}{how}")

    def on_epoch_end(self, net, **kwargs):
        self._save(net)
        self._saved_epochs = len(net.history)

    def on_train_end(self, net, **kwargs):
        stopped = any(isinstance(cb, EarlyStopping) and getattr(cb, "misses_", 0) >= cb.patience
                      for _, cb in net.callbacks_)
        if stopped and not self._stopped_early:
            self._save(net, stopped_early=True)
            self._stopped_early = True
            return
        if stopped or self._target_epochs is None:
            return
        if self._saved_epochs < self._target_epochs:
            raise KeyboardInterrupt(
                f"training interrupted; epochs 1-{self._saved_epochs} are saved in "
                f"{self.dirname}: fit again with the same checkpoint folder to resume"
            )
