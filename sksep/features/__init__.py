"""sksep.features: waveforms to time-frequency features, and back (resynthesis).

Front ends (:class:`STFTTransformer`, :class:`CochleagramTransformer`) map
utterances to per-utterance ``(n_frames, n_features)`` matrices, expose the T-F
energy that masks are defined on (``power``) and resynthesise a waveform from a
mask (``apply_mask``). Cepstra, context stacking and standardisation work on
the same per-utterance lists. All front ends and cepstra with the same
``hop_length`` are frame-aligned: frame ``k`` is centred on sample
``k * hop_length`` and an utterance of ``n`` samples has ``1 + n // hop_length``
frames.
"""

from ._base import FrameList, FrontEnd
from ._cache import FeatureCache, cache_features, transform_parallel
from ._cepstral import GFCCTransformer, MFCCTransformer
from ._cochleagram import CochleagramTransformer
from ._context import ContextStacker
from ._gammatone import (
    erb_centre_freqs,
    frame_energies,
    gammatone_filterbank,
    resynthesize,
)
from ._noise_aware import NoiseAwareFeatures
from ._standardize import FrameStandardizer
from ._stft import STFTTransformer

__all__ = [
    "CochleagramTransformer",
    "ContextStacker",
    "FeatureCache",
    "FrameList",
    "FrameStandardizer",
    "FrontEnd",
    "GFCCTransformer",
    "MFCCTransformer",
    "NoiseAwareFeatures",
    "STFTTransformer",
    "cache_features",
    "erb_centre_freqs",
    "frame_energies",
    "gammatone_filterbank",
    "resynthesize",
    "transform_parallel",
]
