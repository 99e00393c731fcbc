"""evaluate: score many utterances with many metrics, in parallel, into one table."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial

import numpy as np
import pandas as pd

from .._validation import check_sr, get_sr
from ..exceptions import AudioError, ParameterError, SampleRateError
from ._scores import estoi, pesq, si_sdr, snr, stoi

__all__ = ["evaluate", "METRICS"]

#: Metric names understood by :func:`evaluate` and the scorers.
METRICS = {
    "stoi": stoi,
    "estoi": estoi,
    "pesq": pesq,
    "pesq_nb": pesq,
    "pesq_wb": partial(pesq, mode="wb"),
    "pesq_raw": partial(pesq, raw=True),
    "si_sdr": si_sdr,
    "snr": snr,
}


def _metric_errors():
    """Exception types that mean "this utterance cannot be scored", not "you made a mistake"."""
    import pesq as pesq_pkg

    return (AudioError, pesq_pkg.PesqError)


def resolve_metrics(metrics):
    """Turn ``metrics`` (a name, names, or a name -> callable mapping) into a dict."""
    if isinstance(metrics, str):
        metrics = (metrics,)
    if isinstance(metrics, Mapping):
        items = list(metrics.items())
        for name, func in items:
            if not isinstance(name, str) or not callable(func):
                raise ParameterError(
                    "metrics given as a mapping must map names (str) to callables "
                    f"f(clean, estimate, sr); got {name!r}: {func!r}"
                )
    else:
        try:
            names = list(metrics)
        except TypeError:
            raise ParameterError(
                f"metrics must be a name, a list of names or a dict of callables, got {metrics!r}"
            ) from None
        items = []
        for name in names:
            if name not in METRICS:
                raise ParameterError(
                    f"unknown metric {name!r}; choose from {sorted(METRICS)} "
                    "or pass a dict {name: f(clean, estimate, sr)}"
                )
            items.append((name, METRICS[name]))
    if not items:
        raise ParameterError("metrics is empty: name at least one metric")
    names = [name for name, _ in items]
    if len(set(names)) != len(names):
        raise ParameterError(f"metrics names must be unique, got {names}")
    return dict(items)


def _as_items(X, name):
    """A sequence of utterances as a list (no per-utterance checks: those become NaN rows)."""
    if X is None:
        return None
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim != 2:
            raise AudioError(
                f"{name} must be a list of 1-D waveforms or a 2-D array of utterances, "
                f"got an array of shape {X.shape}"
                + ("; wrap a single utterance in a list, e.g. [y]" if X.ndim == 1 else "")
            )
        return list(X)
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__") or not hasattr(X, "__getitem__"):
        raise AudioError(f"{name} must be a sequence of waveforms, got {type(X).__name__}")
    items = [X[i] for i in range(len(X))]
    if items and np.ndim(items[0]) == 0:
        raise AudioError(
            f"{name} looks like a single waveform (its items are numbers); "
            "pass a list of utterances, e.g. [y]"
        )
    return items


def _ids(*collections):
    for c in collections:
        meta = getattr(c, "meta", None)
        if isinstance(meta, pd.DataFrame) and "id" in meta.columns:
            return pd.Index(meta["id"].to_numpy(), name="id")
    return None


def _guided_chunks(sizes, n_workers):
    """Utterances in chunks of shrinking size, longest utterances first.

    Guided self-scheduling: each chunk takes a ``1 / (2 * n_workers)`` share
    of the audio not yet dealt out, so the first chunks are large (few
    dispatches) and the last ones hold a single short utterance each, which
    the worker that frees up first picks up: the workers end within about one
    short utterance of each other. Results are put back in input order, so
    the split does not change the table.
    """
    order = sorted(range(len(sizes)), key=lambda i: (-sizes[i], i))
    remaining = float(sum(sizes))
    chunks, current, total = [], [], 0.0
    for i in order:
        current.append(i)
        total += sizes[i]
        if total >= remaining / (2 * n_workers):
            chunks.append(sorted(current))
            remaining -= total
            current, total = [], 0.0
    if current:
        chunks.append(sorted(current))
    return chunks


def _score_one(clean, estimate, sr, funcs, errors):
    """Score one pair with every metric; return (values, reasons)."""
    values, reasons = [], []
    for name, func in funcs.items():
        try:
            value = float(func(clean, estimate, sr))
        except errors as exc:
            value = math.nan
            reasons.append(f"{name}: {exc}")
        else:
            if math.isnan(value):
                reasons.append(f"{name}: the metric returned NaN")
        values.append(value)
    return values, reasons


def _score_chunk(positions, cleans, estimates, noisies, sr, funcs):
    """Score the utterances of one chunk (runs in a worker process)."""
    errors = _metric_errors()
    rows = []
    for k, pos in enumerate(positions):
        values, reasons = _score_one(cleans[k], estimates[k], sr, funcs, errors)
        if noisies is not None:
            noisy_values, noisy_reasons = _score_one(cleans[k], noisies[k], sr, funcs, errors)
            values += noisy_values
            reasons += [f"noisy {r}" for r in noisy_reasons]
        rows.append((pos, values, "; ".join(reasons) or None))
    return rows


def evaluate(
    clean,
    estimates,
    sr=None,
    metrics=("stoi", "estoi", "pesq", "si_sdr"),
    *,
    noisy=None,
    n_jobs=None,
    verbose=False,
):
    """Score many utterances with several metrics and return one row per utterance.

    Each utterance is scored on its own and every built-in metric is
    deterministic (the random dither ``pystoi`` adds for ESTOI is drawn with a
    fixed seed, see :func:`estoi`), so the table does not depend on ``n_jobs``:
    the parallel result is identical to the sequential one. An utterance that a
    metric cannot score (too short, silent, no speech found by PESQ, a level
    PESQ cannot handle, lengths that differ, non-finite samples) gets NaN for
    that metric and the reason in its ``error`` cell; the batch never stops
    for it.
    Mistakes that concern the whole call (unknown metric, different numbers of
    utterances, missing sample rate) raise at once.

    Parameters
    ----------
    clean : sequence of array-like or AudioCollection
        Clean reference utterances.
    estimates : sequence of array-like or AudioCollection
        One signal to judge per clean utterance (enhanced speech), each as long
        as its reference.
    sr : int, optional
        Sample rate in Hz. Taken from ``clean.sr`` (or ``estimates.sr``) when
        those are :class:`~sksep.datasets.AudioCollection`; required otherwise.
    metrics : str, sequence of str or dict, default=("stoi", "estoi", "pesq", "si_sdr")
        Metric names among ``"stoi"``, ``"estoi"``, ``"pesq"`` (= ``"pesq_nb"``,
        narrow-band MOS-LQO at 8 kHz), ``"pesq_wb"`` (wide-band MOS-LQO at
        16 kHz), ``"pesq_raw"`` (narrow-band raw P.862), ``"si_sdr"``, ``"snr"``;
        or a dict ``{column name: f(clean, estimate, sr) -> float}``. PESQ
        resamples to 8 or 16 kHz inside (see :func:`pesq`); STOI and ESTOI to
        10 kHz (inside ``pystoi``).
    noisy : sequence of array-like or AudioCollection, optional
        The unprocessed mixtures. When given, every metric is also computed for
        them, in columns ``"<metric>_noisy"``, so that gains are one
        subtraction away.
    n_jobs : int, optional
        Worker processes (joblib; ``None`` means 1 unless inside a
        ``joblib.parallel_config`` context, ``-1`` all cores). Utterances are
        dealt out longest first in chunks of shrinking size (guided
        self-scheduling): the first chunks are large, to amortise the cost of
        dispatching work, and the last hold one short utterance each, so the
        workers finish together.
    verbose : bool, default=False
        Show a ``tqdm`` progress bar.

    Returns
    -------
    table : pandas.DataFrame
        One row per utterance, in input order, indexed by the ``id`` metadata
        of the first collection that has one (else 0 ... n-1); one float column
        per metric (then per noisy metric) and an ``error`` column holding the
        reasons for NaN values (``None`` where every metric succeeded).

    Raises
    ------
    ParameterError
        If a metric is unknown, ``sr`` is missing or invalid, or the inputs hold
        different numbers of utterances.
    SampleRateError
        If ``sr`` disagrees with the rate a collection carries.
    AudioError
        If an input is not a sequence of utterances.

    See Also
    --------
    stoi, estoi, pesq, si_sdr, snr : the metrics for a single utterance.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.metrics import evaluate
    >>> rng = np.random.default_rng(0)
    >>> sr = 16000
    >>> t = np.arange(2 * sr) / sr
    >>> clean = [np.sin(2 * np.pi * f * t) * (1 + np.sin(2 * np.pi * 3 * t))
    ...          for f in (150, 220)] + [np.ones(800)]
    >>> noisy = [y + rng.normal(0, 0.3, y.size) for y in clean]
    >>> table = evaluate(clean, noisy, sr, metrics=["stoi", "si_sdr"])
    >>> table.columns.tolist()
    ['stoi', 'si_sdr', 'error']
    >>> table["stoi"].notna().tolist()
    [True, True, False]
    >>> print(table.loc[2, "error"])  # doctest: +ELLIPSIS
    stoi: clean is too short for STOI: ...; si_sdr: clean is constant ...
    """
    funcs = resolve_metrics(metrics)
    cleans = _as_items(clean, "clean")
    ests = _as_items(estimates, "estimates")
    noisies = _as_items(noisy, "noisy")
    for name, items in (("estimates", ests), ("noisy", noisies)):
        if items is not None and len(items) != len(cleans):
            raise ParameterError(
                f"clean holds {len(cleans)} utterances but {name} holds {len(items)}; "
                "give one per clean utterance"
            )
    sr = _resolve_sr(sr, clean, estimates, noisy)
    n = len(cleans)
    columns = list(funcs) + ([f"{m}_noisy" for m in funcs] if noisies is not None else [])

    from joblib import Parallel, delayed, effective_n_jobs

    n_workers = min(effective_n_jobs(n_jobs), max(n, 1))
    if n_workers == 1:
        chunks = [[i] for i in range(n)]
    else:
        chunks = _guided_chunks([np.size(c) for c in cleans], n_workers)
    tasks = [
        delayed(_score_chunk)(
            idx,
            [cleans[i] for i in idx],
            [ests[i] for i in idx],
            None if noisies is None else [noisies[i] for i in idx],
            sr,
            funcs,
        )
        for idx in chunks
    ]
    if n_workers == 1:
        results = (func(*args, **kwargs) for func, args, kwargs in tasks)
    else:
        results = Parallel(n_jobs=n_workers, prefer="processes", batch_size=1,
                           return_as="generator")(tasks)
    if verbose:
        from tqdm.auto import tqdm

        results = tqdm(results, total=len(tasks), desc="evaluate", unit="chunk")

    values = np.full((n, len(columns)), np.nan)
    errors = [None] * n
    for rows in results:
        for pos, vals, reason in rows:
            values[pos] = vals
            errors[pos] = reason
    table = pd.DataFrame(values, columns=columns, index=_ids(clean, estimates, noisy))
    table["error"] = pd.Series(errors, index=table.index, dtype=object)
    return table


def _resolve_sr(sr, *collections):
    names = ("clean", "estimates", "noisy")
    rates = {(name, get_sr(c)) for name, c in zip(names, collections, strict=True)}
    rates = {(name, r) for name, r in rates if r is not None}
    if sr is not None:
        sr = check_sr(sr)
        for name, r in sorted(rates):
            if r != sr:
                raise SampleRateError(f"sr={sr} Hz was given but {name} is at {r} Hz")
        return sr
    distinct = {r for _, r in rates}
    if not distinct:
        raise ParameterError(
            "sr is required: the sample rate of the utterances, in Hz (it can only be "
            "inferred from an AudioCollection)"
        )
    if len(distinct) > 1:
        raise SampleRateError(f"the inputs carry different sample rates: {sorted(rates)}")
    return distinct.pop()
