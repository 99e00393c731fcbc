"""Atomic file writing: a file is either absent or complete, never half-written.

Every writer in sksep (audio, model files, manifests, cached results, feature
shards) writes to a temporary file in the destination folder and renames it
into place only after the write succeeded. A crash or a kill in between leaves
at most a hidden ``.<name>.*.tmp`` file, which no reader takes for the real one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_text"]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path, suffix=".tmp"):
    """Yield a temporary path next to ``path``; move it onto ``path`` if the block succeeds.

    The temporary file is created with ordinary permissions (``0o666`` less the
    umask, as ``open`` would give), the parent folder is created when missing,
    and on any exception (including ``KeyboardInterrupt``) the temporary file is
    removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or Path
        The final file.
    suffix : str, default=".tmp"
        Suffix of the temporary file (some writers choose the format from it).

    Yields
    ------
    tmp : Path
        Where to write.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sksep._atomic import atomic_path
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(os.fspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; outputs are ordinary files
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path, text):
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
