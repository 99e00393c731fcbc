"""Error types raised by sksep.

Each kind of mistake has its own type so that callers can catch exactly what
they expect. All of them subclass a built-in type (``ValueError`` or
``FileNotFoundError``), so code written against the built-ins keeps working.
"""

__all__ = [
    "AudioError",
    "CorpusLayoutError",
    "ModelFileError",
    "ParameterError",
    "SampleRateError",
]


class ParameterError(ValueError):
    """An argument has a value outside what the function accepts."""


class AudioError(ValueError):
    """A waveform cannot be used: empty, too short, non-finite, silent or multi-channel."""


class SampleRateError(AudioError):
    """A waveform's sample rate does not match what the estimator was built for."""


class CorpusLayoutError(FileNotFoundError):
    """A corpus folder is missing or is not laid out as the loader expects."""


class ModelFileError(ValueError):
    """A model file cannot be loaded: corrupt, truncated, tampered with or of another version."""
