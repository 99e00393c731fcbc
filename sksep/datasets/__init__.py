"""Corpora, the bundled sample, and SNR mixing."""

from ._augment import (
    Compose,
    NoiseMix,
    RandomGain,
    Reverb,
    SpectralTilt,
    SpeedPerturb,
    SyntheticNoise,
    make_babble,
    synthetic_noise,
)
from ._collection import AudioCollection
from ._corpus import default_corpus_path, load_corpus
from ._folder import load_folder
from ._mixing import Mixture, Mixtures, make_mixtures, read_mixtures
from ._musan import load_musan
from ._sample import load_sample, sample_path
from ._splits import LeaveConditionsOut, condition_groups
from ._timit import TIMIT_CORE_TEST_SPEAKERS, load_timit

__all__ = [
    "AudioCollection",
    "Compose",
    "LeaveConditionsOut",
    "Mixture",
    "Mixtures",
    "NoiseMix",
    "RandomGain",
    "Reverb",
    "SpectralTilt",
    "SpeedPerturb",
    "SyntheticNoise",
    "TIMIT_CORE_TEST_SPEAKERS",
    "condition_groups",
    "default_corpus_path",
    "load_corpus",
    "load_folder",
    "load_musan",
    "load_sample",
    "load_timit",
    "make_babble",
    "make_mixtures",
    "read_mixtures",
    "sample_path",
    "synthetic_noise",
]
