"""Read a corpus folder laid out like the bundled sample (``manifest.csv`` plus FLAC files).

The bundled sample (``sksep/datasets/data/sample``) and the larger corpus that
``scripts/build_corpus.py`` writes to a local cache share one layout:

* ``speech/*.flac`` and ``noise/*.flac``: mono audio at one sample rate;
* ``manifest.csv``: one row per file, with the columns ``file``, ``role``
  (``speech`` or ``noise``), ``speaker``, ``language``, ``kind``, ``split``
  (``train`` or ``test``), ``duration``, ``source_package``,
  ``package_version``, ``source_path``, ``licence``, ``author`` and ``notes``;
* ``ATTRIBUTION.md``: where the recordings come from.

Nothing is downloaded here; the corpus is built by the script, never at import.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from sklearn.utils import Bunch

from .._validation import check_sr
from ..exceptions import CorpusLayoutError
from ._collection import AudioCollection

__all__ = ["default_corpus_path", "load_corpus"]

_MANIFEST_COLUMNS = ["file", "role", "speaker", "language", "kind", "split", "source_package",
                     "source_path", "licence"]
_SPEECH_COLUMNS = ["id", "speaker", "language", "split", "source", "source_path", "path",
                   "licence"]
_NOISE_COLUMNS = ["id", "kind", "split", "talkers", "source", "source_path", "path", "licence"]
_BUILD_HINT = "build it with `python scripts/build_corpus.py` (see the data page of the docs)"


def default_corpus_path():
    """Where :func:`load_corpus` looks when no folder is given.

    ``$SKSEP_CORPUS`` when that environment variable is set, else
    ``~/.cache/sksep/corpus`` (the default output of ``scripts/build_corpus.py``).

    Returns
    -------
    path : pathlib.Path
        The folder, with ``~`` expanded; it need not exist.

    Examples
    --------
    >>> from sksep.datasets import default_corpus_path
    >>> default_corpus_path().is_absolute()  # ~ is expanded
    True
    """
    return Path(os.environ.get("SKSEP_CORPUS", "~/.cache/sksep/corpus")).expanduser()


def _read_manifest(root, *, what, hint):
    """The manifest of ``root`` (a Path or an importlib Traversable) as a string DataFrame."""
    try:
        text = root.joinpath("manifest.csv").read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise CorpusLayoutError(
            f"{what} is missing its manifest ({root}/manifest.csv); {hint}"
        ) from exc
    manifest = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    missing = [c for c in _MANIFEST_COLUMNS if c not in manifest.columns]
    if missing:
        raise CorpusLayoutError(
            f"{what}: {root}/manifest.csv lacks the columns {missing}; expected at least "
            f"{_MANIFEST_COLUMNS}"
        )
    return manifest


def _read_collections(root, manifest, *, what, expected_sr=None):
    """Decode every file of ``manifest`` into ``(speech, noise)`` collections of all splits.

    All files must be mono and share one sample rate (``expected_sr`` when given).
    """
    waves, file_sr = [], expected_sr
    for name in manifest["file"]:
        try:
            with root.joinpath(name).open("rb") as fh:
                y, sr_here = sf.read(fh, dtype="float32")
        except (FileNotFoundError, IsADirectoryError, sf.LibsndfileError) as exc:
            raise CorpusLayoutError(
                f"{what} file {name!r} is missing or unreadable: {exc}"
            ) from exc
        if file_sr is None:
            file_sr = sr_here
        if sr_here != file_sr or y.ndim != 1:
            rate = f"{file_sr // 1000:g} kHz" if file_sr % 1000 == 0 else f"{file_sr} Hz"
            raise CorpusLayoutError(
                f"{what} file {name!r} is not {rate} mono (sr={sr_here}, shape={y.shape})"
            )
        waves.append(y)

    meta = pd.DataFrame({
        "id": [n.rsplit("/", 1)[-1].rsplit(".", 1)[0] for n in manifest["file"]],
        "speaker": manifest["speaker"],
        "language": manifest["language"],
        "kind": manifest["kind"],
        "split": manifest["split"],
        "talkers": np.where(manifest["kind"] == "babble", manifest["speaker"], ""),
        "source": manifest["source_package"],
        "source_path": manifest["source_path"],
        "path": [str(root.joinpath(n)) for n in manifest["file"]],
        "licence": manifest["licence"],
    })
    out = []
    for role, columns in (("speech", _SPEECH_COLUMNS), ("noise", _NOISE_COLUMNS)):
        keep = np.flatnonzero(manifest["role"].to_numpy() == role)
        out.append(AudioCollection._from_parts(
            [waves[i] for i in keep], file_sr or 16000, meta.iloc[keep][columns]
        ))
    return tuple(out)


def _split(collection):
    # fresh arrays and metadata, so that callers may modify what they get
    parts = {}
    for split in ("train", "test"):
        sub = collection.where(split=split)
        parts[split] = AudioCollection._from_parts(
            [y.copy() for y in sub], sub.sr, sub.meta.copy()
        )
    return Bunch(**parts)


def load_corpus(root=None, sr=None):
    """Load a corpus folder laid out like the bundled sample as speech and noise collections.

    Reads any folder holding a ``manifest.csv`` and the FLAC files it lists:
    the larger corpus that ``python scripts/build_corpus.py`` builds (by
    default in ``~/.cache/sksep/corpus``), the bundled sample (see
    :func:`sample_path`), or a folder of your own in that layout. The
    manifest's ``split`` column decides what lands in ``train`` and ``test``;
    the speakers and noise kinds of the built corpus are listed on the data
    page of the user guide.

    Parameters
    ----------
    root : str, path-like or None, default=None
        The corpus folder. ``None`` means :func:`default_corpus_path`
        (``$SKSEP_CORPUS`` or ``~/.cache/sksep/corpus``).
    sr : int or None, default=None
        Sample rate of the returned audio in Hz. ``None`` keeps the stored
        rate (16 kHz for the built corpus); any other rate is reached with
        soxr resampling.

    Returns
    -------
    speech : sklearn.utils.Bunch
        ``speech.train`` and ``speech.test``, each an
        :class:`~sksep.datasets.AudioCollection` of utterances whose ``meta``
        has the columns ``id``, ``speaker``, ``language``, ``split``,
        ``source`` (Debian package), ``source_path`` (file inside that
        package), ``path`` (the file on disk) and ``licence``.
    noise : sklearn.utils.Bunch
        ``noise.train`` and ``noise.test``, collections of noise recordings
        whose ``meta`` has ``id``, ``kind``, ``split``, ``talkers`` (the
        speakers of a babble, else empty), ``source``, ``source_path``,
        ``path`` and ``licence``.

    Raises
    ------
    CorpusLayoutError
        If the folder or its ``manifest.csv`` is missing (the message says how
        to build the corpus), the manifest lacks a column, or a listed file is
        missing, unreadable, not mono or of another sample rate than the rest.
    ParameterError
        If ``sr`` is not a positive whole number.

    See Also
    --------
    load_sample : the bundled sample, the same layout (cached per process).
    default_corpus_path : where the corpus is looked for by default.

    Notes
    -----
    Every call decodes the files again (the corpus may have been rebuilt in
    between); keep the result if you need it twice.

    Examples
    --------
    >>> from sksep.datasets import load_corpus, sample_path
    >>> speech, noise = load_corpus(sample_path())
    >>> speech.train.sr
    16000
    >>> sorted(set(speech.test.column("speaker")))
    ['june']
    >>> sorted(noise.train.meta["kind"].unique())
    ['ambience', 'babble', 'hiss', 'machine', 'music', 'percussion']
    """
    root = default_corpus_path() if root is None else Path(os.fspath(root)).expanduser()
    sr = None if sr is None else check_sr(sr)
    what = f"the corpus at {str(root)!r}"
    if not root.is_dir():
        raise CorpusLayoutError(
            f"{what} does not exist or is not a folder; {_BUILD_HINT}, or pass the folder "
            "that holds its manifest.csv"
        )
    manifest = _read_manifest(root, what=what, hint=_BUILD_HINT)
    speech, noise = _read_collections(root, manifest, what=what)
    if sr is not None and sr != speech.sr:
        speech, noise = speech.resample(sr), noise.resample(sr)
    return _split(speech), _split(noise)
