"""The pretrained default model that ``sksep enhance`` uses when no ``--model`` is given.

It is a :class:`~sksep.SpeechEnhancer` trained by ``scripts/train_pretrained.py``
on the larger corpus that ``scripts/build_corpus.py`` builds (see
:func:`sksep.datasets.load_corpus`), shipped as ``sksep/data/default.sksep``.
Rerun those scripts to rebuild it; the training script prints the scores on
held-out speakers for matched and unseen noise kinds. Its model card is
``docs/pretrained.rst``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["default_model_path", "load_default"]


def default_model_path():
    """Path of the bundled default model file.

    Returns
    -------
    path : pathlib.Path

    Examples
    --------
    >>> from sksep.pretrained import default_model_path
    >>> default_model_path().name
    'default.sksep'
    """
    return Path(__file__).resolve().parent / "data" / "default.sksep"


def load_default(*, device=None):
    """Load the bundled pretrained :class:`~sksep.SpeechEnhancer`.

    Parameters
    ----------
    device : str or None, default=None
        Torch device for the network (None: the saved "auto", CUDA when present).

    Returns
    -------
    SpeechEnhancer
        A fitted enhancer; ``sr_`` is its working sample rate.

    Raises
    ------
    FileNotFoundError
        If the model file is missing from the installation.
    sksep.exceptions.ModelFileError
        If it cannot be loaded.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.pretrained import load_default
    >>> enhancer = load_default()
    >>> enhancer.sr_
    16000
    >>> noisy = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    >>> enhancer.predict([noisy])[0].shape
    (16000,)
    """
    from ._persist import load

    path = default_model_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"the bundled default model is missing ({str(path)!r}); rebuild it with "
            "`python scripts/train_pretrained.py` or pass a model file"
        )
    return load(path, device=device)
