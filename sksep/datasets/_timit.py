"""Read a local copy of TIMIT (LDC93S1): official train/test split and the core test set."""

from __future__ import annotations

import re
from pathlib import Path

from ..exceptions import CorpusLayoutError, ParameterError
from ._folder import _check_max_files, _check_on_error, _check_root, _read_files

__all__ = ["TIMIT_CORE_TEST_SPEAKERS", "load_timit"]

#: The 24 speakers of TIMIT's core test set: two men and one woman from each of the
#: eight dialect regions of the official test set (TIMIT documentation, and e.g. the
#: ``conf/test_spk.list`` file of Kaldi's timit recipe), in dialect-region order.
TIMIT_CORE_TEST_SPEAKERS = (
    "mdab0", "mwbt0", "felc0",  # DR1
    "mtas1", "mwew0", "fpas0",  # DR2
    "mjmp0", "mlnt0", "fpkt0",  # DR3
    "mlll0", "mtls0", "fjlm0",  # DR4
    "mbpm0", "mklt0", "fnlp0",  # DR5
    "mcmj0", "mjdh0", "fmgd0",  # DR6
    "mgrt0", "mnjm0", "fdhc0",  # DR7
    "mjln0", "mpam0", "fmld0",  # DR8
)  # fmt: skip

_LAYOUT = (
    "TIMIT's layout <root>/TRAIN|TEST/DR1..DR8/<speaker>/<SA|SI|SX><n>.WAV "
    "(NIST SPHERE files; lower-case names and a TIMIT/ or data/ folder above TRAIN also work)"
)
_SUBSETS = {"train": "train", "test": "test", "core-test": "test"}
_DIALECT = re.compile(r"^dr([1-8])$", re.IGNORECASE)
_SPEAKER = re.compile(r"^[fm][a-z]{3}[0-9]$", re.IGNORECASE)
# SX12.WAV, also SX12.WAV.wav as left by some RIFF conversions of the corpus
_UTTERANCE = re.compile(r"^(s[aix])([0-9]+)\.wav(\.wav)?$", re.IGNORECASE)


def _find_split(root, split):
    """The TRAIN or TEST folder under root (any letter case; also under TIMIT/ or data/)."""
    for base in (root, *[p for p in root.iterdir() if p.is_dir() and p.name.lower() in
                         ("timit", "data")]):
        for child in base.iterdir():
            if child.is_dir() and child.name.lower() == split:
                return child
    return None


def _iter_utterances(split_dir):
    """Yield (dialect folder, speaker folder, file, match) for every utterance file."""
    for dr in sorted(split_dir.iterdir()):
        if not (dr.is_dir() and _DIALECT.match(dr.name)):
            continue
        for spk in sorted(dr.iterdir()):
            if not (spk.is_dir() and _SPEAKER.match(spk.name)):
                continue
            for f in sorted(spk.iterdir()):
                m = _UTTERANCE.match(f.name)
                if m and f.is_file():
                    yield dr, spk, f, m


def load_timit(
    root,
    subset="train",
    *,
    sr=None,
    exclude_sa=True,
    speakers=None,
    dialects=None,
    max_files=None,
    on_error="raise",
):
    """Load utterances of a local TIMIT copy, with speaker, sex, dialect and sentence type.

    TIMIT is licensed by the LDC and never downloaded: point ``root`` at your
    copy. Its NIST SPHERE ``.WAV`` files are read by libsndfile.

    Parameters
    ----------
    root : str or path-like
        Folder holding ``TRAIN`` and ``TEST`` (or ``train``/``test``), or a
        folder holding ``TIMIT/`` or ``data/`` with them.
    subset : {"train", "test", "core-test"}, default="train"
        The official training set (462 speakers), the full official test set
        (168 speakers) or its 24-speaker core test set
        (:data:`TIMIT_CORE_TEST_SPEAKERS`). Train and test share no speaker.
    sr : int or None, default=None
        Resample to this rate (TIMIT is 16 kHz).
    exclude_sa : bool, default=True
        Leave out the two dialect "SA" sentences every speaker reads, as is
        usual (they would let models learn the sentences).
    speakers : iterable of str or None, default=None
        Keep only these speakers (folder names, any case).
    dialects : iterable of int or str or None, default=None
        Keep only these dialect regions (``1`` or ``"DR1"``).
    max_files : int or None, default=None
        Read at most this many utterances (in sorted order), to try things on
        a slice.
    on_error : {"raise", "skip"}, default="raise"
        An unreadable file raises an error naming it, or with ``"skip"`` is
        left out with a warning giving the count.

    Returns
    -------
    AudioCollection
        Meta columns: ``id`` (``"<speaker>_<sentence_id>"``), ``path``,
        ``subset`` (``"train"``/``"test"``), ``dialect`` (``"DR1"``..``"DR8"``),
        ``speaker`` (lower case, e.g. ``"mdab0"``), ``sex`` (``"F"``/``"M"``,
        the first letter of the speaker folder), ``sentence_type``
        (``"SA"``/``"SI"``/``"SX"``), ``sentence_id`` (e.g. ``"sx123"``).

    Raises
    ------
    CorpusLayoutError
        If ``root`` is missing or not laid out as TIMIT (the message gives the
        expected layout), or holds no utterance of the subset.
    AudioError
        For an unreadable file (with ``on_error="raise"``).
    ParameterError
        For a bad argument, or filters that leave no utterance.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sksep.io import save
    >>> from sksep.datasets import load_timit
    >>> root = tempfile.mkdtemp()
    >>> for name in ("SA1", "SI943", "SX133"):
    ...     save(os.path.join(root, "TEST", "DR1", "MDAB0", name + ".WAV"),
    ...          np.full(800, 0.1), 16000, format="NIST")
    >>> c = load_timit(root, "core-test")
    >>> c.meta[["id", "speaker", "sex", "dialect", "sentence_type"]].values.tolist()
    [['mdab0_si943', 'mdab0', 'M', 'DR1', 'SI'], ['mdab0_sx133', 'mdab0', 'M', 'DR1', 'SX']]
    """
    if subset not in _SUBSETS:
        raise ParameterError(f"subset must be one of {sorted(_SUBSETS)}, got {subset!r}")
    on_error = _check_on_error(on_error)
    max_files = _check_max_files(max_files)
    root = _check_root(root, layout=_LAYOUT)
    split_name = _SUBSETS[subset]
    split_dir = _find_split(root, split_name)
    if split_dir is None:
        raise CorpusLayoutError(
            f"no {split_name.upper()} folder in {str(root)!r}; expected {_LAYOUT}"
        )
    keep_speakers = None
    if subset == "core-test":
        keep_speakers = set(TIMIT_CORE_TEST_SPEAKERS)
    if speakers is not None:
        if isinstance(speakers, str):
            speakers = [speakers]
        chosen = {str(s).lower() for s in speakers}
        keep_speakers = chosen if keep_speakers is None else keep_speakers & chosen
    keep_dialects = None
    if dialects is not None:
        if isinstance(dialects, (str, int)):
            dialects = [dialects]
        keep_dialects = set()
        for d in dialects:
            m = re.fullmatch(r"(?:dr)?([1-8])", str(d), re.IGNORECASE)
            if not m:
                raise ParameterError(f"dialects must be 1..8 or 'DR1'..'DR8', got {d!r}")
            keep_dialects.add(f"DR{m.group(1)}")

    found = 0
    entries = {}
    for dr, spk, f, m in _iter_utterances(split_dir):
        found += 1
        speaker = spk.name.lower()
        dialect = dr.name.upper()
        stype = m.group(1).upper()
        sentence_id = f"{m.group(1)}{m.group(2)}".lower()
        if exclude_sa and stype == "SA":
            continue
        if keep_speakers is not None and speaker not in keep_speakers:
            continue
        if keep_dialects is not None and dialect not in keep_dialects:
            continue
        key = (speaker, sentence_id)
        # a converted copy "SX1.WAV.wav" next to the original "SX1.WAV": keep the original
        if key in entries and len(entries[key][0].name) <= len(f.name):
            continue
        entries[key] = (
            f,
            {
                "id": f"{speaker}_{sentence_id}",
                "path": str(Path(f).resolve()),
                "subset": split_name,
                "dialect": dialect,
                "speaker": speaker,
                "sex": speaker[0].upper(),
                "sentence_type": stype,
                "sentence_id": sentence_id,
            },
        )
    if found == 0:
        raise CorpusLayoutError(
            f"no TIMIT utterance files under {str(split_dir)!r}; expected {_LAYOUT}"
        )
    if not entries:
        raise ParameterError(
            f"no TIMIT {subset} utterance is left after the filters (exclude_sa={exclude_sa}, "
            f"speakers={speakers!r}, dialects={dialects!r})"
        )
    items = [entries[k] for k in sorted(entries, key=lambda k: (entries[k][1]["dialect"], k))]
    if max_files is not None:
        items = items[:max_files]
    paths = [f for f, _ in items]
    rows = [row for _, row in items]
    return _read_files(paths, rows, sr=sr, mono="mix", on_error=on_error, corpus="TIMIT")
