"""The bundled real-audio sample: clean speech and noise, split for training and testing.

The audio ships with the package in ``sksep/datasets/data/sample`` (16 kHz mono
FLAC, a ``manifest.csv`` and an ``ATTRIBUTION.md``); ``scripts/build_sample.py``
rebuilds it from Debian packages. Nothing is downloaded here.

The speech comes from four speakers, labelled by person: ``nsh`` (Russian,
``festvox-ru``), ``allison`` (Allison Smith, English and Spanish prompts of
``asterisk-core-sounds-en-g722`` and ``-es-g722``), ``carlo`` (Carlo Flora,
Italian, ``asterisk-core-sounds-it-g722``) for training, and ``june`` (June
Wallack, French, ``asterisk-core-sounds-fr-g722``) for testing. The Italian
package was added because the English and Spanish prompts are one person, so
the other packages hold only three distinct voices.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from .._validation import check_sr
from ._corpus import _read_collections, _read_manifest, _split

__all__ = ["load_sample", "sample_path"]

SAMPLE_SR = 16000

_WHAT = "the bundled sample"
_HINT = "reinstall sksep or rebuild it with scripts/build_sample.py"


def _sample_root():
    return resources.files(__package__).joinpath("data", "sample")


def sample_path():
    """The folder of the bundled sample, for :func:`load_corpus` or a look at its files.

    Returns
    -------
    path : pathlib.Path
        ``sksep/datasets/data/sample`` inside the installed package: the FLAC
        files, ``manifest.csv`` and ``ATTRIBUTION.md``.

    Examples
    --------
    >>> from sksep.datasets import sample_path
    >>> (sample_path() / "manifest.csv").is_file()
    True
    """
    return Path(str(_sample_root()))


@functools.lru_cache(maxsize=4)
def _read_sample(sr):
    """Decode every file of the sample once per process and sample rate.

    Returns ``(speech, noise)`` collections holding all splits; callers copy.
    """
    root = _sample_root()
    manifest = _read_manifest(root, what=_WHAT, hint=_HINT)
    speech, noise = _read_collections(root, manifest, what=_WHAT, expected_sr=SAMPLE_SR)
    if sr == SAMPLE_SR:
        return speech, noise
    return speech.resample(sr), noise.resample(sr)


def load_sample(sr=None):
    """Load the bundled real-audio sample as speech and noise collections.

    About 9 minutes of clean speech from four speakers and 3.9 minutes of
    noise, recorded by people and taken from Debian packages (see
    ``ATTRIBUTION.md`` next to the data): studio sentences of a male Russian
    speaker (``festvox-ru``), English and Spanish telephone prompts of one
    female speaker, Italian prompts of a male speaker and French prompts of
    another female speaker (``asterisk-core-sounds-*``); noise of six kinds:
    ambience, machine, hiss and percussion loops (``sonic-pi-samples``), music
    on hold (``asterisk-moh-opsound-g722``), and babble mixed from training
    speakers.

    The speech split is **speaker-disjoint**: ``speech.train`` holds the
    speakers ``nsh``, ``allison`` and ``carlo`` (7.1 minutes) and
    ``speech.test`` the speaker ``june`` (2.1 minutes), who is never heard in
    training. The noise split uses different source recordings for test
    and train (the test babble is made of other utterances), so no test noise
    is heard in training; ``hiss`` occurs in training only.

    Parameters
    ----------
    sr : int or None, default=None
        Sample rate of the returned audio in Hz. ``None`` keeps the stored
        16 kHz; any other rate is reached with soxr resampling.

    Returns
    -------
    speech : sklearn.utils.Bunch
        ``speech.train`` and ``speech.test``, each an
        :class:`~sksep.datasets.AudioCollection` of utterances whose ``meta``
        has the columns ``id``, ``speaker``, ``language``, ``split``,
        ``source`` (Debian package), ``source_path`` (file inside that
        package), ``path`` (the bundled file) and ``licence``.
    noise : sklearn.utils.Bunch
        ``noise.train`` and ``noise.test``, collections of noise recordings
        (at most 20 s each) whose ``meta`` has ``id``, ``kind``, ``split``,
        ``talkers`` (the speakers of a babble, else empty), ``source``,
        ``source_path``, ``path`` and ``licence``.

    Raises
    ------
    ParameterError
        If ``sr`` is not a positive whole number.
    CorpusLayoutError
        If the installed sample is incomplete.

    See Also
    --------
    make_mixtures : mix speech and noise at given SNRs.
    load_corpus : the same layout from any folder, e.g. the larger corpus.

    Notes
    -----
    The files are decoded once per process and sample rate; every call
    returns fresh arrays that may be modified freely.

    Examples
    --------
    >>> from sksep.datasets import load_sample
    >>> speech, noise = load_sample()
    >>> speech.train.sr
    16000
    >>> sorted(set(speech.train.column("speaker")))
    ['allison', 'carlo', 'nsh']
    >>> sorted(set(speech.test.column("speaker")))
    ['june']
    >>> sorted(noise.test.meta["kind"].unique())
    ['ambience', 'babble', 'machine', 'music', 'percussion']
    >>> load_sample(sr=8000)[0].test.sr
    8000
    """
    sr = SAMPLE_SR if sr is None else check_sr(sr)
    speech, noise = _read_sample(sr)
    return _split(speech), _split(noise)
