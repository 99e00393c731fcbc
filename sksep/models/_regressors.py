"""The four networks as skorch regressors over lists of per-utterance features.

Each regressor is a :class:`skorch.NeuralNetRegressor` that overrides a few of
skorch's small steps and nothing else:

- ``get_dataset`` turns a list of per-utterance matrices into an
  :class:`~sksep.models.UtteranceDataset` (frames for the DNNs, centre-frame
  patches for the CNNs);
- ``initialize_module`` fills in the module's input and output sizes from the
  data seen in ``fit``;
- ``get_iterator`` batches whole index lists at once and shuffles training frames;
- ``predict`` / ``score`` split the frame-wise output back into utterances.

``device="auto"`` stays the stored parameter (so ``clone`` and ``get_params``
see it) and is resolved whenever skorch reads ``net.device``.
"""

from __future__ import annotations

import contextlib
import inspect
import numbers

import numpy as np
import torch
from sklearn.metrics import r2_score
from skorch import NeuralNetRegressor
from skorch.callbacks import EarlyStopping, LRScheduler
from skorch.utils import is_dataset
from torch.utils.data import DataLoader

from ..exceptions import ParameterError
from ._checkpoint import TrainingCheckpoint
from ._data import UtteranceDataset, UtteranceSplit, check_context, check_utterances, collate_batch
from ._modules import CNN0, CNN1, DNN0, DNN1
from ._streaming import MixingDataset, StreamLoader

__all__ = [
    "CNN0Regressor",
    "CNN1Regressor",
    "DNN0Regressor",
    "DNN1Regressor",
    "ValidEarlyStopping",
    "resolve_device",
]

_DEFAULT_SPLIT = UtteranceSplit(valid_fraction=0.2, random_state=0)


def resolve_device(device):
    """``"auto"`` -> ``"cuda"`` when a CUDA device is available, else ``"cpu"``.

    Any other value (``"cpu"``, ``"cuda:1"``, a :class:`torch.device`, None) is
    returned unchanged.

    Examples
    --------
    >>> from sksep.models import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("auto") in ("cpu", "cuda")
    True
    """
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class ValidEarlyStopping(EarlyStopping):
    """:class:`skorch.callbacks.EarlyStopping` that stands aside without a validation set.

    With ``train_split=None`` there is no ``valid_loss`` to monitor; instead of
    failing, this callback then does nothing and training runs ``max_epochs``.
    """

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is None and self.monitor.startswith("valid"):
            return
        super().on_epoch_end(net, dataset_valid=dataset_valid, **kwargs)


def _check_random_state(random_state):
    if random_state is None:
        return None
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral) \
            or random_state < 0:
        raise ParameterError(
            f"random_state must be None, a non-negative int or a RandomState, got {random_state!r}"
        )
    return int(random_state)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


#: torch's error when a BatchNorm layer trains on one value per channel (a one-frame batch)
_BATCHNORM_ONE_VALUE = "Expected more than 1 value per channel when training"


class _MaskRegressor(NeuralNetRegressor):
    """Shared plumbing of the four regressors (see their docstrings)."""

    # set by subclasses: do the networks take flattened frames or 2-D patches?
    _patches = False

    def __init__(self, module, *, criterion=torch.nn.MSELoss, optimizer=torch.optim.Adam, lr=1e-3,
                 max_epochs=20, batch_size=128, train_split=_DEFAULT_SPLIT,
                 dataset=UtteranceDataset, device="auto", random_state=None, **kwargs):
        kwargs.setdefault("optimizer__weight_decay", 1e-4)
        super().__init__(
            module, criterion=criterion, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
            batch_size=batch_size, train_split=train_split, dataset=dataset, device=device,
            **kwargs,
        )
        self.random_state = random_state

    # ------------------------------------------------------------------ device
    @property
    def device(self):
        """The device skorch computes on: the ``device`` parameter, with "auto" resolved."""
        return resolve_device(self.__dict__.get("device", "auto"))

    @device.setter
    def device(self, value):
        self.__dict__["device"] = value

    def get_params(self, deep=True, **kwargs):
        params = super().get_params(deep=deep, **kwargs)
        if "device" in params:
            params["device"] = self.__dict__.get("device", "auto")  # the stored value, not resolved
        return params

    def __setstate__(self, state):
        # skorch maps the saved tensors to state["device"] (falling back to the CPU with a
        # DeviceWarning when CUDA is gone); "auto" must be resolved for that and then kept.
        raw = state.get("device")
        state = dict(state, device=resolve_device(raw))
        super().__setstate__(state)
        if isinstance(raw, str) and raw == "auto":
            self.__dict__["device"] = raw

    def load_params(self, *args, **kwargs):
        raw = self.__dict__.get("device")
        resolved = self.device
        super().load_params(*args, **kwargs)
        if isinstance(raw, str) and raw == "auto" and self.__dict__.get("device") == resolved:
            self.__dict__["device"] = raw
        return self

    # ------------------------------------------------------------- callbacks
    @property
    def _default_callbacks(self):
        return [
            *super()._default_callbacks,
            ("lr_scheduler", LRScheduler(policy=torch.optim.lr_scheduler.ExponentialLR,
                                         gamma=0.9)),
            ("early_stopping", ValidEarlyStopping(monitor="valid_loss", patience=5,
                                                  load_best=True)),
        ]

    # ------------------------------------------------------------------ data
    def _dataset_kwargs(self):
        if self._patches:
            return {"context": check_context(self.context), "flatten": False}
        return {"context": None, "flatten": True}

    def get_dataset(self, X, y=None):
        """Wrap per-utterance lists in ``self.dataset`` (an :class:`UtteranceDataset`)."""
        if is_dataset(X):
            # Hook for streaming datasets (sksep.models.MixingDataset): they take this
            # regressor's sample layout (flat frames or patches) as UtteranceDataset would.
            if hasattr(X, "with_layout"):
                return X.with_layout(**self._dataset_kwargs())
            return X
        if not callable(self.dataset):
            return self.dataset
        return self.dataset(X, y, **self._dataset_kwargs(), **self.get_params_for("dataset"))

    def get_iterator(self, dataset, training=False):
        """A DataLoader over ``dataset``.

        Defaults added to skorch's: whole batches are fetched at once
        (``collate_fn``), training frames are shuffled, a lone trailing training
        frame is dropped (BatchNorm cannot train on one sample), and batches are
        pinned in memory when computing on CUDA. ``iterator_train__*`` /
        ``iterator_valid__*`` parameters override all of these.

        A stream (an ``IterableDataset`` such as
        :class:`~sksep.models.MixingDataset`) shuffles itself and has no
        length: every frame of it is trained on (no ``drop_last``), through a
        ``StreamLoader`` that joins a one-frame batch to its neighbour when
        the network has BatchNorm layers. A MixingDataset starts at this
        network's epoch count (``len(history)``): a fresh fit at epoch 0,
        ``partial_fit`` and warm starts where the last fit stopped.
        """
        prefix = "iterator_train" if training else "iterator_valid"
        iterator = self.iterator_train if training else self.iterator_valid
        kwargs = self.get_params_for(prefix)
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        if isinstance(iterator, type) and issubclass(iterator, DataLoader):
            base = getattr(dataset, "dataset", dataset)  # torch Subset of a dataset
            if isinstance(base, UtteranceDataset):
                kwargs.setdefault("collate_fn", collate_batch)
            if isinstance(dataset, torch.utils.data.IterableDataset):
                # Streaming datasets shuffle themselves and have no length. Every frame is
                # kept; a partial last batch (one per worker) may hold one frame, which
                # BatchNorm cannot train on: StreamLoader joins it to its neighbour.
                if training:
                    if isinstance(dataset, MixingDataset):
                        dataset.epoch = len(self.history)
                    if iterator is DataLoader:
                        iterator = StreamLoader
                        kwargs.setdefault("merge_single", self._has_batchnorm())
                if hasattr(dataset, "worker_init_fn"):
                    kwargs.setdefault("worker_init_fn", dataset.worker_init_fn)
            elif training:
                kwargs.setdefault("shuffle", True)
                n, bs = len(dataset), kwargs["batch_size"]
                kwargs.setdefault("drop_last", n > bs and n % bs == 1)
            if torch.device(self.device or "cpu").type == "cuda":
                kwargs.setdefault("pin_memory", True)
        return iterator(dataset, **kwargs)

    def _has_batchnorm(self):
        module = getattr(self, "module_", None)
        return module is not None and any(
            isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in module.modules())

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch, refusing a training epoch without a single batch."""
        super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        if training and iterator is not None and self.history[-1, "train_batch_count"] == 0:
            drop = self.get_params_for("iterator_train").get("drop_last")
            why = (f"iterator_train__drop_last={drop!r} dropped its only, partial batch "
                   "(fewer samples than the batch size)" if drop
                   else "the training data served no samples")
            raise ParameterError(
                f"{type(self).__name__}: epoch {len(self.history)} ended without a single "
                f"training batch: {why}; nothing was trained"
            )

    def _fitted_shapes(self, dataset):
        sample_shape = tuple(dataset.sample_shape)
        if self._patches and len(sample_shape) != 2:
            raise ParameterError(
                f"{type(self).__name__} convolves over 2-D patches (frames x channels) but its "
                f"samples have shape {sample_shape}; give 2-D features with a context, or 3-D "
                "patches (n_frames, context, F)"
            )
        if dataset.n_outputs is None:
            raise ParameterError("y is required to fit: one (n_frames, n_bins) mask per utterance")
        return sample_shape, dataset.n_outputs

    def _module_size_kwargs(self, module_cls):
        """Size arguments of ``module_cls`` that can be filled in from the fitted data."""
        shape = getattr(self, "sample_shape_", None)
        if shape is None:
            return {}
        try:
            accepted = inspect.signature(module_cls).parameters
        except (TypeError, ValueError):
            return {}
        sizes = {"input_dim": int(np.prod(shape)), "input_shape": shape,
                 "output_dim": self.n_outputs_}
        return {k: v for k, v in sizes.items() if k in accepted}

    def initialize_module(self):
        """Build the module, taking its input and output sizes from the fitted data."""
        kwargs = self.get_params_for("module")
        if not isinstance(self.module, torch.nn.Module):
            kwargs = {**self._module_size_kwargs(self.module), **kwargs}
            try:
                module = self.initialized_instance(self.module, kwargs)
            except TypeError as exc:
                if "required" not in str(exc):
                    raise
                raise ParameterError(
                    f"{type(self).__name__}: {exc}. The sizes are taken from the data in fit; "
                    "to initialize() before fitting, give them as module__* parameters "
                    "(e.g. module__input_dim and module__output_dim)"
                ) from exc
        else:
            module = self.initialized_instance(self.module, kwargs)
        self.module_ = module
        return self

    def initialize_optimizer(self, *args, **kwargs):
        super().initialize_optimizer(*args, **kwargs)
        # A schedule resumed on a rebuilt optimizer (warm start after set_params(module__...))
        # needs the starting lr that torch records when a schedule starts from scratch.
        for group in self.optimizer_.param_groups:
            group.setdefault("initial_lr", group["lr"])
        return self

    @contextlib.contextmanager
    def _seeded(self):
        seed = _check_random_state(self.random_state)
        if seed is None:
            yield
            return
        devices = []
        if torch.device(self.device or "cpu").type == "cuda" and torch.cuda.is_available():
            # torch.manual_seed seeds every GPU, so every GPU's state is saved and restored
            devices = list(range(torch.cuda.device_count()))
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield

    def _effective_param(self, prefix, key):
        """``(name, value)`` of a skorch setting that ``<prefix>__<key>`` overrides."""
        given = self.get_params_for(prefix)
        if key in given:
            return f"{prefix}__{key}", given[key]
        return key, getattr(self, key)

    def _check_training_params(self):
        """Refuse bad ``max_epochs``, batch sizes and learning rate before anything is built.

        A batch size or learning rate given as ``iterator_train__batch_size``,
        ``iterator_valid__batch_size`` or ``optimizer__lr`` overrides the plain
        parameter where it applies, so the value actually used is checked.
        """
        if not _is_int(self.max_epochs) or self.max_epochs < 1:
            raise ParameterError(f"max_epochs must be an int >= 1, got {self.max_epochs!r}")
        for prefix in ("iterator_train", "iterator_valid"):
            name, value = self._effective_param(prefix, "batch_size")
            if not _is_int(value) or (value < 1 and value != -1):
                raise ParameterError(
                    f"{name} must be an int >= 1, or -1 for all frames in one batch, "
                    f"got {value!r}"
                )
        name, lr = self._effective_param("optimizer", "lr")
        if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, numbers.Real) \
                or not np.isfinite(lr) or lr < 0:
            # 0 is allowed, as torch allows it: the weights then stay as they are
            raise ParameterError(f"{name} must be a finite number >= 0, got {lr!r}")

    def fit(self, X, y, **fit_params):
        """Train on per-utterance features ``X`` and masks ``y``.

        Parameters
        ----------
        X : list of ndarray
            One ``(n_frames, F)`` or ``(n_frames, context, F)`` feature array per utterance
            (or an :class:`UtteranceDataset` holding the targets, with ``y=None``).
        y : list of ndarray
            One ``(n_frames, n_bins)`` mask per utterance, frame-aligned with ``X``.
        **fit_params : dict
            Passed to skorch (module ``forward`` and ``train_split``).

        Returns
        -------
        self

        Raises
        ------
        ParameterError
            If a parameter is out of range (e.g. ``max_epochs=0``, ``batch_size=0``,
            ``lr=-1``), the data do not fit the network, a training batch of
            a network with BatchNorm layers holds a single frame, or an epoch
            ends without a single training batch.
        """
        self._check_training_params()
        dataset = self.get_dataset(X, y)
        shapes = self._fitted_shapes(dataset)
        if self.warm_start and self.initialized_ and hasattr(self, "sample_shape_") \
                and shapes != (self.sample_shape_, self.n_outputs_):
            raise ParameterError(
                f"warm start with samples {shapes[0]} -> {shapes[1]} outputs, but the network "
                f"was built for {self.sample_shape_} -> {self.n_outputs_}"
            )
        self._record_shapes(dataset, shapes)
        with self._seeded():
            return super().fit(dataset, None, **fit_params)

    def _record_shapes(self, dataset, shapes):
        """Set the fitted sizes the module is built from (``sample_shape_`` ...)."""
        self.sample_shape_, self.n_outputs_ = shapes
        features = getattr(getattr(dataset, "dataset", dataset), "features", None)
        self.frame_shape_ = None if features is None else tuple(features.shape[1:])
        if features is None and hasattr(dataset, "frame_shape"):  # streaming datasets
            self.frame_shape_ = tuple(dataset.frame_shape)
        self.n_features_in_ = None if self.frame_shape_ is None else int(self.frame_shape_[-1])
        self._check_module_sizes()

    def initialize_callbacks(self):
        super().initialize_callbacks()
        # A TrainingCheckpoint runs last, so that what it saves of an epoch includes
        # everything the other callbacks record at the epoch's end (e.g. EpochScoring).
        last = [item for item in self.callbacks_ if isinstance(item[1], TrainingCheckpoint)]
        self.callbacks_ = [item for item in self.callbacks_ if item not in last] + last
        return self

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        # A TrainingCheckpoint that restored an interrupted run trains only the epochs left.
        checkpoints = [cb for _, cb in self.callbacks_ if isinstance(cb, TrainingCheckpoint)]
        if epochs is None:
            epochs = self.max_epochs
            for cb in checkpoints:
                if cb.resumed_epochs_:
                    epochs = min(epochs, cb.remaining_epochs(self.max_epochs))
        for cb in checkpoints:
            cb.plan(len(self.history), epochs)
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except ValueError as exc:
            if _BATCHNORM_ONE_VALUE not in str(exc):
                raise
            raise ParameterError(self._one_frame_batch_message(X, y, fit_params)) from exc

    def _one_frame_batch_message(self, X, y, fit_params):
        """Why BatchNorm met a one-frame training batch, with the numbers behind it."""
        name, batch_size = self._effective_param("iterator_train", "batch_size")
        try:
            n = len(self.get_split_datasets(X, y, **fit_params)[0])
        except Exception:  # noqa: BLE001 - only for the message (e.g. a streaming dataset)
            n_train = ""
        else:
            split = "" if self.train_split is None else " after the validation split"
            n_train = f", {n} training frame{'' if n == 1 else 's'}{split}"
        return (
            f"{type(self).__name__}: a training batch held a single frame ({name}="
            f"{batch_size!r}{n_train}), but the network's "
            "BatchNorm layers need at least 2 frames per training batch; use a batch size "
            ">= 2 (or -1) and at least 2 training frames"
        )

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for ``max_epochs`` more without re-initializing (see :meth:`fit` for ``X``, ``y``).

        On a network not initialized yet, the first call builds it from the
        sizes of ``X`` and ``y`` (seeded by ``random_state``, as :meth:`fit`).
        On a built network, the samples of ``X`` and the mask width of ``y``
        must match the sizes it was built for (``sample_shape_``, ``n_outputs_``);
        otherwise a :class:`~sksep.exceptions.ParameterError` is raised.
        """
        self._check_training_params()
        if not is_dataset(X):
            X = self.get_dataset(X, y)
            y = None
        if not (self.initialized_ and hasattr(self, "sample_shape_")):
            self._record_shapes(X, self._fitted_shapes(X))
            with self._seeded():
                return super().partial_fit(X, y, classes=classes, **fit_params)
        if hasattr(X, "sample_shape") and tuple(X.sample_shape) != self.sample_shape_:
            raise ParameterError(
                f"X has samples of shape {X.sample_shape} but the network was built for "
                f"{self.sample_shape_}"
            )
        if hasattr(X, "n_outputs"):
            if X.n_outputs is None:
                raise ParameterError(
                    "y is required to fit: one (n_frames, n_bins) mask per utterance"
                )
            if int(X.n_outputs) != self.n_outputs_:
                raise ParameterError(
                    f"y has masks of width {X.n_outputs} but the network was built for "
                    f"masks of width {self.n_outputs_} (n_outputs_)"
                )
        return super().partial_fit(X, y, classes=classes, **fit_params)

    def _check_module_sizes(self):
        if isinstance(self.module, torch.nn.Module):
            return
        given = self.get_params_for("module")
        for key, value in self._module_size_kwargs(self.module).items():
            if key in given and tuple(np.atleast_1d(given[key])) != tuple(np.atleast_1d(value)):
                raise ParameterError(
                    f"module__{key}={given[key]!r} does not match the data ({value!r}); "
                    f"sizes are inferred from the data, so module__{key} can be left out"
                )

    def _prediction_dataset(self, X):
        self.check_is_fitted()
        if is_dataset(X):
            return X
        expected = getattr(self, "frame_shape_", None)
        arrays = check_utterances(X, name="X", feature_shape=expected)
        return self.get_dataset(arrays)

    def predict(self, X):
        """Estimate one mask per utterance.

        Frames (or patches) are run through the network ``batch_size`` at a
        time (``iterator_valid__batch_size`` overrides it), so memory stays
        bounded for long inputs. The output is the raw network output: it lies
        in [0, 1] only when the output activation guarantees it (DNN1).

        Parameters
        ----------
        X : list of ndarray
            One feature array per utterance, as in :meth:`fit`. A single
            utterance must be wrapped in a list. (A torch Dataset is run as
            is and gives one ``(n_frames_total, n_bins)`` array, as skorch's
            callbacks expect.)

        Returns
        -------
        masks : list of ndarray of shape (n_frames, n_bins), float32
        """
        dataset = self._prediction_dataset(X)
        out = self.predict_proba(dataset).astype(np.float32, copy=False)
        if is_dataset(X):  # skorch's own callers (e.g. EpochScoring) work frame-wise
            return out
        return np.split(out, np.cumsum(dataset.lengths)[:-1])

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R^2 of the masks, over all frames.

        As for any scikit-learn regressor, ``r2_score`` averaged uniformly over
        the mask bins; each frame is one sample.

        Parameters
        ----------
        X : list of ndarray
            One feature array per utterance, as in :meth:`predict`.
        y : list of ndarray
            The true ``(n_frames, n_bins)`` mask of each utterance.
        sample_weight : array-like of shape (n_utterances,), optional
            One weight per utterance, given to each of its frames.

        Returns
        -------
        score : float

        Raises
        ------
        ParameterError
            If ``y`` or ``sample_weight`` does not match the utterances of ``X``.
        """
        Y_pred = self.predict(X)
        Y = check_utterances(y, name="y", ndims=(2,))
        if len(Y) != len(Y_pred):
            raise ParameterError(f"X has {len(Y_pred)} utterances but y has {len(Y)}")
        for i, (a, b) in enumerate(zip(Y, Y_pred, strict=True)):
            if a.shape != b.shape:
                raise ParameterError(
                    f"utterance {i}: y[{i}] has shape {a.shape} but the prediction has {b.shape}"
                )
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=float)
            if weights.ndim != 1 or len(weights) != len(Y):
                if weights.ndim == 1:
                    count = f"{len(weights)} weights"
                else:
                    count = f"an array of shape {weights.shape}"
                raise ParameterError(
                    f"sample_weight holds {count} but X has {len(Y)} utterances; give one "
                    "weight per utterance"
                )
            sample_weight = np.repeat(weights, [len(a) for a in Y])
        return float(r2_score(np.concatenate(Y), np.concatenate(Y_pred),
                              sample_weight=sample_weight))


_COMMON_PARAMS = """
    lr : float, default={lr}
        Learning rate of the Adam optimizer (>= 0; 0 keeps the weights).
    max_epochs : int, default=20
        Most epochs to train (>= 1). The original trained 5 epochs; here training
        usually stops earlier through the default early stopping (patience 5
        on ``valid_loss``, best weights restored).
    batch_size : int, default=128
        Frames (or patches) per mini-batch, for training and prediction; -1
        for all at once. A training batch of a single frame is refused when
        the network's BatchNorm layers cannot normalise it (DNN_0, DNN_1).
    train_split : callable or None, default=UtteranceSplit(0.2, random_state=0)
        Internal validation split, by utterance. None trains on everything
        (early stopping then stands aside).
    device : str, torch.device or None, default="auto"
        "auto" computes on CUDA when ``torch.cuda.is_available()``, else on the
        CPU; the value stays "auto" in ``get_params``. Data stay on the CPU
        until batched.
    random_state : int, RandomState or None, default=None
        Seeds torch (weights, dropout, shuffling) for the duration of ``fit``
        without disturbing the global random state; seeded CPU runs repeat
        exactly.
    **kwargs
        Any other :class:`skorch.NeuralNetRegressor` parameter: ``module__*``
        (see the module), ``optimizer__*`` (default
        ``optimizer__weight_decay=1e-4``), ``callbacks``, ``callbacks__*``,
        ``iterator_train__*``, ``verbose``, ``warm_start``...

        Default callbacks besides skorch's: ``lr_scheduler`` (lr x 0.9 each
        epoch, ``ExponentialLR``) and ``early_stopping``
        (:class:`ValidEarlyStopping`); set ``callbacks__<name>=None`` to drop one.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network.
    sample_shape_ : tuple of int
        Shape of one network input sample (a frame vector or a patch).
    n_outputs_ : int
        Mask width.
    n_features_in_ : int
        Width of the features (last axis).
    history_ : skorch.history.History
        Per-epoch losses (``train_loss``, ``valid_loss``) and learning rates.
"""

_DNN_INPUT = """    module : torch.nn.Module class, default={module}
        The network; its ``input_dim`` and ``output_dim`` come from the data.
        A 3-D input ``(n_frames, context, F)`` is flattened per frame."""

_CNN_INPUT = """    module : torch.nn.Module class, default={module}
        The network; its ``input_shape`` and ``output_dim`` come from the data.
    context : int or (int, int), default=(7, 7)
        For 2-D features: the network sees, for each frame, the patch of
        ``left`` frames before and ``right`` after it (edges repeat the first /
        last frame), built on the fly by index, never copied per frame. 3-D
        features ``(n_frames, context, F)`` are used as patches as they are."""

_EXAMPLE_DATA = """
    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.standard_normal((60, 12)).astype(np.float32) for _ in range(5)]
    >>> Y = [1 / (1 + np.exp(-x)) for x in X]
"""


class DNN0Regressor(_MaskRegressor):
    __doc__ = (
        """Mask regression with DNN_0 (4 x [Linear(1024) -> BatchNorm -> ReLU] -> Linear).

    Trained on shuffled frames. ``fit(X, Y)`` takes one ``(n_frames, F)``
    feature matrix and one ``(n_frames, n_bins)`` mask per utterance;
    ``predict(X)`` returns one mask per utterance.

    Parameters
    ----------
""" + _DNN_INPUT.format(module="DNN0") + _COMMON_PARAMS.format(lr="1e-3") + """
    See Also
    --------
    DNN0 : the network.
    DNN1Regressor, CNN0Regressor, CNN1Regressor
""" + _EXAMPLE_DATA + """    >>> from sksep.models import DNN0Regressor
    >>> net = DNN0Regressor(module__hidden_dim=16, max_epochs=2, verbose=0, random_state=0)
    >>> masks = net.fit(X, Y).predict(X[:2])
    >>> [m.shape for m in masks]
    [(60, 12), (60, 12)]
    >>> net.get_params()["device"]
    'auto'
""")

    def __init__(self, module=DNN0, *, lr=1e-3, **kwargs):
        super().__init__(module, lr=lr, **kwargs)


class DNN1Regressor(_MaskRegressor):
    __doc__ = (
        """Mask regression with DNN_1 (sigmoid layers of width 2F, sigmoid output).

    The network is ``4 x [Linear(2F) -> BiasedSigmoid(6) -> BatchNorm -> Dropout(0.1)]
    -> Linear -> BiasedSigmoid(0)``. Trained on shuffled frames; the sigmoid output
    keeps masks in [0, 1].

    Parameters
    ----------
""" + _DNN_INPUT.format(module="DNN1") + _COMMON_PARAMS.format(lr="1e-3") + """
    See Also
    --------
    DNN1 : the network.
    DNN0Regressor, CNN0Regressor, CNN1Regressor
""" + _EXAMPLE_DATA + """    >>> from sksep.models import DNN1Regressor
    >>> net = DNN1Regressor(module__hidden_dim=16, max_epochs=2, verbose=0, random_state=0)
    >>> masks = net.fit(X, Y).predict(X)
    >>> len(masks), masks[0].dtype, bool(0 <= masks[0].min() and masks[0].max() <= 1)
    (5, dtype('float32'), True)
""")

    def __init__(self, module=DNN1, *, lr=1e-3, **kwargs):
        super().__init__(module, lr=lr, **kwargs)


class CNN0Regressor(_MaskRegressor):
    __doc__ = (
        """Mask regression with CNN_0 (four 11x11 convolutions over frames x channels patches).

    Trained on shuffled centre-frame patches; predicts the mask of the centre
    frame. The default network is large (filters C/2C/4C/4C of the channel
    count C); shrink it with ``module__n_filters`` and ``module__kernel_size``.

    Parameters
    ----------
""" + _CNN_INPUT.format(module="CNN0") + _COMMON_PARAMS.format(lr="1e-3") + """
    See Also
    --------
    CNN0 : the network.
    CNN1Regressor, DNN0Regressor, DNN1Regressor
""" + _EXAMPLE_DATA + """    >>> from sksep.models import CNN0Regressor
    >>> net = CNN0Regressor(context=2, module__n_filters=(2, 2, 2, 2), module__kernel_size=3,
    ...                     max_epochs=2, verbose=0, random_state=0)
    >>> net.fit(X, Y).sample_shape_
    (5, 12)
    >>> net.predict(X[:1])[0].shape
    (60, 12)
""")

    _patches = True

    def __init__(self, module=CNN0, *, context=(7, 7), lr=1e-3, **kwargs):
        super().__init__(module, lr=lr, **kwargs)
        self.context = context


class CNN1Regressor(_MaskRegressor):
    __doc__ = (
        """Mask regression with CNN_1 (five 3x3 convolutions, three stride-2 max-pools).

    Trained on shuffled centre-frame patches; predicts the mask of the centre
    frame. Patches must be at least 9 x 9 (frames x channels); the default
    context (7, 7) gives 15 frames.

    Parameters
    ----------
""" + _CNN_INPUT.format(module="CNN1") + _COMMON_PARAMS.format(lr="3e-4") + """
    See Also
    --------
    CNN1 : the network.
    CNN0Regressor, DNN0Regressor, DNN1Regressor
""" + _EXAMPLE_DATA + """    >>> from sksep.models import CNN1Regressor
    >>> net = CNN1Regressor(context=(4, 4), module__n_filters=(2, 2, 2, 2, 2), max_epochs=2,
    ...                     verbose=0, random_state=0)
    >>> net.fit(X, Y).predict(X[:1])[0].shape
    (60, 12)
    >>> CNN1Regressor(context=3, verbose=0).fit(X, Y)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sksep.exceptions.ParameterError: CNN1 needs patches of at least 9 x 9 ...
""")

    _patches = True

    def __init__(self, module=CNN1, *, context=(7, 7), lr=3e-4, **kwargs):
        super().__init__(module, lr=lr, **kwargs)
        self.context = context
