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


def _mean_of(table, metric):
    """Mean of one metric column over the utterances it could score (warning about the rest)."""
    values = table[metric].to_numpy()
    bad = np.isnan(values)
    if bad.all():
        warnings.warn(
            f"{metric} could not score any of the {len(values)} utterances; "
            f"returning NaN (first reason: {table['error'].iloc[0]})",
            RuntimeWarning,
            stacklevel=3,
        )
        return math.nan
    if bad.any():
        first = table["error"][bad].iloc[0]
        warnings.warn(
            f"{metric} could not score {int(bad.sum())} of {len(values)} utterances; "
            f"they are left out of the mean (first reason: {first})",
            RuntimeWarning,
            stacklevel=3,
        )
    return float(np.mean(values[~bad]))


class _MetricScorer:
    """Callable ``scorer(estimator, X, y)``: mean of a metric (or of several) over the predictions.

    With a tuple of metrics it predicts once and returns ``{metric: mean}``, the
    form ``scoring=`` accepts for several metrics from one callable.
    """

    def __init__(self, metric):
        self.metric = metric

    def __call__(self, estimator, X, y, **kwargs):
        sr = scoring_sr(estimator, X)
        if getattr(estimator, "_predict_needs_clean", False):
            estimates = estimator.predict(X, y)  # the oracle baselines read the clean signal
        else:
            estimates = estimator.predict(X)
        names = [self.metric] if isinstance(self.metric, str) else list(self.metric)
        table = evaluate(y, estimates, sr, metrics=names)
        if isinstance(self.metric, str):
            return _mean_of(table, self.metric)
        return {name: _mean_of(table, name) for name in names}

    def __repr__(self):
        return f"make_metric_scorer({self.metric!r})"


def make_metric_scorer(metric):
    """Make a scikit-learn scorer from a metric name, or one scorer for several metrics.

    The scorer is a callable ``scorer(estimator, X, y)`` as ``scoring=`` in
    :class:`~sklearn.model_selection.GridSearchCV` and
    :func:`~sklearn.model_selection.cross_validate` expects: ``X`` are noisy
    utterances, ``y`` the clean ones. It returns the mean metric of
    ``estimator.predict(X)`` against ``y`` (greater is better for every
    metric), at the sample rate ``estimator.sr_`` (set by fit), else
    ``estimator.sr``, else ``X.sr``. Utterances the metric cannot score (too
    short, no speech) are left out of the mean with a ``RuntimeWarning``; if
    none can be scored the result is NaN.

    Given several metric names, the scorer predicts **once** and returns a
    dict ``{metric: mean}``: pass it as ``scoring=`` with ``refit=<metric>``.
    A dict of separate scorers (``scoring={"stoi": stoi_scorer, "pesq":
    pesq_scorer}``) works too, but scikit-learn calls each of them, so every
    validation fold is enhanced once per metric.

    Parameters
    ----------
    metric : str or sequence of str
        One or more of the names :func:`evaluate` accepts (``"stoi"``,
        ``"estoi"``, ``"pesq"``, ``"pesq_wb"``, ``"pesq_raw"``, ``"si_sdr"``,
        ``"snr"``).

    Returns
    -------
    scorer : callable

    Examples
    --------
    >>> from sksep.metrics import make_metric_scorer
    >>> make_metric_scorer("pesq_wb")
    make_metric_scorer('pesq_wb')
    >>> make_metric_scorer(["stoi", "pesq"])  # GridSearchCV(..., scoring=this, refit="stoi")
    make_metric_scorer(('stoi', 'pesq'))
    """
    if isinstance(metric, str):
        names = [metric]
    elif isinstance(metric, (list, tuple)) and metric:
        names = list(metric)
    else:
        raise ParameterError(
            f"metric must be a metric name or a non-empty list of them, got {metric!r}"
        )
    for name in names:
        if not isinstance(name, str) or name not in METRICS:
            raise ParameterError(f"unknown metric {name!r}; choose from {sorted(METRICS)}")
    if len(set(names)) != len(names):
        raise ParameterError(f"metric names repeat in {metric!r}")
    return _MetricScorer(metric if isinstance(metric, str) else tuple(names))


#: Mean STOI (:func:`sksep.metrics.stoi`) of ``estimator.predict(X)`` against ``y``.
stoi_scorer = make_metric_scorer("stoi")
#: Mean ESTOI (:func:`sksep.metrics.estoi`).
estoi_scorer = make_metric_scorer("estoi")
#: Mean narrow-band PESQ, MOS-LQO (:func:`sksep.metrics.pesq` with ``mode="nb"``).
pesq_scorer = make_metric_scorer("pesq")
#: Mean SI-SDR in dB (:func:`sksep.metrics.si_sdr`).
si_sdr_scorer = make_metric_scorer("si_sdr")
