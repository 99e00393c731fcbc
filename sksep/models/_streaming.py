"""MixingDataset: training samples mixed on the fly, for corpora larger than memory.

Each item of an epoch is one mixture: a clean utterance, a noise stretch and
an SNR drawn from a seed derived from ``(random_state, epoch, item)``. The
mixture goes through the same steps as :class:`sksep.SpeechEnhancer.fit`
(level normalisation, front end, optional context stacking, IRM/IBM target)
and its frames (or patches) pass through a shuffle buffer into the
DataLoader. Only the audio of the utterance being mixed is decoded, so memory
does not grow with the number of files.

The module lives in :mod:`sksep.models` because it is the torch side of the
data flow: it consumes :mod:`sksep.datasets` (mixing), :mod:`sksep.features`
and :mod:`sksep.targets` and serves exactly the samples an
:class:`~sksep.models.UtteranceDataset` would serve to a regressor.
"""

from __future__ import annotations

import copy
import hashlib
import math
import numbers
import os
from collections import OrderedDict

import numpy as np
import torch
from sklearn.base import clone

from .. import io
from .._validation import check_snr, check_waveform
from ..datasets import AudioCollection, make_mixtures
from ..exceptions import AudioError, ParameterError
from ._checkpoint import array_digest, stable_repr
from ._data import UtteranceDataset, check_context

__all__ = ["MixingDataset", "worker_init_fn"]

_TARGETS = ("irm", "ibm")
_MAX_OFFSET_TRIES = 20


def worker_init_fn(worker_id):
    """DataLoader ``worker_init_fn`` for :class:`MixingDataset`: one torch thread per worker.

    Seeding needs nothing here: each worker derives its items' seeds from the
    dataset's ``random_state`` and the DataLoader's per-epoch base seed.
    """
    torch.set_num_threads(1)


def _is_path(x):
    return isinstance(x, (str, os.PathLike))


class _EpochCounter:
    """The epoch count a dataset shares with its layout copies (see ``MixingDataset.epoch``)."""

    __slots__ = ("value",)

    def __init__(self, value=0):
        self.value = int(value)


def _batch_length(batch):
    """Samples in a collated ``(x, y)`` batch of tensors, or None for anything else."""
    if isinstance(batch, (tuple, list)) and batch and all(torch.is_tensor(t) for t in batch):
        n = {len(t) for t in batch}
        if len(n) == 1:
            return n.pop()
    return None


def _merge_single_samples(batches):
    """Batches as they come, but a one-sample batch is joined to its neighbour.

    BatchNorm cannot train on one sample. A stream's last batch (one per
    DataLoader worker) may hold a single one; rather than dropping it, it is
    appended to the batch before it (or, when it comes first, the next one).
    Only a stream of one sample in all still gives a one-sample batch.
    """
    held = None
    for batch in batches:
        if held is None:
            held = batch
            continue
        sizes = (_batch_length(held), _batch_length(batch))
        if 1 in sizes and None not in sizes:
            held = type(held)(torch.cat([a, b]) for a, b in zip(held, batch))
            continue
        yield held
        held = batch
    if held is not None:
        yield held


class StreamLoader(torch.utils.data.DataLoader):
    """The DataLoader the regressors train a stream (an ``IterableDataset``) with.

    A plain :class:`torch.utils.data.DataLoader` (``drop_last`` is False
    unless given: every sample is served) that also

    - joins a one-sample batch to its neighbour when ``merge_single=True``
      (the regressors set it for networks with BatchNorm layers, which cannot
      train on one sample);
    - counts the epochs of a :class:`MixingDataset` in this process when the
      samples are made by DataLoader workers (``num_workers > 0``), so that its
      ``epoch`` stays true and every worker mixes the items of the right epoch,
      also with ``persistent_workers=True``.

    Parameters
    ----------
    dataset : IterableDataset
    *args, **kwargs
        :class:`~torch.utils.data.DataLoader` arguments.
    merge_single : bool, default=False
        Join a one-sample batch to the batch before it (or after it).
    """

    def __init__(self, dataset, *args, merge_single=False, **kwargs):
        super().__init__(dataset, *args, **kwargs)
        self.merge_single = bool(merge_single)

    def __iter__(self):
        dataset = self.dataset
        counted = self.num_workers > 0 and isinstance(dataset, MixingDataset)
        if counted:
            # Workers copy the dataset when they start (in super().__iter__, or once for
            # persistent workers, which then count their epochs themselves): epoch e's
            # workers see epoch e, and this process goes on to e + 1.
            dataset._loader_counts = True
        batches = super().__iter__()
        if counted:
            dataset._loader_counts = False
            dataset.epoch += 1
        return _merge_single_samples(batches) if self.merge_single else batches


class _Source:
    """Utterances held in memory or read lazily from files, at one sample rate."""

    def __init__(self, items, sr, name, cache_files):
        self.sr = sr
        self.name = name
        self.cache_files = cache_files
        self._cache = OrderedDict()
        if isinstance(items, AudioCollection):
            if items.sr != sr:
                items = items.resample(sr)
            items = list(items)
        elif isinstance(items, (str, os.PathLike)) or (
                isinstance(items, np.ndarray) and items.dtype != object and items.ndim == 1):
            raise ParameterError(
                f"{name} must be a collection, a list of waveforms or a list of file paths, "
                f"got a single {type(items).__name__}"
            )
        items = list(items)
        if not items:
            raise AudioError(f"{name} is empty: no utterances or files given")
        self.lazy = all(_is_path(x) for x in items)
        if not self.lazy and any(_is_path(x) for x in items):
            raise ParameterError(f"{name} mixes file paths and waveforms; give one or the other")
        if self.lazy:
            self.paths = [os.fspath(p) for p in items]
            infos = [io.info(p) for p in self.paths]  # headers only
            self.native_sr = np.array([i.sr for i in infos], dtype=np.int64)
            self.native_len = np.array([i.n_samples for i in infos], dtype=np.int64)
            empty = np.flatnonzero(self.native_len == 0)
            if len(empty):
                raise AudioError(f"{name} file {self.paths[empty[0]]!r} holds no samples")
        else:
            self.waves = [
                check_waveform(y, name=f"{name}[{i}]", allow_silent=False)
                for i, y in enumerate(items)
            ]

    def __len__(self):
        return len(self.paths) if self.lazy else len(self.waves)

    def file_stats(self):
        """``(path, size, mtime_ns, n_samples, sr)`` of every file (lazy sources only)."""
        stats = []
        for i, path in enumerate(self.paths):
            try:
                st = os.stat(path)
            except OSError as exc:
                raise AudioError(f"{self.describe(i)} cannot be read: {exc}") from exc
            stats.append((path, int(st.st_size), int(st.st_mtime_ns),
                          int(self.native_len[i]), int(self.native_sr[i])))
        return stats

    def describe(self, i):
        return f"{self.name}[{i}]" + (f" ({self.paths[i]!r})" if self.lazy else "")

    def full(self, i):
        """The whole utterance ``i`` at ``sr`` (files go through a small LRU)."""
        if not self.lazy:
            return self.waves[i]
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        y = io.load(self.paths[i], sr=self.sr)[0]
        if self.cache_files:
            self._cache[i] = y
            while len(self._cache) > self.cache_files:
                self._cache.popitem(last=False)
        return y

    def segment(self, i, n, rng):
        """A random ``n``-sample stretch of recording ``i`` (cut, or looped when shorter)."""
        if self.lazy:
            native = int(self.native_sr[i])
            n_native = int(math.ceil(n * native / self.sr)) + (0 if native == self.sr else 16)
            if self.native_len[i] >= n_native:
                start = int(rng.integers(0, self.native_len[i] - n_native + 1))
                y = io.load(self.paths[i], sr=self.sr, offset=start / native,
                            duration=n_native / native)[0]
                if len(y) >= n:
                    return y[:n]
                return np.resize(y, n)
            y = self.full(i)
        else:
            y = self.waves[i]
        if len(y) >= n:
            start = int(rng.integers(0, len(y) - n + 1))
            return y[start:start + n]
        start = int(rng.integers(0, len(y)))
        return np.take(y, start + np.arange(n), mode="wrap")


class MixingDataset(torch.utils.data.IterableDataset):
    """Frames of speech-plus-noise mixtures made on the fly, for training on large corpora.

    An epoch is ``n_items`` mixtures. Mixture ``i`` of epoch ``e`` takes a
    clean utterance, a noise recording, a random stretch of it and an SNR,
    all drawn from a generator seeded with ``(random_state, e, i)``, so a run
    repeats exactly. The mixture is made as :func:`sksep.datasets.make_mixtures`
    makes it (exact SNR, common gain against clipping), brought to
    ``level_db`` and turned into features and a target mask the way
    :class:`sksep.SpeechEnhancer` does; its frames then pass through a
    shuffle buffer. Given file paths, only the files of the mixture at hand
    are decoded (noise stretches are read by offset), so memory stays flat as
    the corpus grows.

    Give it to a regressor's ``fit`` with ``y=None``:
    ``DNN0Regressor(train_split=None).fit(dataset, None)``. The regressor
    sets the sample layout (flat frames for the DNNs, patches for the CNNs)
    through :meth:`with_layout` and infers its input and output sizes from
    the first mixture.

    Parameters
    ----------
    speech : AudioCollection, list of 1-D arrays or list of file paths
        Clean utterances. Paths are read lazily with :func:`sksep.io.load`
        and resampled to ``frontend.sr``; waveforms in a plain list must
        already be at ``frontend.sr``.
    noise : AudioCollection, list of 1-D arrays or list of file paths
        Noise recordings, any lengths (looped when shorter than an utterance).
    frontend : FrontEnd
        T-F front end (e.g. ``CochleagramTransformer()``): features and the
        target's domain. It is cloned.
    snr_db : float or sequence of float
        SNRs in dB; each mixture draws one uniformly from the list.
    context : int, default=0
        Frames of context on each side stacked onto every frame
        (:class:`~sksep.features.ContextStacker`), as in a pipeline
        ``make_pipeline(frontend, ContextStacker(context), regressor)``. 0
        stacks nothing.
    target : {"irm", "ibm"}, default="irm"
        Ideal ratio mask (exponent ``beta``) or ideal binary mask (``lc_db``).
    beta : float, default=0.5
    lc_db : float, default=-5.0
    n_items : int or None, default=None
        Mixtures per epoch; None makes one per speech utterance. Epoch ``e``
        visits the utterances in a permutation of its own (cycling when
        ``n_items`` exceeds their number).
    level_db : float or None, default=-25.0
        RMS level (dBFS) the mixture is brought to before its features are
        computed, as :class:`sksep.SpeechEnhancer` does. None turns it off.
    peak : float or None, default=0.99
        Largest absolute sample of a mixture (see :func:`~sksep.datasets.make_mixtures`).
    augment : callable or None, default=None
        ``augment(clean, noise, rng) -> (clean, noise)``, applied to the clean
        utterance and the noise stretch before mixing; ``rng`` is the item's
        :class:`numpy.random.Generator`.
    transform : fitted transformer or None, default=None
        Applied to each mixture's features after context stacking, as the
        middle steps of a pipeline would be (e.g. a fitted
        :class:`~sksep.features.FrameStandardizer`, or a fitted
        ``make_pipeline(ContextStacker(2), FrameStandardizer())`` with
        ``context=0``). It takes and returns a list of
        ``(n_frames, n_features)`` arrays.
        :meth:`sksep.SpeechEnhancer.fit_stream` fits and sets it.
    buffer_size : int, default=8192
        Frames held in the shuffle buffer. Frames of about
        ``buffer_size / frames_per_utterance`` mixtures are shuffled together.
    cache_files : int, default=16
        Decoded files kept in memory (least recently used first out), per
        process.
    random_state : int or None, default=0
        Seed of the draws; None picks one at construction.

    Attributes
    ----------
    epoch : int
        The epoch whose mixtures the next ``iter()`` makes: each ``iter()``
        starts one. The dataset and its copies made by :meth:`with_layout`
        (which the regressors train on) share it, so after
        ``net.fit(ds, None)`` it is the number of epochs trained. A regressor
        sets it to its own epoch count (``len(net.history)``) when a fit
        starts: 0 for a fresh ``fit``, so fitting twice trains on the same
        mixtures, while ``partial_fit``, a warm-start ``fit`` and a run
        resumed by :class:`TrainingCheckpoint` go on with the mixtures of the
        epochs that follow.
    sample_shape : tuple of int
        Shape of one served input sample, in the current layout.
    n_outputs : int
        Mask width.
    frame_shape : tuple of int
        Shape of one feature frame (after context stacking), as a pipeline's
        regressor would receive it at prediction time.

    Notes
    -----
    With DataLoader workers (``iterator_train__num_workers=2``), worker
    ``w`` of ``W`` mixes items ``w, w + W, ...`` and keeps its own shuffle
    buffer. Trained by a regressor (whose DataLoader, a ``StreamLoader``,
    counts the epochs), the workers make the same mixtures as a run without
    workers, with or without ``persistent_workers``; only the order of the
    frames differs. Iterated by another DataLoader, whose workers cannot learn the
    epoch, a worker's draws are seeded by the DataLoader's per-epoch base
    seed and the epochs that worker has served: they repeat with torch's
    seed but differ from a run without workers.

    A streaming dataset has no utterance list to split, so the regressors'
    default internal split cannot apply: train with ``train_split=None`` or
    give a fixed validation set,
    ``train_split=skorch.helper.predefined_split(reg.get_dataset(X_valid, Y_valid))``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.features import STFTTransformer
    >>> from sksep.models import DNN0Regressor, MixingDataset
    >>> rng = np.random.default_rng(0)
    >>> speech = [rng.normal(0, 0.1, 8000).astype(np.float32) for _ in range(3)]
    >>> noise = [rng.normal(0, 0.1, 20000).astype(np.float32)]
    >>> ds = MixingDataset(speech, noise, STFTTransformer(n_fft=64, hop_length=32),
    ...                    snr_db=[0, 5], context=1, random_state=0)
    >>> ds.sample_shape, ds.n_outputs
    ((99,), 33)
    >>> net = DNN0Regressor(module__hidden_dim=8, max_epochs=1, train_split=None,
    ...                     verbose=0, random_state=0).fit(ds, None)
    >>> net.sample_shape_, net.n_outputs_
    ((99,), 33)
    """

    worker_init_fn = staticmethod(worker_init_fn)

    def __init__(self, speech, noise, frontend, *, snr_db, context=0, target="irm", beta=0.5,
                 lc_db=-5.0, n_items=None, level_db=-25.0, peak=0.99, augment=None,
                 transform=None, buffer_size=8192, cache_files=16, random_state=0):
        super().__init__()
        if not (hasattr(frontend, "power") and hasattr(frontend, "transform")
                and hasattr(frontend, "sr")):
            raise ParameterError(
                f"frontend must be an sksep front end (STFTTransformer, CochleagramTransformer), "
                f"got {type(frontend).__name__}"
            )
        self.frontend = clone(frontend)
        self.sr = int(self.frontend.sr)
        self.snr_db = check_snr(snr_db)
        self.context = _check_int(context, "context", low=0)
        if target not in _TARGETS:
            raise ParameterError(f"target must be one of {_TARGETS}, got target={target!r}")
        self.target, self.beta, self.lc_db = target, beta, lc_db
        if level_db is not None and not np.isfinite(level_db):
            raise ParameterError(f"level_db must be a finite number or None, got {level_db!r}")
        self.level_db, self.peak = level_db, peak
        if augment is not None and not callable(augment):
            raise ParameterError(f"augment must be None or a callable, got {augment!r}")
        self.augment = augment
        if transform is not None and not hasattr(transform, "transform"):
            raise ParameterError(
                f"transform must be None or a fitted transformer, got {transform!r}"
            )
        self.transform = transform
        self.buffer_size = _check_int(buffer_size, "buffer_size", low=1)
        self.cache_files = _check_int(cache_files, "cache_files", low=0)
        if random_state is None:
            random_state = int(np.random.SeedSequence().entropy % (2**63))
        self.random_state = _check_int(random_state, "random_state", low=0)
        self._speech = _Source(speech, self.sr, "speech", self.cache_files)
        self._noise = _Source(noise, self.sr, "noise", self.cache_files)
        self.n_items = (len(self._speech) if n_items is None
                        else _check_int(n_items, "n_items", low=1))
        self._epochs = _EpochCounter()
        self._loader_counts = False
        self._layout = {"context": None, "flatten": False}
        self._fitted_frontend = None
        self._peeked = None

    # ----------------------------------------------------------------- layout
    def with_layout(self, *, context=None, flatten=False):
        """A copy serving samples as an :class:`UtteranceDataset` with these options would.

        The regressors call this in ``fit``: flat frames for the DNNs
        (``flatten=True``), ``(left + 1 + right, F)`` patches for the CNNs
        (``context=(left, right)``). The copy shares ``epoch`` with this
        dataset: epochs served by the copy advance this dataset's too.
        """
        new = copy.copy(self)
        new._layout = {"context": None if context is None else check_context(context),
                       "flatten": bool(flatten)}
        new._peeked = None
        new._speech = copy.copy(self._speech)
        new._speech._cache = OrderedDict()
        new._noise = copy.copy(self._noise)
        new._noise._cache = OrderedDict()
        return new

    @property
    def epoch(self):
        """The epoch whose mixtures the next ``iter()`` makes (shared with the layout copies)."""
        return self._epochs.value

    @epoch.setter
    def epoch(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ParameterError(f"epoch must be an integer >= 0, got epoch={value!r}")
        self._epochs.value = int(value)

    def _peek(self):
        if self._peeked is None:
            feats, mask = self.mixture(0, epoch=0)[3:]
            xb, yb = self._samples(feats, mask)
            self._peeked = (tuple(xb.shape[1:]), int(yb.shape[1]), tuple(feats.shape[1:]))
        return self._peeked

    @property
    def sample_shape(self):
        return self._peek()[0]

    @property
    def n_outputs(self):
        return self._peek()[1]

    @property
    def frame_shape(self):
        return self._peek()[2]

    # ---------------------------------------------------------------- mixing
    def fingerprint(self):
        """Text that changes with the mixtures this dataset makes.

        A hash of the sources (waveforms; or file paths with each file's
        size, modification time, length and sample rate, so that a file
        overwritten with other audio changes it), the mixing, target, layout
        and shuffle-buffer settings, the front end, the augmentation's repr
        and the features and mask of the first mixture (which show the fitted
        ``transform``). :class:`TrainingCheckpoint` keys runs by it.
        """
        sources = []
        for src in (self._speech, self._noise):
            if src.lazy:
                sources.append(hashlib.sha256(repr(src.file_stats()).encode()).hexdigest()[:16])
            else:
                sources.append(array_digest(*src.waves))
        settings = (self.sr, self.snr_db.tolist(), self.context, self.target, self.beta,
                    self.lc_db, self.level_db, self.peak, self.n_items, self.random_state,
                    self._layout, stable_repr(self.frontend), stable_repr(self.augment),
                    self.buffer_size)
        first = array_digest(*self.mixture(0)[3:])
        settings_digest = hashlib.sha256(repr(settings).encode()).hexdigest()[:16]
        return (f"MixingDataset speech:{sources[0]} noise:{sources[1]} "
                f"settings:{settings_digest} first:{first}")

    def _rng(self, epoch_key, i):
        return np.random.default_rng([self.random_state, *epoch_key, int(i)])

    def _order(self, epoch_key):
        """Utterance order of an epoch: a permutation, repeated to cover ``n_items``."""
        return np.random.default_rng([self.random_state, *epoch_key]).permutation(
            len(self._speech))

    def mixture(self, i, *, epoch=0, _key=None):
        """Item ``i`` of an epoch: ``(noisy, clean, noise, features, mask)``.

        Parameters
        ----------
        i : int
            Item index, ``0 <= i < n_items``.
        epoch : int, default=0
            Epoch number (single-process numbering).

        Returns
        -------
        noisy, clean, noise : ndarray of shape (n_samples,), float32
            The mixture and its two parts (``noisy == clean + noise``).
        features : ndarray of shape (n_frames, n_features), float32
            Features of the level-normalised mixture (context-stacked, then
            passed through ``transform``).
        mask : ndarray of shape (n_frames, n_bins), float32
            Target mask.
        """
        key = (0, int(epoch)) if _key is None else _key
        rng = self._rng(key, i)
        order = self._order(key)
        u = int(order[int(i) % len(order)])
        clean = check_waveform(self._speech.full(u), name=self._speech.describe(u),
                               allow_silent=False)
        snr = float(self.snr_db[rng.integers(len(self.snr_db))])
        k = int(rng.integers(len(self._noise)))
        for _ in range(_MAX_OFFSET_TRIES):
            seg = self._noise.segment(k, len(clean), rng)
            if np.any(seg):
                break
        else:
            raise AudioError(
                f"{self._noise.describe(k)} gave only silent stretches of {len(clean)} samples "
                f"in {_MAX_OFFSET_TRIES} draws; trim its silences"
            )
        if self.augment is not None:
            clean, seg = self.augment(clean, seg, rng)
            clean = check_waveform(clean, name="augment(...) clean", allow_silent=False)
            seg = check_waveform(seg, name="augment(...) noise", allow_silent=False)
        mix = make_mixtures([clean], [seg], snr_db=snr, sr=self.sr, peak=self.peak,
                            random_state=0)
        noisy, clean, noise = mix.noisy[0], mix.clean[0], mix.noise[0]
        return (noisy, clean, noise, *self._features_and_target(noisy, clean, noise))

    def _features_and_target(self, noisy, clean, noise):
        from ..enhance import _rms_gains
        from ..features import ContextStacker
        from ..targets import ideal_binary_mask, ideal_ratio_mask

        if self._fitted_frontend is None:
            self._fitted_frontend = clone(self.frontend).fit([noisy])
        x = noisy if self.level_db is None else noisy * _rms_gains([noisy], self.level_db)[0]
        feats = self._fitted_frontend.transform([x])
        if self.context:
            feats = ContextStacker(self.context).fit_transform(feats)
        if self.transform is not None:
            feats = self.transform.transform(feats)
        if self.target == "irm":
            mask = ideal_ratio_mask(clean, noise, self.frontend, beta=self.beta)
        else:
            mask = ideal_binary_mask(clean, noise, self.frontend, lc_db=self.lc_db)
        return np.asarray(feats[0], dtype=np.float32), mask

    def _samples(self, feats, mask):
        ds = UtteranceDataset([feats], [mask], **self._layout)
        xb, yb = ds.__getitems__(np.arange(len(ds)))
        return xb.numpy(), yb.numpy()

    # -------------------------------------------------------------- iteration
    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        if info is None:
            key, worker, n_workers = (0, self.epoch), 0, 1
        else:
            worker, n_workers = info.id, info.num_workers
            if self._loader_counts:
                # A StreamLoader's worker: its copy holds the epoch (and counts on, for
                # persistent workers), so the draws are those of a run without workers.
                key = (0, self.epoch)
            else:
                # Another DataLoader's worker cannot learn the epoch: its base seed (new each
                # epoch) and the epochs this copy has served (persistent workers) tell it.
                key = (1, int(info.seed - info.id), self.epoch)
        # Each iter() starts an epoch (in a worker, of the worker's own copy).
        self.epoch += 1
        shuffle = np.random.default_rng([self.random_state, *key, 2**32 + worker])
        xs, ys, n_held = [], [], 0
        for i in range(worker, self.n_items, n_workers):
            feats, mask = self.mixture(i, _key=key)[3:]
            xb, yb = self._samples(feats, mask)
            xs.append(xb)
            ys.append(yb)
            n_held += len(xb)
            if n_held >= self.buffer_size:
                x, y = np.concatenate(xs), np.concatenate(ys)
                perm = shuffle.permutation(len(x))
                keep = self.buffer_size // 2
                yield from zip(x[perm[keep:]], y[perm[keep:]])
                xs, ys, n_held = [x[perm[:keep]]], [y[perm[:keep]]], keep
        if n_held:
            x, y = np.concatenate(xs), np.concatenate(ys)
            perm = shuffle.permutation(len(x))
            yield from zip(x[perm], y[perm])

    def __repr__(self):
        kind = "files" if self._speech.lazy else "waveforms"
        return (f"{type(self).__name__}({len(self._speech)} speech {kind}, "
                f"{len(self._noise)} noise, n_items={self.n_items}, sr={self.sr}, "
                f"random_state={self.random_state})")


def _check_int(value, name, *, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ParameterError(f"{name} must be an integer >= {low}, got {name}={value!r}")
    return int(value)
