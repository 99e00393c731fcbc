"""Quality metrics, batch evaluation and scikit-learn scorers.

Per utterance: :func:`stoi`, :func:`estoi`, :func:`pesq` (MOS-LQO; raw P.862
via ``raw=True`` or :func:`mos_lqo_to_raw`), :func:`si_sdr`, :func:`snr`.
Many utterances: :func:`evaluate` (parallel, one table row per utterance).
For ``scoring=``: :data:`stoi_scorer`, :data:`estoi_scorer`,
:data:`pesq_scorer`, :data:`si_sdr_scorer`, :func:`make_metric_scorer`.
"""

from ._evaluate import METRICS, evaluate
from ._scorers import (
    estoi_scorer,
    make_metric_scorer,
    pesq_scorer,
    si_sdr_scorer,
    stoi_scorer,
)
from ._scores import estoi, mos_lqo_to_raw, pesq, si_sdr, snr, stoi

__all__ = [
    "METRICS",
    "estoi",
    "estoi_scorer",
    "evaluate",
    "make_metric_scorer",
    "mos_lqo_to_raw",
    "pesq",
    "pesq_scorer",
    "si_sdr",
    "si_sdr_scorer",
    "snr",
    "stoi",
    "stoi_scorer",
]
