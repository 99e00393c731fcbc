"""Read a local copy of MUSAN (music, speech and noise corpus, OpenSLR 17) by subset and source."""

from __future__ import annotations

from pathlib import Path

from ..exceptions import CorpusLayoutError, ParameterError
from ._folder import _check_max_files, _check_on_error, _check_root, _read_files

__all__ = ["load_musan"]

MUSAN_SUBSETS = ("noise", "music", "speech")
_LAYOUT = (
    "MUSAN's layout <root>/musan/{noise,music,speech}/<source>/*.wav, "
    "e.g. musan/noise/free-sound/noise-free-sound-0000.wav (root may be the musan folder itself)"
)


def _find_musan(root):
    """The folder that holds the subsets: root itself or root/musan."""
    for base in (root / "musan", root):
        if base.is_dir() and any((base / s).is_dir() for s in MUSAN_SUBSETS):
            return base
    return None


def load_musan(
    root,
    subsets=("noise",),
    *,
    sr=None,
    sources=None,
    max_files=None,
    duration=None,
    on_error="raise",
):
    """Load MUSAN recordings of the chosen subsets (and sources) from a local copy.

    Parameters
    ----------
    root : str or path-like
        The ``musan`` folder, or the folder that holds it.
    subsets : str or sequence of {"noise", "music", "speech"}, default=("noise",)
        Which parts to read. MUSAN's ``speech`` part can serve as babble. A
        subset named twice is read once.
    sr : int or None, default=None
        Resample to this rate (MUSAN is 16 kHz).
    sources : str or sequence of str or None, default=None
        Keep only these source folders (e.g. ``"free-sound"``,
        ``"sound-bible"``, ``"fma"``, ``"librivox"``). Every name must match
        a source folder of the chosen subsets.
    max_files : int or None, default=None
        Read at most this many files (in sorted order).
    duration : float or None, default=None
        Read at most this many seconds of each file (music files run to
        minutes: this bounds the memory used).
    on_error : {"raise", "skip"}, default="raise"
        An unreadable file raises an error naming it, or with ``"skip"`` is
        left out with a warning giving the count.

    Returns
    -------
    AudioCollection
        Meta columns: ``id`` (file name without extension), ``path``,
        ``subset``, ``source`` (the source folder) and ``kind`` (the subset:
        what a mixture records as its ``noise_kind``).

    Raises
    ------
    CorpusLayoutError
        If ``root`` is missing, is not laid out as MUSAN, or a chosen subset has
        no files (the message gives the expected layout).
    AudioError
        For an unreadable file (with ``on_error="raise"``).
    ParameterError
        For an unknown subset, or a source name that matches no source folder
        of the chosen subsets (the message lists the unmatched names and the
        folders found).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sksep.io import save
    >>> from sksep.datasets import load_musan
    >>> root = tempfile.mkdtemp()
    >>> save(os.path.join(root, "musan", "noise", "free-sound", "noise-free-sound-0000.wav"),
    ...      np.full(1600, 0.1), 16000)
    >>> c = load_musan(root, sr=8000)
    >>> c.meta[["id", "subset", "source", "kind"]].values.tolist(), c.lengths.tolist()
    ([['noise-free-sound-0000', 'noise', 'free-sound', 'noise']], [800])
    """
    if isinstance(subsets, str):
        subsets = (subsets,)
    subsets = tuple(subsets)
    bad = [s for s in subsets if s not in MUSAN_SUBSETS]
    if bad or not subsets:
        raise ParameterError(f"subsets must be drawn from {MUSAN_SUBSETS}, got {subsets!r}")
    subsets = tuple(dict.fromkeys(subsets))  # a subset named twice is read once
    if isinstance(sources, str):
        sources = (sources,)
    if sources is not None:
        sources = tuple(sources)
        not_str = [v for v in sources if not isinstance(v, str)]
        if not_str:
            raise ParameterError(
                f"sources must be None, a source folder name or a list of them, got {sources!r}"
            )
        sources = tuple(dict.fromkeys(sources))
    on_error = _check_on_error(on_error)
    max_files = _check_max_files(max_files)
    if duration is not None and not duration > 0:
        raise ParameterError(
            f"duration must be None or a positive number of seconds, got {duration!r}"
        )
    root = _check_root(root, layout=_LAYOUT)
    base = _find_musan(root)
    if base is None:
        raise CorpusLayoutError(f"no MUSAN subset folder in {str(root)!r}; expected {_LAYOUT}")

    paths, rows, seen_sources = [], [], set()
    for subset in subsets:
        sub_dir = base / subset
        if not sub_dir.is_dir():
            raise CorpusLayoutError(
                f"MUSAN subset folder {str(sub_dir)!r} is missing; expected {_LAYOUT}"
            )
        n_subset = 0
        for src in sorted(p for p in sub_dir.iterdir() if p.is_dir()):
            files = sorted(
                f for f in src.iterdir() if f.is_file() and f.suffix.lower() == ".wav"
            )
            n_subset += len(files)
            seen_sources.add(src.name)
            if sources is not None and src.name not in sources:
                continue
            for f in files:
                paths.append(f)
                rows.append(
                    {
                        "id": f.stem,
                        "path": str(Path(f).resolve()),
                        "subset": subset,
                        "source": src.name,
                        "kind": subset,
                    }
                )
        if n_subset == 0:
            raise CorpusLayoutError(
                f"no .wav files in MUSAN subset {str(sub_dir)!r}; expected {_LAYOUT}"
            )
    unmatched = [] if sources is None else [v for v in sources if v not in seen_sources]
    if unmatched or not paths:
        raise ParameterError(
            f"sources {unmatched or list(sources)} match no MUSAN source folder of subsets "
            f"{subsets}; available: {sorted(seen_sources)}"
        )
    if max_files is not None:
        paths, rows = paths[:max_files], rows[:max_files]
    return _read_files(
        paths, rows, sr=sr, mono="mix", on_error=on_error, duration=duration, corpus="MUSAN"
    )
