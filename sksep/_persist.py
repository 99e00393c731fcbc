"""Model files: save a (fitted) sksep estimator and load it back without running code.

A model file (extension ``.sksep`` by convention) is a zip archive of two members:

``config.json``
    The estimator tree: for every estimator its class name, its constructor
    parameters (JSON values, recursively, with nested estimators as nodes) and
    the fitted state needed to predict (sizes inferred in ``fit``, the names of
    its arrays); plus the file format version, the sksep version that wrote it
    and the SHA-256 of ``weights.pt``.
``weights.pt``
    A flat ``{name: torch.Tensor}`` dict written by :func:`torch.save`: the
    networks' ``state_dict`` entries and the transformers' fitted arrays.

Why not pickle (or skops)? Loading a pickle runs whatever code the file names.
skops' secure format avoids that, but it still walks a generic object graph and
needs a list of trusted *types* that would have to cover skorch's internals
(callbacks, histories, optimizers); a version of any of those libraries changes
what is in the file. Here nothing from the file is ever imported by name or
unpickled: class names are looked up in an explicit allowlist of sksep and
scikit-learn estimators and of the few classes a parameter may name
(:func:`trusted_classes` lists both); tensors are read with
``torch.load(..., weights_only=True, map_location="cpu")``, which refuses
anything but tensors and plain containers. Loading rebuilds each estimator
from its parameters and restores its state, so the file only depends on sksep's
own parameters, and a model trained on CUDA loads on a CPU-only machine.

A file is refused (:class:`~sksep.exceptions.ModelFileError`) when it is not a
complete zip archive, when its format version or sksep release (major.minor)
differs from this one, when it names a class outside the allowlist, when the
weights do not match their checksum, or when the weights carry pickled objects.
The checksum lives in ``config.json``, so the config itself can be edited: its
values are checked as ``fit`` checks them (a fitted estimator's parameters; a
fitted SpeechEnhancer's pipeline and ``sr_``), and anything that cannot be
rebuilt is a ModelFileError naming the file, never a bare traceback. A
``device`` given to :func:`load` that cannot be used here is the caller's
:class:`~sksep.exceptions.ParameterError`.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import numbers
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ._atomic import atomic_path
from .exceptions import ModelFileError, ParameterError

__all__ = ["FORMAT_VERSION", "load", "save", "trusted_classes"]

FORMAT = "sksep-model"
#: Version of the file layout written by :func:`save`; :func:`load` reads exactly these.
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)

_CONFIG, _WEIGHTS = "config.json", "weights.pt"
# a model config is small; anything much larger is not a file we wrote
_MAX_CONFIG_BYTES = 16 * 2**20
# values nest a few levels per estimator (a pipeline's steps, their parameters);
# a file nested deeper than this is refused rather than recursed into
_MAX_DEPTH = 100


def _estimator_allowlist():
    """Name -> class of every estimator a model file may contain."""
    from sklearn.pipeline import FeatureUnion, Pipeline

    from .enhance import SpeechEnhancer
    from .features import (
        CochleagramTransformer,
        ContextStacker,
        FrameStandardizer,
        GFCCTransformer,
        MFCCTransformer,
        NoiseAwareFeatures,
        STFTTransformer,
    )
    from .models import CNN0Regressor, CNN1Regressor, DNN0Regressor, DNN1Regressor

    classes = [
        SpeechEnhancer, Pipeline, FeatureUnion, STFTTransformer, CochleagramTransformer,
        MFCCTransformer, GFCCTransformer, ContextStacker, FrameStandardizer, NoiseAwareFeatures,
        DNN0Regressor, DNN1Regressor, CNN0Regressor, CNN1Regressor,
    ]
    return {_public_name(c): c for c in classes}


def _class_allowlist():
    """Name -> class of the classes a parameter may hold (not instances)."""
    import torch
    from torch.utils.data import DataLoader

    from .models import CNN0, CNN1, DNN0, DNN1, UtteranceDataset

    classes = [
        DNN0, DNN1, CNN0, CNN1, UtteranceDataset, DataLoader,
        torch.nn.MSELoss, torch.nn.L1Loss, torch.nn.SmoothL1Loss, torch.nn.HuberLoss,
        torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD, torch.optim.RMSprop,
        torch.optim.lr_scheduler.ExponentialLR, torch.optim.lr_scheduler.StepLR,
    ]
    return {_public_name(c): c for c in classes}


def _simple_allowlist():
    """Name -> class of plain objects rebuilt from their ``__init__`` arguments."""
    from .models import UtteranceSplit

    return {_public_name(UtteranceSplit): UtteranceSplit}


def _public_name(cls):
    """``sksep.features.STFTTransformer`` rather than the private module path."""
    module = cls.__module__
    parts = module.split(".")
    public = ".".join(p for p in parts if not p.startswith("_"))
    return f"{public}.{cls.__qualname__}"


def trusted_classes():
    """Names of every class a model file may name: estimators, then parameter classes.

    Returns
    -------
    estimators, classes : tuple of str
        The estimators a file may hold, and the classes (networks, losses,
        optimizers, ...) a parameter may name.
    """
    return (tuple(sorted(_estimator_allowlist())),
            tuple(sorted({**_class_allowlist(), **_simple_allowlist()})))


# ---------------------------------------------------------------------------
# encoding
# ---------------------------------------------------------------------------
def _only_checkpoints(callbacks):
    """True for a non-empty callbacks list of TrainingCheckpoints only (saved without a word)."""
    from .models import TrainingCheckpoint

    if not isinstance(callbacks, (list, tuple)) or not callbacks:
        return False
    items = [cb[1] if isinstance(cb, tuple) and len(cb) == 2 else cb for cb in callbacks]
    return all(isinstance(cb, TrainingCheckpoint) for cb in items)


class _Unsupported(Exception):
    """A value that a model file cannot hold."""


class _Encoder:
    def __init__(self):
        self.arrays = {}
        self.estimators = _estimator_allowlist()
        self.by_class = {cls: name for name, cls in self.estimators.items()}
        self.classes = {cls: name for name, cls in _class_allowlist().items()}
        self.simple = {cls: name for name, cls in _simple_allowlist().items()}

    # -- values --------------------------------------------------------------
    def value(self, v, path, fitted):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, numbers.Integral):
            return int(v)
        if isinstance(v, numbers.Real):
            return float(v)
        if isinstance(v, np.ndarray):
            return {"__array__": self.array(v, path)}
        if isinstance(v, tuple):
            return {"__tuple__": [self.value(x, f"{path}[{i}]", fitted) for i, x in enumerate(v)]}
        if isinstance(v, list):
            return [self.value(x, f"{path}[{i}]", fitted) for i, x in enumerate(v)]
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                raise _Unsupported(f"{path}: dict keys must be strings")
            return {"__dict__": {k: self.value(x, f"{path}.{k}", fitted) for k, x in v.items()}}
        if isinstance(v, type):
            if v in self.classes:
                return {"__class__": self.classes[v]}
            raise _Unsupported(f"{path}: class {v.__module__}.{v.__qualname__} is not allowed")
        if type(v) in self.by_class:
            return self.node(v, path, fitted)
        if type(v) in self.simple:
            args = inspect.signature(type(v)).parameters
            return {"__object__": self.simple[type(v)],
                    "args": {a: self.value(getattr(v, a), f"{path}.{a}", fitted) for a in args}}
        raise _Unsupported(f"{path}: {type(v).__module__}.{type(v).__qualname__} object")

    def array(self, a, path):
        if a.dtype.kind not in "biuf":
            raise _Unsupported(f"{path}: array of dtype {a.dtype}")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(a)
        return key

    # -- estimators ------------------------------------------------------------
    def params(self, est, path, fitted):
        # skorch lists its prefixed settings (module__*, callbacks__*) here too
        out = {}
        for key, v in est.get_params(deep=False).items():
            if key.startswith("_"):  # skorch bookkeeping, not a parameter
                continue
            if key == "callbacks" and _only_checkpoints(v):
                out[key] = None  # their state is the training's, kept in their folder
                continue
            try:
                out[key] = self.value(v, f"{path}.{key}", fitted)
            except _Unsupported as exc:
                if key in ("callbacks", "memory"):  # training-time helpers only
                    warnings.warn(
                        f"{path}.{key} is not saved ({exc}); the loaded model has {key}=None",
                        UserWarning, stacklevel=4,
                    )
                    out[key] = None
                    continue
                raise ParameterError(
                    f"cannot save parameter {path}.{key}: {exc}. A model file holds JSON "
                    "values, arrays, sksep estimators and a fixed list of classes"
                ) from None
        return out

    def node(self, est, path, fitted):
        name = self.by_class[type(est)]
        node = {"__estimator__": name, "params": self.params(est, path, fitted)}
        if fitted:
            state = self.state(est, path)
            if state is not None:
                node["state"] = state
        return node

    def state(self, est, path):
        from sklearn.pipeline import FeatureUnion, Pipeline

        from .enhance import SpeechEnhancer
        from .models._regressors import _MaskRegressor

        if isinstance(est, SpeechEnhancer):
            if not hasattr(est, "estimator_"):
                return None
            return {"estimator_": self.node(est.estimator_, f"{path}.estimator_", True),
                    "sr_": int(est.sr_)}
        if isinstance(est, _MaskRegressor):
            return self.net_state(est, path)
        if isinstance(est, (Pipeline, FeatureUnion)):
            return {}  # the fitted steps are in its parameters
        attrs = {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}
        if not attrs:
            return None
        try:
            return {k: self.value(v, f"{path}.{k}", False) for k, v in attrs.items()}
        except _Unsupported as exc:
            raise ParameterError(f"cannot save the fitted state {exc}") from None

    def net_state(self, net, path):
        if not getattr(net, "initialized_", False) or not hasattr(net, "sample_shape_"):
            return None
        weights = {}
        for key, tensor in net.module_.state_dict().items():
            weights[key] = self.array(tensor.detach().cpu().numpy(), f"{path}.module_.{key}")
        state = {
            "sample_shape_": self.value(tuple(net.sample_shape_), path, False),
            "n_outputs_": int(net.n_outputs_),
            "frame_shape_": self.value(getattr(net, "frame_shape_", None), path, False),
            "n_features_in_": self.value(getattr(net, "n_features_in_", None), path, False),
            "module_": weights,
        }
        history = _history_json(getattr(net, "history_", None))
        if history is not None:
            state["history_"] = history
        return state


def _history_json(history):
    """The per-epoch history without per-batch entries, if it is plain JSON."""
    if history is None:
        return None
    epochs = [{k: v for k, v in dict(row).items() if k != "batches"} for row in history]
    try:
        return json.loads(json.dumps(epochs))
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------
# decoding
# ---------------------------------------------------------------------------
class _Decoder:
    def __init__(self, arrays, device):
        self.arrays = arrays
        self.device = device
        self.estimators = _estimator_allowlist()
        self.classes = _class_allowlist()
        self.simple = _simple_allowlist()
        self.depth = 0

    def value(self, v, path):
        if v is None or isinstance(v, (bool, str, int, float)):
            return v
        if self.depth >= _MAX_DEPTH:
            where = path if len(path) <= 80 else path[:80] + "..."
            raise ModelFileError(
                f"model file is malformed at {where}: values nested more than {_MAX_DEPTH} deep"
            )
        self.depth += 1
        try:
            return self._value(v, path)
        finally:
            self.depth -= 1

    def _value(self, v, path):
        if isinstance(v, list):
            return [self.value(x, f"{path}[{i}]") for i, x in enumerate(v)]
        if not isinstance(v, dict) or len(v) == 0:
            raise ModelFileError(f"model file is malformed at {path}: unexpected {v!r:.60}")
        if "__array__" in v:
            return self.array(v["__array__"], path)
        if "__tuple__" in v:
            return tuple(self.value(x, f"{path}[{i}]") for i, x in enumerate(v["__tuple__"]))
        if "__dict__" in v:
            return {str(k): self.value(x, f"{path}.{k}") for k, x in v["__dict__"].items()}
        if "__class__" in v:
            return self.lookup(self.classes, v["__class__"], path, "class")
        if "__object__" in v:
            cls = self.lookup(self.simple, v["__object__"], path, "class")
            args = {str(k): self.value(x, f"{path}.{k}") for k, x in v["args"].items()}
            return cls(**args)
        if "__estimator__" in v:
            return self.node(v, path)
        raise ModelFileError(f"model file is malformed at {path}: unknown entry {sorted(v)}")

    def lookup(self, table, name, path, what):
        if not isinstance(name, str) or name not in table:
            raise ModelFileError(
                f"refused: the model file names the {what} {name!r:.80} (at {path}), which is not "
                f"one sksep trusts; allowed: {', '.join(sorted(table))}"
            )
        return table[name]

    def array(self, key, path):
        import torch

        if not isinstance(key, str) or key not in self.arrays:
            raise ModelFileError(f"model file is malformed at {path}: missing array {key!r:.40}")
        tensor = self.arrays[key]
        if not isinstance(tensor, torch.Tensor):
            raise ModelFileError(f"model file is malformed at {path}: {key!r} is not a tensor")
        return tensor.numpy().copy()

    def node(self, node, path):
        from .models._regressors import _MaskRegressor

        cls = self.lookup(self.estimators, node["__estimator__"], path, "estimator class")
        raw = node.get("params", {})
        if not isinstance(raw, dict):
            raise ModelFileError(f"model file is malformed at {path}: params is not a mapping")
        params = {str(k): self.value(v, f"{path}.{k}") for k, v in raw.items()}
        late = {k: params.pop(k) for k in list(params) if k.startswith("callbacks__")}
        if issubclass(cls, _MaskRegressor):
            params["device"] = self.net_device(params.get("device", "auto"), path)
        accepted = set(inspect.signature(cls).parameters)
        if not issubclass(cls, _MaskRegressor):  # skorch takes prefixed kwargs too
            unknown = sorted(set(params) - accepted)
            if unknown:
                raise ModelFileError(
                    f"model file is malformed at {path}: {cls.__name__} has no parameter(s) "
                    f"{unknown}"
                )
        est = cls(**params)
        if late:
            est.set_params(**late)
        state = node.get("state")
        if state is not None:
            if not isinstance(state, dict):
                raise ModelFileError(f"model file is malformed at {path}: state is not a mapping")
            self.restore(est, state, path)
            self.check_fitted(est, path)
        return est

    def check_fitted(self, est, path):
        """Refuse a fitted estimator whose parameters or state ``fit`` could not have produced.

        A fitted estimator passed its parameter checks in ``fit``; the same checks
        run here, so a hand-edited value is refused at once (as the same value given
        in Python would be) rather than failing in ``predict`` or, worse, running.
        """
        check = getattr(est, "_check_params", None)
        if check is not None:
            try:
                check()
            except ParameterError as exc:
                raise ModelFileError(
                    f"model file has an invalid parameter at {path}: {exc}"
                ) from None

    def net_device(self, device, path):
        import torch

        if self.device is not None:
            return self.device
        if isinstance(device, str) and device.startswith("cuda") and not torch.cuda.is_available():
            warnings.warn(
                f"{path} was saved with device={device!r} but CUDA is not available here; "
                "it is loaded on the CPU",
                UserWarning, stacklevel=5,
            )
            return "cpu"
        return device

    def restore(self, est, state, path):
        from sklearn.pipeline import FeatureUnion, Pipeline

        from .enhance import SpeechEnhancer
        from .models._regressors import _MaskRegressor

        if isinstance(est, SpeechEnhancer):
            est.estimator_ = self.value(state["estimator_"], f"{path}.estimator_")
            est.front_end_ = self.enhancer_pipeline(est.estimator_, f"{path}.estimator_")
            est.sr_ = self.enhancer_sr(state.get("sr_"), est.front_end_, f"{path}.sr_")
        elif isinstance(est, _MaskRegressor):
            self.restore_net(est, state, path)
        elif isinstance(est, (Pipeline, FeatureUnion)):
            return
        else:
            for key, v in state.items():
                if not (isinstance(key, str) and key.endswith("_") and not key.startswith("_")):
                    raise ModelFileError(
                        f"model file is malformed at {path}: {key!r:.40} is not a fitted attribute"
                    )
                setattr(est, key, self.value(v, f"{path}.{key}"))

    def enhancer_pipeline(self, pipe, path):
        """The front end of a fitted enhancer's pipeline, once the pipeline can predict."""
        from sklearn.exceptions import NotFittedError
        from sklearn.pipeline import Pipeline
        from sklearn.utils.validation import check_is_fitted

        from .enhance import _front_end_of

        if not isinstance(pipe, Pipeline) or len(pipe.steps) < 2:
            got = (f"a Pipeline of {len(pipe.steps)} step(s)" if isinstance(pipe, Pipeline)
                   else f"a {type(pipe).__name__}")
            raise ModelFileError(
                f"model file is malformed at {path}: a fitted SpeechEnhancer holds a Pipeline "
                f"of a front end, optional middle steps and a mask estimator, got {got}"
            )
        try:
            front_end = _front_end_of(pipe)
            front_end.check_resynthesis()
        except ParameterError as exc:
            raise ModelFileError(f"model file is malformed at {path}: {exc}") from None
        for name, step in pipe.steps:
            if isinstance(step, str) or step is None:  # "passthrough"
                continue
            try:
                check_is_fitted(step)
            except NotFittedError:
                raise ModelFileError(
                    f"model file is malformed at {path}: its step {name!r:.40} "
                    f"({type(step).__name__}) is not fitted"
                ) from None
        last_name, last = pipe.steps[-1]
        if not hasattr(last, "predict"):
            raise ModelFileError(
                f"model file is malformed at {path}: its last step {last_name!r:.40} "
                f"({type(last).__name__}) is not a mask estimator (it has no predict)"
            )
        return front_end

    def enhancer_sr(self, sr, front_end, path):
        """A fitted enhancer's ``sr_``: a positive int, its front end's rate."""
        if type(sr) is not int or sr <= 0:
            raise ModelFileError(
                f"model file is malformed at {path}: the sample rate must be a positive "
                f"integer, got {sr!r:.40}"
            )
        if sr != front_end.sr:
            raise ModelFileError(
                f"model file is malformed at {path}: sr_={sr} but its front end "
                f"({type(front_end).__name__}) works at sr={front_end.sr!r:.40}"
            )
        return sr

    def restore_net(self, net, state, path):
        import torch

        net.sample_shape_ = tuple(self.value(state["sample_shape_"], path))
        net.n_outputs_ = int(state["n_outputs_"])
        frame_shape = self.value(state.get("frame_shape_"), path)
        net.frame_shape_ = None if frame_shape is None else tuple(frame_shape)
        net.n_features_in_ = state.get("n_features_in_")
        net.initialize()
        weights = state["module_"]
        if not isinstance(weights, dict):
            raise ModelFileError(f"model file is malformed at {path}: module_ is not a mapping")
        tensors = {str(k): torch.from_numpy(self.array(v, f"{path}.module_.{k}"))
                   for k, v in weights.items()}
        try:
            net.module_.load_state_dict(tensors, strict=True)
        except RuntimeError as exc:
            raise ModelFileError(
                f"model file does not fit its network at {path}: {str(exc).splitlines()[0]}"
            ) from None
        history = state.get("history_")
        if isinstance(history, list):
            from skorch.history import History

            net.history_ = History([dict(row, batches=[]) for row in history
                                    if isinstance(row, dict)])


# ---------------------------------------------------------------------------
# public functions
# ---------------------------------------------------------------------------
def _release(version):
    """``"0.1.0.dev0"`` -> ``(0, 1)``."""
    parts = str(version).split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def save(estimator, path):
    """Write an sksep estimator (fitted or not) to a model file.

    Parameters
    ----------
    estimator : estimator
        A :class:`~sksep.SpeechEnhancer`, a pipeline of sksep front ends,
        transformers and regressors, or one of those on its own. Its
        parameters must be JSON values, arrays, other such estimators or one of
        a fixed list of classes (the networks, losses, optimizers).
    path : str or path-like
        The file to write (by convention ``*.sksep``); written atomically, so
        an interrupted save leaves no half file behind.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ParameterError
        If the estimator (or one inside it) is not of an allowed class, or a
        parameter cannot be stored.

    See Also
    --------
    load : read it back.

    Notes
    -----
    Tensors are moved to the CPU before they are written. Custom skorch
    callbacks are training helpers: they are not saved (with a warning; a
    :class:`~sksep.models.TrainingCheckpoint`, whose state is its folder's,
    without one), the default callbacks and their settings are.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import sksep
    >>> from sksep.features import FrameStandardizer
    >>> scaler = FrameStandardizer().fit([np.arange(12.0).reshape(6, 2)])
    >>> path = sksep.save(scaler, os.path.join(tempfile.mkdtemp(), "scaler.sksep"))
    >>> sksep.load(path).mean_
    array([5., 6.])
    """
    import torch

    from . import __version__

    encoder = _Encoder()
    if type(estimator) not in encoder.by_class:
        raise ParameterError(
            f"estimator must be one of {', '.join(sorted(encoder.estimators))}; "
            f"got a {type(estimator).__module__}.{type(estimator).__qualname__}"
        )
    tree = encoder.node(estimator, type(estimator).__name__, True)
    buf = io.BytesIO()
    torch.save({k: torch.from_numpy(a) for k, a in encoder.arrays.items()}, buf)
    weights = buf.getvalue()
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sksep_version": __version__,
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
        "estimator": tree,
    }
    path = Path(os.fspath(path))
    if path.is_dir():
        raise ParameterError(f"path must be a file name, got the directory {str(path)!r}")
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_CONFIG, json.dumps(config, indent=1))
        zf.writestr(_WEIGHTS, weights)
    return path


def _read_zip(path):
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            missing = {_CONFIG, _WEIGHTS} - names
            if missing:
                raise ModelFileError(
                    f"{str(path)!r} is not an sksep model file: it lacks {sorted(missing)}"
                )
            if zf.getinfo(_CONFIG).file_size > _MAX_CONFIG_BYTES:
                raise ModelFileError(f"{str(path)!r}: config.json is implausibly large")
            return zf.read(_CONFIG), zf.read(_WEIGHTS)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, (FileNotFoundError, ModelFileError)):
            raise
        raise ModelFileError(
            f"{str(path)!r} is not a readable sksep model file (truncated or corrupt?): {exc}"
        ) from None


def _check_config(config, path):
    from . import __version__

    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{str(path)!r} is not an sksep model file (no '{FORMAT}' header)")
    version = config.get("format_version")
    # type(...) is int: JSON true would otherwise pass as 1 (True == 1), and 1.0 likewise
    if type(version) is not int or version not in SUPPORTED_FORMAT_VERSIONS:
        raise ModelFileError(
            f"{str(path)!r} has model format version {version!r}; this sksep ({__version__}) "
            f"reads format version(s) {list(SUPPORTED_FORMAT_VERSIONS)}"
        )
    written_by = config.get("sksep_version")
    if (not isinstance(written_by, str) or _release(written_by) is None
            or _release(written_by) != _release(__version__)):
        raise ModelFileError(
            f"{str(path)!r} was written by sksep {written_by!r}, which is not this release "
            f"(sksep {__version__}); load it with that release, or retrain the model"
        )
    tree = config.get("estimator")
    if not isinstance(tree, dict) or "__estimator__" not in tree:
        raise ModelFileError(
            f"{str(path)!r} is malformed: its 'estimator' entry is not an estimator "
            f"(got {tree!r:.60})"
        )


def device_problem(dev):
    """Why torch cannot compute on the parsed :class:`torch.device` ``dev`` here, or None.

    One text for every caller (``sksep.load``, the command line's ``--device``):
    CUDA or MPS missing, a CUDA index beyond the devices present, the meta
    device; other device types are tried with a one-element tensor.
    """
    import torch

    if dev.type == "cpu":
        return None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            return "CUDA is not available here (no GPU, or a CPU-only PyTorch)"
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            return f"there are only {torch.cuda.device_count()} CUDA device(s) (cuda:0 ...)"
        return None
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        return None if mps is not None and mps.is_available() else (
            "MPS (Apple GPU) is not available here")
    if dev.type == "meta":
        return "the meta device holds no data"
    try:
        torch.empty(1, device=dev)
    except (RuntimeError, AssertionError, ValueError, TypeError) as exc:
        return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    return None


def _check_device(device):
    """``device`` as given to :func:`load`, if torch can use it here; else ParameterError.

    An unusable device is the caller's choice, not a fault of the file, so it is
    reported before the file is read (and not as a :class:`ModelFileError`).
    """
    import torch

    if device is None or (isinstance(device, str) and device == "auto"):
        return device
    if not isinstance(device, (str, torch.device)):
        raise ParameterError(
            f"device must be a torch device name such as 'cpu' or 'cuda', a torch.device, "
            f"'auto' or None, got {device!r:.60}"
        )
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ParameterError(
            f"device={device!r:.60} is not a torch device name; use e.g. 'cpu', 'cuda', "
            "'cuda:1' or 'auto'"
        ) from None
    problem = device_problem(dev)
    if problem is not None:
        raise ParameterError(
            f"device={device!r:.60} cannot be used: {problem}; use device='cpu', or "
            "'auto' to take CUDA when it is available"
        )
    return device


def load(path, *, device=None):
    """Read a model file written by :func:`save`, without running any code from it.

    Parameters
    ----------
    path : str or path-like
        The model file.
    device : str, torch.device or None, default=None
        Device for the networks (e.g. ``"cpu"``, ``"cuda"``, ``"auto"``). None
        keeps the saved setting, except that a model saved for CUDA loads on
        the CPU (with a warning) where CUDA is not available. A device given
        here must be usable on this machine.

    Returns
    -------
    estimator
        The estimator, with its parameters and fitted state: it predicts
        exactly as the saved one did.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ParameterError
        If ``device`` is not a device torch can use here (e.g. ``"cuda"`` on a
        machine without CUDA).
    ModelFileError
        If the file is truncated or corrupt, comes from another format version
        or sksep release, names a class outside the allowlist, fails its
        checksum, carries pickled objects in its weights, or holds values its
        estimators refuse (a parameter out of range, a fitted
        :class:`~sksep.SpeechEnhancer` whose pipeline cannot predict or whose
        ``sr_`` is not its front end's rate).

    See Also
    --------
    save

    Examples
    --------
    >>> import os, tempfile
    >>> import sksep
    >>> from sksep.features import STFTTransformer
    >>> path = sksep.save(STFTTransformer(n_fft=256), os.path.join(tempfile.mkdtemp(), "m.sksep"))
    >>> sksep.load(path)
    STFTTransformer(n_fft=256)
    """
    import torch

    device = _check_device(device)
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"model file not found: {str(path)!r}")
    if path.is_dir():
        raise ModelFileError(f"expected a model file, got the directory {str(path)!r}")
    raw_config, weights = _read_zip(path)
    try:
        config = json.loads(raw_config.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{str(path)!r}: config.json is not valid JSON: {exc}") from None
    except RecursionError:
        raise ModelFileError(f"{str(path)!r}: config.json is nested implausibly deep") from None
    _check_config(config, path)
    if hashlib.sha256(weights).hexdigest() != config.get("weights_sha256"):
        raise ModelFileError(
            f"refused: the weights in {str(path)!r} do not match their SHA-256 checksum "
            "(the file was modified or damaged)"
        )
    try:
        arrays = torch.load(io.BytesIO(weights), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        raise ModelFileError(
            f"refused: {str(path)!r} contains code/pickled objects in its weights, which sksep "
            f"never loads ({str(exc).splitlines()[0][:120]})"
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ModelFileError(f"{str(path)!r}: the weights cannot be read: {exc}") from None
    if not isinstance(arrays, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in arrays.items()
    ):
        raise ModelFileError(f"refused: the weights in {str(path)!r} are not a dict of tensors")
    decoder = _Decoder(arrays, device)
    try:
        return decoder.value(config["estimator"], "estimator")
    except ModelFileError as exc:
        raise ModelFileError(f"{str(path)!r}: {exc}") from None
    # RecursionError is a RuntimeError; OverflowError: int() of an edited inf
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, RuntimeError,
            OverflowError) as exc:
        raise ModelFileError(
            f"{str(path)!r}: the model cannot be rebuilt from the file "
            f"({type(exc).__name__}: {exc})"
        ) from None
