"""Corpora, the bundled sample, and SNR mixing."""

from ._collection import AudioCollection
from ._folder import load_folder
from ._mixing import Mixture, Mixtures, make_mixtures, read_mixtures
from ._musan import load_musan
from ._sample import load_sample
from ._timit import TIMIT_CORE_TEST_SPEAKERS, load_timit

__all__ = [
    "AudioCollection",
    "Mixture",
    "Mixtures",
    "TIMIT_CORE_TEST_SPEAKERS",
    "load_folder",
    "load_musan",
    "load_sample",
    "load_timit",
    "make_mixtures",
    "read_mixtures",
]
