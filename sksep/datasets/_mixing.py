"""Mix clean speech with noise at exact SNRs; write and read mixture corpora."""

from __future__ import annotations

import numbers
import os
import re
from collections import namedtuple
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .. import io
from .._atomic import atomic_path
from .._validation import check_snr, check_sr, check_waveform
from ..exceptions import AudioError, CorpusLayoutError, ParameterError, SampleRateError
from ._collection import AudioCollection, _where_mask

__all__ = ["Mixture", "Mixtures", "make_mixtures", "read_mixtures"]

#: One mixture: three aligned float32 waveforms with ``noisy == clean + noise``.
Mixture = namedtuple("Mixture", ["noisy", "clean", "noise"])

_PARTS = ("noisy", "clean", "noise")
_MANIFEST = "mixtures.csv"
_STR_COLUMNS = ("id", "speaker", "utterance_id", "noise_id", "noise_kind")
_MAX_OFFSET_TRIES = 20


class Mixtures:
    """Noisy mixtures with their clean speech and the exact noise that was added.

    Made by :func:`make_mixtures` or :func:`read_mixtures`. The three
    collections ``noisy``, ``clean`` and ``noise`` are aligned item by item and
    share one metadata table.

    Parameters
    ----------
    noisy, clean, noise : AudioCollection
        Of one length, one sample rate and item-wise equal waveform lengths.
        The metadata of ``clean`` becomes the shared table.

    Attributes
    ----------
    noisy, clean, noise : AudioCollection
        ``noisy[i] == clean[i] + noise[i]`` exactly for mixtures made by
        :func:`make_mixtures` (and read back from float WAV files).
    meta : pandas.DataFrame
        One row per mixture: ``id``, ``speaker``, ``utterance_id``,
        ``noise_id``, ``noise_kind``, ``snr_db``, ``offset`` (samples into the
        noise file), ``noise_scale`` (factor that set the SNR) and ``gain``
        (the common gain applied to all three against clipping).
    sr : int
        Sample rate in Hz.

    Notes
    -----
    Indexing follows :class:`AudioCollection`: ``m[i]`` with an integer is one
    :class:`Mixture` ``(noisy, clean, noise)`` of arrays; a slice, an index
    array or a boolean mask gives a smaller ``Mixtures``. Iterating yields
    ``Mixture`` tuples. To give scikit-learn its ``X`` and ``y``, pass
    ``m.noisy`` and ``m.clean``; for ``groups=`` pass ``m.speaker``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.datasets import AudioCollection, make_mixtures
    >>> rng = np.random.default_rng(0)
    >>> speech = AudioCollection([rng.normal(0, 0.1, 4000) for _ in range(3)], 8000,
    ...                          meta={"speaker": ["a", "a", "b"]})
    >>> noise = AudioCollection([rng.normal(0, 0.1, 1000)], 8000, meta={"kind": ["hiss"]})
    >>> m = make_mixtures(speech, noise, snr_db=[0, 5], random_state=0)
    >>> len(m), m.speaker.tolist(), m[m.speaker == "a"].meta["utterance_id"].tolist()
    (3, ['a', 'a', 'b'], ['0', '1'])
    >>> noisy, clean, added = m[0]
    >>> bool(np.array_equal(noisy, clean + added))
    True
    """

    def __init__(self, noisy, clean, noise):
        parts = {"noisy": noisy, "clean": clean, "noise": noise}
        for name, part in parts.items():
            if not isinstance(part, AudioCollection):
                raise ParameterError(
                    f"{name} must be an AudioCollection, got {type(part).__name__}"
                )
        if not len(noisy) == len(clean) == len(noise):
            raise ParameterError(
                f"noisy, clean and noise differ in length: {len(noisy)}, {len(clean)}, {len(noise)}"
            )
        if not noisy.sr == clean.sr == noise.sr:
            raise SampleRateError(
                f"noisy, clean and noise differ in sample rate: {noisy.sr}, {clean.sr}, {noise.sr}"
            )
        lengths = clean.lengths
        for name in ("noisy", "noise"):
            bad = np.flatnonzero(parts[name].lengths != lengths)
            if bad.size:
                raise AudioError(
                    f"{name}[{bad[0]}] has {parts[name].lengths[bad[0]]} samples but "
                    f"clean[{bad[0]}] has {lengths[bad[0]]}"
                )
        meta = clean.meta
        self.noisy = AudioCollection._from_parts(noisy.to_list(), clean.sr, meta)
        self.meta = self.noisy.meta
        self.clean = AudioCollection._from_parts(clean.to_list(), clean.sr, self.meta)
        self.noise = AudioCollection._from_parts(noise.to_list(), clean.sr, self.meta)
        # one table, shared
        self.clean.meta = self.noise.meta = self.meta

    # -- sequence-like access ----------------------------------------------
    @property
    def sr(self):
        """Sample rate in Hz."""
        return self.clean.sr

    def __len__(self):
        return len(self.clean)

    def __getitem__(self, index):
        if isinstance(index, numbers.Integral) and not isinstance(index, bool):
            return Mixture(self.noisy[index], self.clean[index], self.noise[index])
        pos = self.clean._positions(index)
        return Mixtures(self.noisy.take(pos), self.clean.take(pos), self.noise.take(pos))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        snrs = sorted(set(self.meta["snr_db"].tolist())) if "snr_db" in self.meta else []
        return (
            f"Mixtures(n={len(self)}, sr={self.sr}, duration={self.clean.duration:.1f} s, "
            f"snr_db={snrs})"
        )

    def column(self, name):
        """Metadata column ``name`` as a NumPy array."""
        return self.clean.column(name)

    def where(self, **equals):
        """Mixtures whose metadata equal the given values, e.g. ``where(snr_db=0)``."""
        return self[_where_mask(self.column, len(self), equals)]

    def split(self, test_size=0.2, *, by="speaker", random_state=None):
        """Split into ``(train, test)`` Mixtures; by default no speaker is on both sides.

        See :meth:`AudioCollection.split`; ``by=None`` splits mixtures freely.
        """
        train, test = self.clean._split_positions(test_size, by, random_state)
        return self[train], self[test]

    @property
    def speaker(self):
        """Speaker of each mixture (use as ``groups=`` in cross-validation)."""
        return self.column("speaker")

    @property
    def snr_db(self):
        """SNR of each mixture in dB."""
        return self.column("snr_db").astype(float)

    @property
    def noise_kind(self):
        """Kind (or id) of the noise in each mixture."""
        return self.column("noise_kind")

    # -- disk ---------------------------------------------------------------
    def to_folder(self, path, *, subtype="FLOAT", overwrite=False):
        """Write the mixtures as WAV files plus a CSV manifest (read back by :func:`read_mixtures`).

        Layout: ``<path>/noisy/<id>.wav``, ``<path>/clean/<id>.wav``,
        ``<path>/noise/<id>.wav`` and ``<path>/mixtures.csv`` (the metadata,
        the sample rate and the three relative file paths). Every file is
        written to a temporary name and moved into place; the manifest is
        written last, so an interrupted write leaves no readable corpus.

        Parameters
        ----------
        path : str or path-like
            Folder to write (created if needed).
        subtype : {"FLOAT", "PCM_16", "PCM_24"}, default="FLOAT"
            Sample encoding. ``"FLOAT"`` stores float32 exactly: the round trip
            is bit-exact and ``noisy == clean + noise`` still holds. 16-bit PCM
            rounds each file to 1/32768, so after reading back the three
            agree only to about 1e-4.
        overwrite : bool, default=False
            Replace an existing manifest in ``path``.

        Returns
        -------
        pathlib.Path
            The manifest file.

        Raises
        ------
        FileExistsError
            If ``path`` already holds a manifest and ``overwrite`` is False.
        """
        folder = Path(os.fspath(path))
        manifest = folder / _MANIFEST
        if manifest.exists() and not overwrite:
            raise FileExistsError(f"{str(manifest)!r} exists; pass overwrite=True to replace it")
        names = [re.sub(r"[^\w.+-]", "_", str(i)) for i in self.meta["id"]]
        if len(set(names)) != len(names):
            raise ParameterError("mixture ids are not unique as file names; give each a unique id")
        table = self.meta.copy()
        table["sr"] = self.sr
        # Overwriting: retire the old manifest before any file changes, so that an
        # interrupted rewrite cannot leave it listing a mix of old and new files.
        manifest.unlink(missing_ok=True)
        for part in _PARTS:
            coll = getattr(self, part)
            rel = [f"{part}/{name}.wav" for name in names]
            for y, r in zip(coll, rel, strict=True):
                io.save(folder / r, y, self.sr, subtype=subtype)
            table[f"{part}_path"] = rel
        with atomic_path(manifest) as tmp:
            table.to_csv(tmp, index=False)
        return manifest


def read_mixtures(path, *, sr=None):
    """Read a mixture corpus written by :meth:`Mixtures.to_folder`.

    Parameters
    ----------
    path : str or path-like
        The folder holding ``mixtures.csv``.
    sr : int or None, default=None
        Resample to this rate (None: the rate the files were written at).

    Returns
    -------
    Mixtures

    Raises
    ------
    CorpusLayoutError
        If the folder or its manifest is missing or the manifest lacks columns.
    FileNotFoundError, AudioError
        If an audio file listed in the manifest is missing or unreadable.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sksep.datasets import AudioCollection, make_mixtures, read_mixtures
    >>> rng = np.random.default_rng(0)
    >>> speech = AudioCollection([rng.normal(0, 0.1, 800)], 8000)
    >>> noise = AudioCollection([rng.normal(0, 0.1, 900)], 8000)
    >>> m = make_mixtures(speech, noise, snr_db=0, random_state=1)
    >>> folder = tempfile.mkdtemp()
    >>> _ = m.to_folder(folder)
    >>> back = read_mixtures(folder)
    >>> bool(np.array_equal(back.noisy[0], m.noisy[0])), back.meta.equals(m.meta)
    (True, True)
    """
    layout = (
        f"a folder written by Mixtures.to_folder: {_MANIFEST} plus noisy/, clean/ and noise/ "
        "audio files"
    )
    folder = Path(os.fspath(path))
    manifest = folder / _MANIFEST
    if not manifest.is_file():
        raise CorpusLayoutError(f"no {_MANIFEST} in {str(folder)!r}; expected {layout}")
    dtypes = dict.fromkeys(_STR_COLUMNS, str)
    table = pd.read_csv(manifest, dtype=dtypes, keep_default_na=False)
    needed = ["id", "sr", *[f"{p}_path" for p in _PARTS]]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise CorpusLayoutError(f"{str(manifest)!r} lacks columns {missing}; expected {layout}")
    file_rates = set(table["sr"].astype(int))
    if len(file_rates) > 1:
        raise SampleRateError(f"{str(manifest)!r} lists several sample rates {sorted(file_rates)}")
    out_sr = check_sr(sr) if sr is not None else (file_rates.pop() if file_rates else None)
    meta = table.drop(columns=["sr", *[f"{p}_path" for p in _PARTS]])
    parts = {}
    for part in _PARTS:
        waves = [io.load(folder / rel, sr=sr, mono="refuse")[0] for rel in table[f"{part}_path"]]
        parts[part] = AudioCollection._from_parts(waves, out_sr, meta)
    return Mixtures(parts["noisy"], parts["clean"], parts["noise"])


def _as_collection(x, name, sr):
    """An AudioCollection from a collection or a list of waveforms (which then needs ``sr``)."""
    if isinstance(x, AudioCollection):
        if sr is not None and x.sr != sr:
            x = x.resample(sr)
        return x
    if sr is None:
        raise SampleRateError(
            f"{name} is a plain list of waveforms, so its sample rate is unknown; pass sr= "
            "or an AudioCollection"
        )
    if isinstance(x, np.ndarray) and x.ndim == 1 and x.dtype != object:
        raise AudioError(f"{name} is a single waveform; pass a list of utterances, e.g. [y]")
    return AudioCollection(list(x), sr)


def _noise_segment(noise, n, rng):
    """A random ``n``-sample stretch of ``noise``: cut when longer, looped when shorter."""
    length = len(noise)
    if length >= n:
        offset = int(rng.randint(0, length - n + 1))
        return noise[offset:offset + n], offset
    offset = int(rng.randint(0, length))
    return np.take(noise, offset + np.arange(n), mode="wrap"), offset


#: largest gap (dB) allowed between the asked and the realised SNR of a mixture
_SNR_TOLERANCE_DB = 0.01


def _check_realised_snr(clean, noise, snr, speech_name, noise_name):
    """Refuse a mixture whose float32 parts do not have the SNR asked for.

    Only levels near float32's smallest numbers (denormals, about 1e-38 and
    below) lose that much precision: such speech or noise is numerically silent.
    """
    c, n = clean.astype(np.float64), noise.astype(np.float64)
    e_clean, e_noise = float(np.dot(c, c)), float(np.dot(n, n))
    if e_clean > 0 and e_noise > 0:
        realised = 10.0 * np.log10(e_clean / e_noise)
        if abs(realised - snr) <= _SNR_TOLERANCE_DB:
            return
        got = f"a realised SNR of {realised:.4f} dB"
    else:
        got = "no SNR at all (a part rounds to all zeros)"
    rms_c, rms_n = np.sqrt(e_clean / len(c)), np.sqrt(e_noise / len(n))
    raise AudioError(
        f"{speech_name} mixed with {noise_name} at {snr:g} dB gives {got} once stored as "
        f"float32: the speech (RMS {rms_c:.3g}) or the scaled noise (RMS {rms_n:.3g}) is "
        "numerically silent, too quiet for float32 to hold accurately (denormal levels, "
        "below about 1e-37); scale the recordings up or leave them out"
    )


def make_mixtures(
    speech,
    noise,
    snr_db,
    *,
    sr=None,
    n_mixtures=None,
    snr_mode="random",
    peak=0.99,
    random_state=None,
):
    """Mix clean utterances with noise at exact signal-to-noise ratios.

    For each mixture an utterance, an SNR, a noise recording and a random
    offset into it are chosen; the noise stretch is cut to the utterance (or
    looped, from the offset, when the recording is shorter), scaled to the SNR
    and added. One common gain then scales clean, noise and noisy together
    when needed so that the mixture's peak stays within ``peak``: the SNR is
    unchanged and nothing clips.

    Parameters
    ----------
    speech : AudioCollection or list of 1-D arrays
        Clean utterances. Silent ones are refused. Its ``speaker`` meta column
        (if any) is carried into the mixtures.
    noise : AudioCollection or list of 1-D arrays
        Noise recordings (any lengths). All-zero ones are refused. Its ``kind``
        meta column (if any) becomes ``noise_kind``.
    snr_db : float or sequence of float
        SNR(s) in dB; see ``snr_mode``.
    sr : int or None, default=None
        Sample rate. Collections at another rate are resampled to it; it is
        required for plain lists. None takes the collections' rate, which must
        then be the same for speech and noise.
    n_mixtures : int or None, default=None
        Number of mixtures with ``snr_mode="random"``; mixture ``i`` uses
        utterance ``i % len(speech)``. None makes one per utterance.
    snr_mode : {"random", "all"}, default="random"
        ``"random"`` draws one SNR per mixture from ``snr_db`` (uniformly);
        ``"all"`` mixes every utterance at every SNR (``len(speech) *
        len(snr_db)`` mixtures, each with its own noise draw).
    peak : float or None, default=0.99
        Largest absolute sample allowed in the mixture; a mixture that would
        exceed it is scaled down (clean and noise by the same gain). None
        turns the gain off.
    random_state : int, numpy.random.RandomState or None, default=None
        Seed for the noise, offset and SNR draws: equal seeds, equal mixtures.

    Returns
    -------
    Mixtures
        ``noisy``, ``clean``, ``noise`` collections (float32) and metadata
        ``id``, ``speaker`` (the utterance id when speech has no speaker
        column), ``utterance_id``, ``noise_id``, ``noise_kind``, ``snr_db``,
        ``offset``, ``noise_scale`` and ``gain``.

    Raises
    ------
    AudioError
        Silent speech, all-zero noise, NaN or infinite samples, a noise
        recording with no non-silent stretch to use, or speech or noise so
        quiet (numerically silent: denormal float32 levels, around 1e-38) that
        the float32 mixture would miss its SNR by more than 0.01 dB; the
        message names the utterance and the noise.
    ParameterError
        A non-finite or empty ``snr_db``, or another bad argument.
    SampleRateError
        Speech and noise at different rates with ``sr=None``, or plain lists
        without ``sr``.

    Notes
    -----
    The SNR is defined over the **whole utterance** (energy of all clean
    samples over energy of all added noise samples, no voice-activity
    detection): ``10 * log10(sum(clean**2) / sum(noise**2)) == snr_db`` to
    within 0.01 dB (in practice about 1e-5 dB, the float32 rounding); every
    mixture is checked, and one that would miss (only numerically silent
    speech or noise, at denormal float32 levels, can) is refused rather than
    returned. The returned ``noise`` is exactly what was added: ``noisy == clean + noise``
    holds bit for bit, as ``noisy`` is computed in float32 from the two
    stored parts.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.datasets import make_mixtures
    >>> rng = np.random.default_rng(0)
    >>> speech = [rng.normal(0, 0.1, 8000), rng.normal(0, 0.3, 6000)]
    >>> noise = [rng.normal(0, 0.5, 3000)]
    >>> m = make_mixtures(speech, noise, snr_db=[-5, 0], sr=8000, snr_mode="all",
    ...                   random_state=0)
    >>> len(m), m.snr_db.tolist()
    (4, [-5.0, 0.0, -5.0, 0.0])
    >>> c, n = m.clean[1], m.noise[1]
    >>> print(round(10 * np.log10(np.sum(c.astype(float) ** 2) / np.sum(n.astype(float) ** 2)), 4))
    0.0
    >>> bool(np.abs(m.noisy[0]).max() <= 0.99)
    True
    """
    if sr is not None:
        sr = check_sr(sr)
    speech = _as_collection(speech, "speech", sr)
    noise = _as_collection(noise, "noise", sr)
    if speech.sr != noise.sr:
        raise SampleRateError(
            f"speech is at {speech.sr} Hz but noise at {noise.sr} Hz; pass sr= to resample both"
        )
    sr = speech.sr
    if len(speech) == 0:
        raise AudioError("speech is empty: no utterances given")
    if len(noise) == 0:
        raise AudioError("noise is empty: no recordings given")
    snrs = check_snr(snr_db)
    if snr_mode not in ("random", "all"):
        raise ParameterError(f"snr_mode must be 'random' or 'all', got {snr_mode!r}")
    if n_mixtures is not None:
        if snr_mode == "all":
            raise ParameterError("n_mixtures must be None with snr_mode='all'")
        if (
            isinstance(n_mixtures, bool)
            or not isinstance(n_mixtures, numbers.Integral)
            or n_mixtures < 1
        ):
            raise ParameterError(f"n_mixtures must be None or a positive int, got {n_mixtures!r}")
    if peak is not None and (
        isinstance(peak, bool) or not isinstance(peak, numbers.Real) or not 0 < peak <= 1
    ):
        raise ParameterError(f"peak must be None or a number in (0, 1], got {peak!r}")
    rng = check_random_state(random_state)

    speech_ids = [str(v) for v in speech.column("id")]
    noise_ids = [str(v) for v in noise.column("id")]
    speakers = (
        [str(v) for v in speech.column("speaker")]
        if "speaker" in speech.meta.columns
        else speech_ids
    )
    kinds = [str(v) for v in noise.column("kind")] if "kind" in noise.meta.columns else noise_ids
    clean_in = [
        check_waveform(y, name=f"speech[{i}] (id {speech_ids[i]!r})", allow_silent=False)
        for i, y in enumerate(speech)
    ]
    noise_in = [
        check_waveform(y, name=f"noise[{i}] (id {noise_ids[i]!r})", allow_silent=False)
        for i, y in enumerate(noise)
    ]

    if snr_mode == "all":
        plan = [(u, s) for u in range(len(speech)) for s in snrs]
    else:
        n = len(speech) if n_mixtures is None else int(n_mixtures)
        plan = [(i % len(speech), None) for i in range(n)]

    width = len(str(len(plan) - 1))
    noisy_out, clean_out, noise_out, rows = [], [], [], []
    for i, (u, snr) in enumerate(plan):
        if snr is None:
            snr = float(snrs[rng.randint(len(snrs))])
        k = int(rng.randint(len(noise_in)))
        s = clean_in[u].astype(np.float64)
        for _ in range(_MAX_OFFSET_TRIES):
            seg, offset = _noise_segment(noise_in[k], len(s), rng)
            seg = seg.astype(np.float64)
            e_noise = float(np.dot(seg, seg))
            if e_noise > 0:
                break
        else:
            raise AudioError(
                f"noise[{k}] (id {noise_ids[k]!r}) gave only silent stretches of "
                f"{len(s)} samples in {_MAX_OFFSET_TRIES} draws; trim its silences"
            )
        e_speech = float(np.dot(s, s))
        scale = np.sqrt(e_speech / (e_noise * 10.0 ** (snr / 10.0)))
        added = seg * scale
        gain = 1.0
        if peak is not None:
            top = float(np.max(np.abs(s + added)))
            if top > peak:
                gain = peak / top
        c32 = (s * gain).astype(np.float32)
        n32 = (added * gain).astype(np.float32)
        mix = c32 + n32
        # float32 rounding may push the peak a hair over: shave the gain until it holds
        while peak is not None and float(np.max(np.abs(mix))) > peak:
            gain *= 1.0 - 2.0**-20
            c32 = (s * gain).astype(np.float32)
            n32 = (added * gain).astype(np.float32)
            mix = c32 + n32
        _check_realised_snr(c32, n32, snr, f"speech[{u}] (id {speech_ids[u]!r})",
                            f"noise[{k}] (id {noise_ids[k]!r})")
        clean_out.append(c32)
        noise_out.append(n32)
        noisy_out.append(mix)
        rows.append(
            {
                "id": f"mix{i:0{width}d}",
                "speaker": speakers[u],
                "utterance_id": speech_ids[u],
                "noise_id": noise_ids[k],
                "noise_kind": kinds[k],
                "snr_db": float(snr),
                "offset": offset,
                "noise_scale": float(scale),
                "gain": float(gain),
            }
        )
    meta = pd.DataFrame(rows)
    return Mixtures(
        AudioCollection._from_parts(noisy_out, sr, meta),
        AudioCollection._from_parts(clean_out, sr, meta),
        AudioCollection._from_parts(noise_out, sr, meta),
    )
