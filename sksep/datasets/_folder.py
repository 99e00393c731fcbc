"""Load any folder of audio files, and the file-reading core shared by the corpus loaders."""

from __future__ import annotations

import fnmatch
import numbers
import os
import warnings
from pathlib import Path

import pandas as pd

from .. import io
from .._validation import check_sr
from ..exceptions import AudioError, CorpusLayoutError, ParameterError, SampleRateError
from ._collection import AudioCollection

__all__ = ["load_folder"]


def _check_root(root, *, layout):
    """Return ``root`` as a Path, or raise CorpusLayoutError describing ``layout``."""
    root = Path(os.fspath(root)).expanduser()
    if not root.is_dir():
        raise CorpusLayoutError(
            f"corpus folder {str(root)!r} does not exist or is not a folder; expected {layout}"
        )
    return root


def _check_on_error(on_error):
    if on_error not in ("raise", "skip"):
        raise ParameterError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    return on_error


def _check_max_files(max_files):
    if max_files is None:
        return None
    if isinstance(max_files, bool) or not isinstance(max_files, numbers.Integral) or max_files < 1:
        raise ParameterError(f"max_files must be None or a positive int, got {max_files!r}")
    return int(max_files)


def _case_insensitive(pattern):
    """Turn a glob pattern into one that matches letters in either case (``a`` -> ``[aA]``)."""
    out, in_brackets = [], False
    for ch in pattern:
        if ch == "[":
            in_brackets = True
        elif ch == "]":
            in_brackets = False
        if ch.isalpha() and not in_brackets:
            out.append(f"[{ch.lower()}{ch.upper()}]")
        else:
            out.append(ch)
    return "".join(out)


_WILDCARDS = frozenset("*?[")


def _scan(folder, found_dirs, found_files):
    """Sort the entries of ``folder`` into sub-folders and files, following symlinks.

    A folder that cannot be listed is reported with a warning (its files are
    not loaded), never skipped silently.
    """
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.is_dir():  # follows symlinks
                        found_dirs.append(entry.name)
                    elif entry.is_file():
                        found_files.append(entry.name)
                except OSError:  # a broken or looping symlink: not a file to load
                    continue
    except OSError as exc:
        warnings.warn(
            f"cannot list folder {str(folder)!r} ({exc.strerror or exc}); its files are not loaded",
            UserWarning,
            stacklevel=4,
        )


def _glob_following_links(root, pattern):
    """Files under ``root`` matching the glob ``pattern``, following directory symlinks.

    Semantics are those of :meth:`pathlib.Path.glob` (``*`` and ``?`` stay within
    one path component, ``**`` matches any number of folders, dot files are
    matched), except that symlinked folders are entered also by ``**``, as
    :func:`os.walk` does with ``followlinks=True``. A symlink that leads back to
    one of its own parent folders is not entered again (no endless cycles).
    Returns the matches sorted.
    """
    parts = [p for p in pattern.split("/") if p not in ("", ".")]
    found = set()

    def visit(folder, rest, ancestors):
        part, tail = rest[0], rest[1:]
        if part == "**":
            if tail:
                visit(folder, tail, ancestors)  # zero folders
            subdirs, files = [], []
            _scan(folder, subdirs, files)
            if not tail:  # a trailing "**" matches the files below, as "**/*"
                found.update(folder / f for f in files)
            for d in subdirs:
                sub = folder / d
                real = os.path.realpath(sub)
                if real not in ancestors:
                    visit(sub, rest, ancestors | {real})
            return
        if not _WILDCARDS & set(part):
            target = folder / part
            if not tail:
                if target.is_file():
                    found.add(target)
            elif target.is_dir():
                visit(target, tail, ancestors | {os.path.realpath(target)})
            return
        subdirs, files = [], []
        _scan(folder, subdirs, files)
        if not tail:
            found.update(folder / f for f in files if fnmatch.fnmatchcase(f, part))
            return
        for d in subdirs:
            if fnmatch.fnmatchcase(d, part):
                sub = folder / d
                real = os.path.realpath(sub)
                if real not in ancestors:
                    visit(sub, tail, ancestors | {real})

    if parts:
        visit(root, parts, frozenset({os.path.realpath(root)}))
    return sorted(found)


def _read_files(paths, rows, *, sr, mono="mix", on_error="raise", duration=None, corpus="corpus"):
    """Read ``paths`` into an AudioCollection whose meta are ``rows`` (one dict per path).

    Unreadable, corrupt or empty files raise an AudioError naming the file, or, with
    ``on_error="skip"``, are left out with one warning giving their count and names.
    Files of different sample rates are resampled to ``sr``; with ``sr=None`` they
    must all share one rate (else SampleRateError naming two of them).
    """
    if sr is not None:
        sr = check_sr(sr)
    waves, kept, skipped = [], [], []
    first = None  # (path, rate) of the first file read, when sr is None
    for path, row in zip(paths, rows, strict=True):
        try:
            y, file_sr = io.load(path, sr=sr, mono=mono, duration=duration)
            if y.size == 0:
                raise AudioError(f"audio file {str(path)!r} holds no samples")
        except AudioError as exc:
            if on_error == "raise":
                raise
            skipped.append((path, exc))
            continue
        if sr is None:
            if first is None:
                first = (path, file_sr)
            elif file_sr != first[1]:
                raise SampleRateError(
                    f"{corpus} files have different sample rates: {str(first[0])!r} is at "
                    f"{first[1]} Hz but {str(path)!r} is at {file_sr} Hz; pass sr= to resample "
                    "them all to one rate"
                )
        waves.append(y)
        kept.append(row)
    if skipped:
        names = ", ".join(repr(str(p)) for p, _ in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        warnings.warn(
            f"skipped {len(skipped)} unreadable {corpus} file(s) of {len(paths)}: {names}{more}",
            UserWarning,
            stacklevel=3,
        )
    if not waves:
        raise AudioError(
            f"no readable {corpus} files: all {len(paths)} failed, e.g. {skipped[0][1]}"
            if skipped
            else f"no {corpus} files to read"
        )
    out_sr = sr if sr is not None else first[1]
    meta = pd.DataFrame(kept)
    # waveforms come from io.load: already float32, finite, 1-D
    return AudioCollection._from_parts(waves, out_sr, meta)


def load_folder(
    root,
    pattern="**/*.wav",
    *,
    sr=None,
    mono="mix",
    speaker=None,
    max_files=None,
    on_error="raise",
    case_sensitive=False,
):
    """Load every audio file under a folder into an :class:`AudioCollection`.

    Parameters
    ----------
    root : str or path-like
        The folder.
    pattern : str, optional
        Glob pattern relative to ``root``; the default, ``"**/*.wav"``, takes
        the WAV files of all sub-folders. Other examples: ``"*.flac"``,
        ``"speakers/*/*.wav"``. ``**`` matches any number of folders and
        follows symlinked folders (a symlink back to one of its own parent
        folders is not entered again); a trailing ``**`` matches every file
        below. The pattern must stay inside ``root`` (no ``..``).
    sr : int or None, default=None
        Resample every file to this rate. None keeps the files' rate, which
        must then be the same for all of them.
    mono : {"mix", "first", "refuse"}, default="mix"
        Multi-channel handling, as in :func:`sksep.io.load`.
    speaker : None, "parent" or callable, default=None
        Adds a ``speaker`` column: ``"parent"`` takes the name of each file's
        folder; a callable maps the file's :class:`pathlib.Path` to a label.
    max_files : int or None, default=None
        Read only the first ``max_files`` files (in sorted path order).
    on_error : {"raise", "skip"}, default="raise"
        An unreadable file raises an error naming it, or with ``"skip"`` is
        left out with a warning giving the count of skipped files.
    case_sensitive : bool, default=False
        Whether ``pattern`` must match letter case (``*.wav`` also finds
        ``*.WAV`` by default).

    Returns
    -------
    AudioCollection
        Meta columns: ``id`` (path relative to ``root`` without its extension),
        ``path`` (absolute), ``folder`` (relative parent folder) and, if asked,
        ``speaker``. Items are in sorted path order.

    Raises
    ------
    CorpusLayoutError
        If ``root`` is missing, no file matches ``pattern``, or two files read
        would get the same id (``bob/u1.wav`` and ``bob/u1.flac`` with
        ``pattern="**/*"``; the message names both files).
    ParameterError
        For a bad argument, e.g. a ``pattern`` that leaves ``root``.
    AudioError
        For an unreadable file (with ``on_error="raise"``).
    SampleRateError
        If files differ in rate and ``sr`` is None.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sksep.io import save
    >>> from sksep.datasets import load_folder
    >>> root = tempfile.mkdtemp()
    >>> for spk in ("ann", "bob"):
    ...     save(os.path.join(root, spk, "u1.wav"), np.full(1600, 0.1), 16000)
    >>> c = load_folder(root, sr=8000, speaker="parent")
    >>> len(c), c.sr, c.meta["id"].tolist(), c.column("speaker").tolist()
    (2, 8000, ['ann/u1', 'bob/u1'], ['ann', 'bob'])
    """
    root = _check_root(root, layout=f"a folder holding audio files matching {pattern!r}")
    on_error = _check_on_error(on_error)
    max_files = _check_max_files(max_files)
    if mono not in ("mix", "first", "refuse", True):
        raise ParameterError(f"mono must be 'mix', 'first' or 'refuse', got {mono!r}")
    if not (speaker is None or speaker == "parent" or callable(speaker)):
        raise ParameterError(f"speaker must be None, 'parent' or a callable, got {speaker!r}")
    if not isinstance(pattern, str) or not pattern:
        raise ParameterError(f"pattern must be a non-empty glob string, got {pattern!r}")
    if pattern.startswith("/") or ".." in pattern.split("/"):
        raise ParameterError(f"pattern must stay inside root (relative, no '..'), got {pattern!r}")
    glob = pattern if case_sensitive else _case_insensitive(pattern)
    paths = _glob_following_links(root, glob)
    if not paths:
        raise CorpusLayoutError(f"no files match {pattern!r} under {str(root)!r}")
    if max_files is not None:
        paths = paths[:max_files]
    rows = []
    for p in paths:
        rel = p.relative_to(root)
        row = {
            "id": rel.with_suffix("").as_posix(),
            "path": str(p.resolve()),
            "folder": rel.parent.as_posix(),
        }
        if speaker == "parent":
            row["speaker"] = p.parent.name
        elif speaker is not None:
            row["speaker"] = speaker(p)
        rows.append(row)
    out = _read_files(paths, rows, sr=sr, mono=mono, on_error=on_error, corpus="audio")
    _check_unique_ids(out.meta, root)
    return out


def _check_unique_ids(meta, root):
    """Refuse two files read under one id (the id drops the extension: u1.wav, u1.flac)."""
    dup = meta["id"].duplicated(keep=False)
    if dup.any():
        first = meta.loc[dup, "id"].iloc[0]
        paths = meta.loc[meta["id"] == first, "path"].tolist()
        raise CorpusLayoutError(
            f"files {paths[0]!r} and {paths[1]!r} under {str(root)!r} would both get the id "
            f"{first!r} (ids are paths without their extension); narrow pattern= to one "
            "format (e.g. '**/*.wav') or rename one of them"
        )
