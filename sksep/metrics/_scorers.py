"""Scorers for scikit-learn's ``scoring=``: mean STOI, ESTOI, PESQ or SI-SDR of an enhancer."""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._validation import check_sr, get_sr
from ..exceptions import ParameterError
from ._evaluate import METRICS, evaluate

__all__ = [
    "make_metric_scorer",
    "stoi_scorer",
    "estoi_scorer",
    "pesq_scorer",
    "si_sdr_scorer",
    "scoring_sr",
]


def scoring_sr(estimator, X=None):
    """The sample rate a scorer uses: ``estimator.sr_``, else ``estimator.sr``, else ``X.sr``.

    Raises
    ------
    ParameterError
        If none of them is known.
    """
    for source, value in (
        ("estimator.sr_", getattr(estimator, "sr_", None)),
        ("estimator.sr", getattr(estimator, "sr", None)),
        ("X.sr", get_sr(X)),
    ):
        if value is not None:
            return check_sr(value, name=source)
    raise ParameterError(
        f"cannot tell the sample rate to score {type(estimator).__name__} at: it has no "
        "sr_ or sr attribute and X is not an AudioCollection; give the estimator an sr "
        "or pass X as an AudioCollection"
    )


class _MetricScorer:
    """Callable ``scorer(estimator, X, y)``: mean of a metric over the predicted utterances."""

    def __init__(self, metric):
        self.metric = metric

    def __call__(self, estimator, X, y, **kwargs):
        sr = scoring_sr(estimator, X)
        if getattr(estimator, "_predict_needs_clean", False):
            estimates = estimator.predict(X, y)  # the oracle baselines read the clean signal
        else:
            estimates = estimator.predict(X)
        table = evaluate(y, estimates, sr, metrics=[self.metric])
        values = table[self.metric].to_numpy()
        bad = np.isnan(values)
        if bad.all():
            warnings.warn(
                f"{self.metric} could not score any of the {len(values)} utterances; "
                f"returning NaN (first reason: {table['error'].iloc[0]})",
                RuntimeWarning,
                stacklevel=2,
            )
            return math.nan
        if bad.any():
            first = table["error"][bad].iloc[0]
            warnings.warn(
                f"{self.metric} could not score {int(bad.sum())} of {len(values)} utterances; "
                f"they are left out of the mean (first reason: {first})",
                RuntimeWarning,
                stacklevel=2,
            )
        return float(np.mean(values[~bad]))

    def __repr__(self):
        return f"make_metric_scorer({self.metric!r})"


def make_metric_scorer(metric):
    """Make a scikit-learn scorer from a metric name.

    The scorer is a callable ``scorer(estimator, X, y)`` as ``scoring=`` in
    :class:`~sklearn.model_selection.GridSearchCV` and
    :func:`~sklearn.model_selection.cross_validate` expects: ``X`` are noisy
    utterances, ``y`` the clean ones. It returns the mean metric of
    ``estimator.predict(X)`` against ``y`` (greater is better for every
    metric), at the sample rate ``estimator.sr_`` (set by fit), else
    ``estimator.sr``, else ``X.sr``. Utterances the metric cannot score (too
    short, no speech) are left out of the mean with a ``RuntimeWarning``; if
    none can be scored the result is NaN.

    Parameters
    ----------
    metric : str
        One of the names :func:`evaluate` accepts (``"stoi"``, ``"estoi"``,
        ``"pesq"``, ``"pesq_wb"``, ``"pesq_raw"``, ``"si_sdr"``, ``"snr"``).

    Returns
    -------
    scorer : callable

    Examples
    --------
    >>> from sksep.metrics import make_metric_scorer
    >>> make_metric_scorer("pesq_wb")
    make_metric_scorer('pesq_wb')
    """
    if not isinstance(metric, str) or metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; choose from {sorted(METRICS)}")
    return _MetricScorer(metric)


#: Mean STOI (:func:`sksep.metrics.stoi`) of ``estimator.predict(X)`` against ``y``.
stoi_scorer = make_metric_scorer("stoi")
#: Mean ESTOI (:func:`sksep.metrics.estoi`).
estoi_scorer = make_metric_scorer("estoi")
#: Mean narrow-band PESQ, MOS-LQO (:func:`sksep.metrics.pesq` with ``mode="nb"``).
pesq_scorer = make_metric_scorer("pesq")
#: Mean SI-SDR in dB (:func:`sksep.metrics.si_sdr`).
si_sdr_scorer = make_metric_scorer("si_sdr")
