"""sksep: deep-learning speech enhancement as scikit-learn estimators.

The data flow, and the module that holds each step::

    sksep.io        read and write audio
    sksep.datasets  corpora, the bundled sample, SNR mixing
    sksep.features  waveform -> time-frequency features (and back: resynthesis)
    sksep.targets   ideal ratio / binary masks
    sksep.models    the networks, as skorch regressors
    sksep.enhance   SpeechEnhancer: waveforms in, enhanced waveforms out
    sksep.metrics   STOI, PESQ, SI-SDR, scorers
"""

from ._persist import load, save
from .enhance import SpeechEnhancer

__version__ = "0.1.0.dev0"

__all__ = ["SpeechEnhancer", "__version__", "load", "save"]
