"""Features of a corpus at scale: parallel extraction (joblib) and a sharded on-disk cache.

Parallel work goes through :class:`joblib.Parallel`, so the backend is the
caller's choice: processes on this machine by default, or a Dask cluster
inside ``with joblib.parallel_backend("dask"): ...``.

The cache stores the features of a fixed corpus once, in shards of
``shard_size`` utterances (``.npy``, no pickles), under a folder named by a
key: a hash of the sksep version, of the transformer (class, parameters and
fitted state) and of the inputs (ids, lengths and content). Each shard is
written to a temporary name and moved into place with :func:`os.replace`;
the manifest (``manifest.json``) is rewritten the same way after every
finished shard and only lists finished shards. An interrupted build therefore
resumes where it stopped, and a half-written file is never taken for a shard.
Temporary files left by a killed build are deleted once they are
``STALE_TMP_SECONDS`` old, so that builds running side by side on one
folder never delete each other's files in progress.
"""

from __future__ import annotations

import glob
import hashlib
import json
import numbers
import os
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .. import io
from .._validation import check_matching_sr, check_waveforms
from ..exceptions import ParameterError
from ._base import FrameList

__all__ = ["FeatureCache", "cache_features", "transform_parallel"]

_VERSION = 1
_MANIFEST = "manifest.json"
#: Age (seconds since the last write) from which a cache folder's temporary file is taken
#: for one left by a killed build and deleted. Younger ones may belong to a build in progress.
STALE_TMP_SECONDS = 3600
# Writes of a shard or manifest whose temporary file vanished (deleted by another build) are
# tried again this many times in all.
_WRITE_ATTEMPTS = 3


# ---------------------------------------------------------------------------
# inputs: waveforms in memory or audio files
# ---------------------------------------------------------------------------
def _front_sr(transformer):
    """The sample rate a transformer expects: its ``sr``, or that of a pipeline's first step."""
    sr = getattr(transformer, "sr", None)
    if sr is None and isinstance(transformer, Pipeline) and transformer.steps:
        return _front_sr(transformer.steps[0][1])
    return sr


def _inputs(X, transformer, name="X"):
    """``(items, ids, lazy)``: waveforms (float32) or file paths, with their ids.

    A collection that carries its sample rate (``X.sr``) must be at the
    transformer's (:func:`_front_sr`); files are resampled to it when read.
    """
    if isinstance(X, (list, tuple)) and X and all(isinstance(x, (str, os.PathLike)) for x in X):
        paths = [os.fspath(p) for p in X]
        return paths, paths, True
    if isinstance(X, (str, os.PathLike)):
        raise ParameterError(f"{name} must be a list of waveforms or of file paths, got one path")
    sr = _front_sr(transformer)
    if sr is not None:
        check_matching_sr(X, sr, owner=type(transformer).__name__)
    meta = getattr(X, "meta", None)
    waves = check_waveforms(X, name=name)
    ids = ([str(v) for v in meta["id"]] if meta is not None and "id" in meta.columns
           else [str(i) for i in range(len(waves))])
    return waves, ids, False


def _read(items, lazy, sr):
    if not lazy:
        return items
    return [io.load(p, sr=sr)[0] for p in items]


def _ready(transformer, X, lazy):
    """A fitted transformer: as given, or (unfitted) a clone fitted on the first utterance."""
    if not hasattr(transformer, "transform"):
        raise ParameterError(
            f"transformer must have a transform method, got {type(transformer).__name__}"
        )
    try:
        check_is_fitted(transformer)
        return transformer
    except NotFittedError:
        first = _read(X[:1], lazy, _front_sr(transformer))
        return clone(transformer).fit(first)


def _transform_chunk(transformer, items, lazy):
    ys = _read(items, lazy, _front_sr(transformer))
    return [np.asarray(f, dtype=np.float32) for f in transformer.transform(ys)]


def _check_n(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ParameterError(f"{name} must be a positive integer, got {name}={value!r}")
    return int(value)


def transform_parallel(transformer, X, *, n_jobs=None, batch_size=16):
    """``transformer.transform(X)`` computed in parallel chunks through joblib.

    Parameters
    ----------
    transformer : transformer
        A front end (e.g. :class:`CochleagramTransformer`) or a pipeline of
        them. An unfitted one is cloned and fitted on the first utterance
        (front ends learn nothing); fit transformers that learn from data first.
    X : list of 1-D arrays, AudioCollection or list of file paths
        Utterances. Files are read (and resampled to ``transformer.sr``, or
        to the ``sr`` of a pipeline's first step) by the workers, so only
        paths travel to them. A collection that carries a sample rate must
        be at that one.
    n_jobs : int or None, default=None
        Parallel jobs, as in :class:`joblib.Parallel`; None follows the active
        joblib backend (one job outside any ``parallel_backend`` context, all
        workers inside ``parallel_backend("dask")``).
    batch_size : int, default=16
        Utterances per task.

    Returns
    -------
    features : FrameList of ndarray
        The same arrays as ``transformer.transform(X)``, in input order.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import STFTTransformer, transform_parallel
    >>> X = [np.random.default_rng(i).normal(0, 0.1, 4000).astype(np.float32) for i in range(5)]
    >>> stft = STFTTransformer(n_fft=256, hop_length=128)
    >>> feats = transform_parallel(stft, X, n_jobs=2, batch_size=2)
    >>> ref = stft.fit(X).transform(X)
    >>> all(np.array_equal(a, b) for a, b in zip(feats, ref)), feats[0].shape
    (True, (32, 129))
    """
    batch_size = _check_n(batch_size, "batch_size")
    items, _, lazy = _inputs(X, transformer)
    est = _ready(transformer, items, lazy)
    chunks = [items[i:i + batch_size] for i in range(0, len(items), batch_size)]
    parts = joblib.Parallel(n_jobs=n_jobs)(
        joblib.delayed(_transform_chunk)(est, chunk, lazy) for chunk in chunks
    )
    return FrameList(f for part in parts for f in part)


# ---------------------------------------------------------------------------
# the cache
# ---------------------------------------------------------------------------
def _content_hash(items, lazy):
    h = hashlib.blake2b(digest_size=20)
    for item in items:
        if lazy:
            with open(item, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            h.update(b"\0file")
        else:
            h.update(np.int64(len(item)).tobytes())
            h.update(np.ascontiguousarray(item, dtype=np.float32).tobytes())
    return h.hexdigest()


def _cache_key(transformer, items, ids, lazy):
    from .. import __version__  # feature code changes between versions: so does the key

    h = hashlib.sha256()
    h.update(f"sksep-feature-cache-{_VERSION}-sksep-{__version__}".encode())
    h.update(type(transformer).__module__.encode() + b"." + type(transformer).__qualname__.encode())
    h.update(joblib.hash(transformer).encode())  # parameters and fitted state
    h.update(json.dumps([ids, [len(x) if not lazy else os.path.getsize(x) for x in items]])
             .encode())
    h.update(_content_hash(items, lazy).encode())
    return h.hexdigest()


def _write_replace(path, write):
    """Write ``path`` through a temporary file and :func:`os.replace`.

    ``write(f)`` writes the content into the open temporary file. Should the
    temporary file vanish before it is moved into place (deleted by another
    process), the write is tried again, ``_WRITE_ATTEMPTS`` times in all.
    Returns the SHA-256 of the written file.
    """
    folder, name = os.path.dirname(path), os.path.basename(path)
    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=name + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            digest = _file_digest(tmp)
            os.replace(tmp, path)
            return digest
        except FileNotFoundError:
            if os.path.exists(tmp):
                os.unlink(tmp)
            if attempt == _WRITE_ATTEMPTS or not os.path.isdir(folder):
                raise
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _atomic_write_bytes(path, data):
    _write_replace(path, lambda f: f.write(data))


def _remove_stale_temporaries(folder, max_age=None):
    """Delete the temporary files of ``folder`` not written to for ``max_age`` seconds.

    Those are left by a killed build; younger ones may be another build's
    files in progress and are left alone.
    """
    max_age = STALE_TMP_SECONDS if max_age is None else max_age
    now = time.time()
    for tmp in glob.glob(os.path.join(glob.escape(str(folder)), "*.tmp")):
        try:
            if now - os.stat(tmp).st_mtime >= max_age:
                os.unlink(tmp)
        except FileNotFoundError:  # finished or removed by another build meanwhile
            pass


def _file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _build_shard(transformer, items, lazy, folder, index):
    """Compute one shard and move it into place; return its manifest entry."""
    feats = _transform_chunk(transformer, items, lazy)
    tails = {f.shape[1:] for f in feats}
    if len(tails) != 1:
        raise ParameterError(f"the transformer gave frames of different shapes: {sorted(tails)}")
    name = f"shard-{index:05d}.npy"
    path = os.path.join(folder, name)
    data = np.concatenate(feats)
    digest = _write_replace(path, lambda f: np.save(f, data, allow_pickle=False))
    return {"index": index, "file": name, "lengths": [len(f) for f in feats],
            "nbytes": os.path.getsize(path), "sha256": digest}


def _shard_ok(folder, entry, verify):
    path = os.path.join(folder, entry["file"])
    if not os.path.isfile(path) or os.path.getsize(path) != entry["nbytes"]:
        return False
    return not verify or _file_digest(path) == entry["sha256"]


def cache_features(transformer, X, path, *, shard_size=64, n_jobs=None, verify=False,
                   callback=None):
    """Compute the features of a corpus once, store them on disk in shards, reuse them.

    The cache lives in ``path/<TransformerClass>-<key>/``, where the key hashes
    the sksep version, the transformer (parameters and fitted state) and the
    inputs (ids, lengths, content). Another corpus, other parameters or
    another sksep version get another folder, so a stale shard is never
    reused; the same ones find the finished shards and compute only what is
    missing. Temporary files in the folder that were last written
    ``STALE_TMP_SECONDS`` (an hour) ago or more are left by killed builds
    and deleted; younger ones may be those of a build running beside this
    one, and are kept.

    Parameters
    ----------
    transformer : transformer
        Front end or pipeline (see :func:`transform_parallel`).
    X : list of 1-D arrays, AudioCollection or list of file paths
        The corpus, e.g. ``mixtures.noisy``. File paths are hashed by content
        and read by the workers.
    path : str or path-like
        Folder that holds caches (created if missing).
    shard_size : int, default=64
        Utterances per shard (and per parallel task).
    n_jobs : int or None, default=None
        Parallel shard builders through :class:`joblib.Parallel` (None follows
        the active backend, e.g. ``parallel_backend("dask")``). Workers write
        their shards themselves, so on a cluster ``path`` must be on a shared
        file system.
    verify : bool, default=False
        Check the SHA-256 of finished shards before trusting them (otherwise
        their size is checked).
    callback : callable or None, default=None
        Called as ``callback(index, n_done, n_shards)`` after each shard is
        recorded in the manifest; an exception raised there stops the build
        (what is recorded stays valid).

    Returns
    -------
    FeatureCache

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sksep.features import STFTTransformer, cache_features
    >>> X = [np.random.default_rng(i).normal(0, 0.1, 4000).astype(np.float32) for i in range(5)]
    >>> root = tempfile.mkdtemp()
    >>> cache = cache_features(STFTTransformer(n_fft=256, hop_length=128), X, root, shard_size=2)
    >>> len(cache), cache.n_shards, cache[0].shape
    (5, 3, (32, 129))
    >>> built = []
    >>> again = cache_features(STFTTransformer(n_fft=256, hop_length=128), X, root, shard_size=2,
    ...                        callback=lambda i, done, n: built.append(i))
    >>> built, again.path == cache.path
    ([], True)
    """
    shard_size = _check_n(shard_size, "shard_size")
    if callback is not None and not callable(callback):
        raise ParameterError(f"callback must be None or callable, got {callback!r}")
    items, ids, lazy = _inputs(X, transformer)
    est = _ready(transformer, items, lazy)
    key = _cache_key(est, items, ids, lazy)
    folder = Path(os.fspath(path)) / f"{type(est).__name__}-{key[:20]}"
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(folder)
    n_shards = (len(items) + shard_size - 1) // shard_size
    manifest = _read_manifest(folder)
    if manifest is None or manifest.get("key") != key or manifest.get("shard_size") != shard_size:
        manifest = {"version": _VERSION, "key": key, "transformer": repr(est),
                    "n_items": len(items), "shard_size": shard_size, "n_shards": n_shards,
                    "ids": ids, "shards": {}, "complete": False}
    manifest["shards"] = {k: e for k, e in manifest["shards"].items()
                          if _shard_ok(folder, e, verify)}
    todo = [s for s in range(n_shards) if str(s) not in manifest["shards"]]
    tasks = (
        joblib.delayed(_build_shard)(est, items[s * shard_size:(s + 1) * shard_size], lazy,
                                     str(folder), s)
        for s in todo
    )
    if todo:
        results = joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks)
        try:
            for entry in results:
                manifest["shards"][str(entry["index"])] = entry
                manifest["complete"] = len(manifest["shards"]) == n_shards
                _write_manifest(folder, manifest)
                if callback is not None:
                    callback(entry["index"], len(manifest["shards"]), n_shards)
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
    elif not manifest["complete"] or not (folder / _MANIFEST).exists():
        manifest["complete"] = True
        _write_manifest(folder, manifest)
    return FeatureCache(folder)


def _read_manifest(folder):
    try:
        with open(Path(folder) / _MANIFEST, encoding="utf-8") as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _write_manifest(folder, manifest):
    data = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
    _atomic_write_bytes(str(Path(folder) / _MANIFEST), data)


class FeatureCache:
    """A finished feature cache on disk, read as a list of per-utterance matrices.

    Made by :func:`cache_features`; open an existing one with
    ``FeatureCache(folder)``. Items are read-only views into memory-mapped
    shards: only the pages used are read.

    Parameters
    ----------
    path : str or path-like
        A cache folder (``<root>/<TransformerClass>-<key>``).

    Attributes
    ----------
    path : Path
    key : str
        Hash of the transformer and the inputs.
    ids : list of str
        Utterance ids (or file paths) in order.
    n_shards : int

    Raises
    ------
    ParameterError
        If the folder holds no manifest or an unfinished build (run
        :func:`cache_features` again to resume it).
    """

    def __init__(self, path):
        self.path = Path(os.fspath(path))
        manifest = _read_manifest(self.path)
        if manifest is None:
            raise ParameterError(f"no feature cache manifest in {str(self.path)!r}")
        if not manifest.get("complete"):
            raise ParameterError(
                f"the feature cache in {str(self.path)!r} is unfinished "
                f"({len(manifest['shards'])} of {manifest['n_shards']} shards); "
                "call cache_features again to resume it"
            )
        self.key = manifest["key"]
        self.ids = list(manifest["ids"])
        self.n_shards = int(manifest["n_shards"])
        self.transformer = manifest["transformer"]
        self._entries = [manifest["shards"][str(s)] for s in range(self.n_shards)]
        self._where = []
        for s, entry in enumerate(self._entries):
            offsets = np.concatenate([[0], np.cumsum(entry["lengths"])])
            self._where.extend((s, int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:]))
        self._maps = {}

    def __len__(self):
        return len(self._where)

    def _shard(self, s):
        if s not in self._maps:
            self._maps[s] = np.load(self.path / self._entries[s]["file"], mmap_mode="r",
                                    allow_pickle=False)
        return self._maps[s]

    def __getitem__(self, i):
        if isinstance(i, slice):
            return FrameList(self[j] for j in range(*i.indices(len(self))))
        s, a, b = self._where[i]
        return self._shard(s)[a:b]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def to_list(self):
        """All items as a :class:`FrameList` (memory-mapped views)."""
        return FrameList(self)

    def __repr__(self):
        return f"FeatureCache({str(self.path)!r}, n={len(self)}, shards={self.n_shards})"
