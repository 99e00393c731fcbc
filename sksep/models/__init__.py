"""sksep.models: the four mask-estimation networks, as PyTorch modules and skorch regressors.

``DNN0Regressor``, ``DNN1Regressor``, ``CNN0Regressor`` and ``CNN1Regressor``
take lists of per-utterance feature matrices and masks; the DNNs train on
frames, the CNNs on (context frames x channels) patches built on the fly.
"""

from ._checkpoint import TrainingCheckpoint
from ._data import UtteranceDataset, UtteranceSplit
from ._modules import CNN0, CNN1, DNN0, DNN1, BiasedSigmoid
from ._regressors import (
    CNN0Regressor,
    CNN1Regressor,
    DNN0Regressor,
    DNN1Regressor,
    ValidEarlyStopping,
    resolve_device,
)
from ._streaming import MixingDataset, worker_init_fn

__all__ = [
    "BiasedSigmoid",
    "CNN0",
    "CNN0Regressor",
    "CNN1",
    "CNN1Regressor",
    "DNN0",
    "DNN0Regressor",
    "DNN1",
    "DNN1Regressor",
    "MixingDataset",
    "TrainingCheckpoint",
    "UtteranceDataset",
    "UtteranceSplit",
    "ValidEarlyStopping",
    "resolve_device",
    "worker_init_fn",
]
