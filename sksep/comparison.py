"""The model comparison: every network on every front end, against baselines and the oracle.

This is the project's main job (``sksep compare``, ``examples/compare_models.py``).
It trains DNN_0, DNN_1, CNN_0 and CNN_1 on STFT and on cochleagram features,
once each, on mixtures of the bundled sample's training split at several SNRs
together, leaving out the noise kinds held out of training
(``ComparisonSettings.heldout_kinds``); scores them on the speaker- and
noise-disjoint test split at each SNR beside the non-learned baselines and the
oracle masks, each test mixture labelled ``matched`` (a kind heard in training,
in other recordings) or ``unseen`` (a held-out kind); and writes the report to
``analysis/`` (tables, figures, audio examples).

Work is cached per system under ``cache_dir`` (one CSV of per-utterance scores,
a training history and an example output each), so an interrupted run resumes
where it stopped and a finished run only rewrites the report. A network's
training state is saved after every epoch (a
:class:`~sksep.models.TrainingCheckpoint` under ``cache_dir``, a folder per
system), so a system cut short resumes from its last finished epoch.
``force=True`` (``sksep compare --force``) reuses none of it: the selected
systems' results and training states and the cached features are deleted
and computed again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._atomic import atomic_path, atomic_write_text
from ._report import slug as _slug
from ._report import write_report
from .exceptions import ParameterError

__all__ = ["ComparisonSettings", "run_comparison", "QUICK", "FULL"]

METRIC_COLUMNS = ("stoi", "estoi", "pesq", "si_sdr")
METRIC_LABELS = {"stoi": "STOI", "estoi": "ESTOI", "pesq": "PESQ", "si_sdr": "SI-SDR (dB)"}

# The original project's results (8 kHz, TIMIT + MUSAN; STOI / raw PESQ), DESIGN.md section 1.
ORIGINAL_RESULTS = pd.DataFrame(
    {
        "system": ["unprocessed", "DNN_0, cochleagram", "CNN_0, cochleagram", "best STFT model"],
        "STOI 0 dB": [0.73, 0.82, 0.86, 0.81],
        "PESQ 0 dB": [2.10, 2.37, 2.42, 2.32],
        "STOI -2 dB": [0.67, 0.77, 0.80, 0.77],
        "PESQ -2 dB": [2.04, 2.31, 2.36, 2.24],
    }
)


@dataclass(frozen=True)
class ComparisonSettings:
    """Everything that decides the comparison's numbers (and its cache key).

    Parameters
    ----------
    sr : int
        Sample rate of all audio and front ends (8 kHz, as the original project).
    frame_length, hop_length : int
        STFT size (``n_fft``) and cochleagram frame, and the hop of both, in samples.
    snrs : tuple of float
        SNRs (dB) of the training mixtures (drawn per mixture) and of the test
        conditions (every test utterance at every SNR).
    mixtures_per_utterance : int
        Training mixtures made from each training utterance.
    n_train_utterances : int or None
        Use only this many training utterances, spread over the speakers (quick runs).
    max_epochs, patience : int
        Training length; early stopping on validation loss with ``patience``.
    dnn_context : int
        Frames of context on each side for the DNNs (``ContextStacker``).
    cnn_context : int
        Frames of context on each side of the CNN patches.
    network_params : dict
        Per network, extra regressor parameters (e.g. narrower CNN_0 filters).
    n_test_utterances : int or None
        Use only the first test utterances (quick runs).
    random_state : int
        Seed of mixing, weight initialisation and shuffling.
    heldout_kinds : tuple of str, default=("music",)
        Noise kinds left out of training: their training recordings are
        dropped, so the networks never hear them. The test mixtures keep every
        kind; those with a held-out kind are the ``"unseen"`` condition, the
        others ``"matched"`` (a kind heard in training, in other recordings).
        Music (music on hold) is the default, in FULL and QUICK alike: it is
        the one kind of the bundled sample with several recordings in both
        splits (6 for training, 4 for testing), so training keeps five kinds
        and the unseen condition has a share of the test mixtures (about two
        in five) rather than a handful. A single string means that one kind;
        ``()`` holds nothing out (every test mixture is then matched).
    """

    sr: int = 8000
    frame_length: int = 256
    hop_length: int = 128
    snrs: tuple = (-5.0, -2.0, 0.0, 5.0)
    mixtures_per_utterance: int = 3
    n_train_utterances: int | None = None
    max_epochs: int = 20
    patience: int = 5
    dnn_context: int = 2
    cnn_context: int = 7
    network_params: dict = field(default_factory=dict)
    n_test_utterances: int | None = None
    random_state: int = 0
    heldout_kinds: tuple = ("music",)

    def __post_init__(self):
        kinds = self.heldout_kinds
        kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds or ())
        if not all(isinstance(k, str) and k for k in kinds):
            raise ParameterError(
                f"heldout_kinds must be noise kind names (strings), got {self.heldout_kinds!r}"
            )
        object.__setattr__(self, "heldout_kinds", kinds)

    def key(self):
        """Short hash of the settings: results cached under it are reused."""
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)
        return hashlib.sha1(blob.encode()).hexdigest()[:10]

    def __hash__(self):
        return hash(self.key())


FULL = ComparisonSettings(
    mixtures_per_utterance=2,
    max_epochs=25,
    patience=5,
    cnn_context=3,
    network_params={
        # Sized for the 20-minute budget on 2 CPU cores (about 55 000 training
        # frames). The layer stacks are the documented ones; the widths are not:
        # DNN_0's 1024 and DNN_1's 2F units become 512; CNN_0's 64/128/256/256
        # filters of 11x11 (about 4 GMAC per patch, hours per epoch here) become
        # 4 filters per layer, still 11x11. The DNNs take about 4 s an epoch and
        # train until early stopping (at most 25 epochs); CNN_0 takes 15-35 s an
        # epoch and trains 3; CNN_1 9-18 s and trains 12 (its validation loss
        # still falls after 3: trained 20 epochs, CNN_1 on cochleagram gained
        # +0.027 STOI / +0.08 PESQ at 0 dB against +0.025 / +0.06 after 3).
        # CNN_1 needs 9 frames or more for its three stride-2 poolings and
        # keeps its default context of 7 frames on each side.
        "DNN_0": {"module__hidden_dim": 512},
        "DNN_1": {"module__hidden_dim": 512},
        "CNN_0": {"module__n_filters": (4, 4, 4, 4), "max_epochs": 3},
        "CNN_1": {"max_epochs": 12, "context": (7, 7)},
    },
)

QUICK = ComparisonSettings(
    snrs=(-5.0, 0.0, 5.0),
    mixtures_per_utterance=1,
    n_train_utterances=24,
    max_epochs=2,
    patience=2,
    cnn_context=4,
    network_params={
        "DNN_0": {"module__hidden_dim": 64},
        "DNN_1": {"module__hidden_dim": 64},
        "CNN_0": {"module__n_filters": (2, 2, 4, 4), "module__kernel_size": 3},
        "CNN_1": {"module__n_filters": (4, 8, 8, 8, 8)},
    },
    n_test_utterances=4,
)


# -- building the systems -------------------------------------------------------
def _front_end(feature, settings):
    from .features import CochleagramTransformer, STFTTransformer

    if feature == "stft":
        return STFTTransformer(
            sr=settings.sr, n_fft=settings.frame_length, hop_length=settings.hop_length
        )
    if feature == "cochleagram":
        return CochleagramTransformer(
            sr=settings.sr, frame_length=settings.frame_length, hop_length=settings.hop_length
        )
    raise ValueError(f"unknown feature {feature!r}")


def _regressor(network, settings, verbose=False):
    from .models import CNN0Regressor, CNN1Regressor, DNN0Regressor, DNN1Regressor

    classes = {
        "DNN_0": DNN0Regressor,
        "DNN_1": DNN1Regressor,
        "CNN_0": CNN0Regressor,
        "CNN_1": CNN1Regressor,
    }
    params = {
        "max_epochs": settings.max_epochs,
        "random_state": settings.random_state,
        "verbose": int(verbose),
        # the regressors stop early on validation loss (their "early_stopping" callback)
        "callbacks__early_stopping__patience": settings.patience,
    }
    if network.startswith("CNN"):
        params["context"] = (settings.cnn_context, settings.cnn_context)
    params.update(settings.network_params.get(network, {}))
    return classes[network](**params)


def make_enhancer(network, feature, settings, memory=None, verbose=False):
    """The SpeechEnhancer the comparison trains for one network and one front end."""
    from sklearn.pipeline import Pipeline

    from .enhance import SpeechEnhancer
    from .features import ContextStacker, FrameStandardizer

    steps = [("frontend", _front_end(feature, settings))]
    if network.startswith("DNN") and settings.dnn_context:
        steps.append(("context", ContextStacker(settings.dnn_context)))
    steps.append(("standardize", FrameStandardizer()))
    steps.append(("network", _regressor(network, settings, verbose)))
    return SpeechEnhancer(Pipeline(steps, memory=memory))


def _baselines(settings):
    from . import baselines

    return {
        "spectral gating": baselines.SpectralGating(sr=settings.sr),
        "spectral subtraction": baselines.SpectralSubtraction(sr=settings.sr),
        "iterative Wiener": baselines.IterativeWiener(sr=settings.sr),
    }


# -- data ---------------------------------------------------------------------------
def make_data(settings):
    """Training and test mixtures of the bundled sample (speaker- and noise-disjoint).

    The training mixtures use only the noise recordings whose kind is not in
    ``settings.heldout_kinds``; the test mixtures use every test recording.

    Raises
    ------
    ParameterError
        If a held-out kind is not a kind of the training noise, or if holding
        them out leaves no training noise.
    """
    from .datasets import load_sample, make_mixtures

    speech, noise = load_sample(sr=settings.sr)
    kinds = noise.train.column("kind").astype(str)
    unknown = sorted(set(settings.heldout_kinds) - set(kinds))
    if unknown:
        raise ParameterError(
            f"heldout_kinds={settings.heldout_kinds!r}: {unknown} not among the training "
            f"noise kinds {sorted(set(kinds))}"
        )
    train_noise = noise.train.take(np.flatnonzero(~np.isin(kinds, settings.heldout_kinds)))
    if not len(train_noise):
        raise ParameterError(
            f"heldout_kinds={settings.heldout_kinds!r} leaves no training noise"
        )
    train_speech = speech.train
    if settings.n_train_utterances is not None:
        # every k-th utterance, so that all training speakers stay in
        step = max(1, len(train_speech) // settings.n_train_utterances)
        train_speech = train_speech[::step][: settings.n_train_utterances]
    train = make_mixtures(
        train_speech,
        train_noise,
        snr_db=list(settings.snrs),
        n_mixtures=settings.mixtures_per_utterance * len(train_speech),
        random_state=settings.random_state,
    )
    test_speech = speech.test
    if settings.n_test_utterances is not None:
        test_speech = test_speech[: settings.n_test_utterances]
    test = make_mixtures(
        test_speech,
        noise.test,
        snr_db=list(settings.snrs),
        snr_mode="all",
        random_state=settings.random_state + 1,
    )
    return train, test


# -- caching helpers -------------------------------------------------------------------
def _atomic_save_npz(path, **arrays):
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)


class _Progress:
    def __init__(self, verbose):
        self.verbose = verbose
        self.t0 = time.perf_counter()

    def __call__(self, msg):
        if self.verbose:
            print(f"[{time.perf_counter() - self.t0:7.1f} s] {msg}", flush=True)


# -- the run ---------------------------------------------------------------------------
def _score(test, estimates, settings, n_jobs):
    from .metrics import evaluate

    table = evaluate(
        test.clean, estimates, settings.sr, metrics=METRIC_COLUMNS, noisy=test.noisy,
        n_jobs=n_jobs,
    )
    table.insert(0, "snr_db", test.snr_db)
    table.insert(1, "utterance_id", test.meta["utterance_id"].to_numpy())
    kinds = test.meta["noise_kind"].to_numpy()
    table.insert(2, "noise_kind", kinds)
    table.insert(3, "condition", conditions(kinds, settings.heldout_kinds))
    return table


def conditions(noise_kinds, heldout_kinds):
    """``"unseen"`` where the noise kind was held out of training, else ``"matched"``.

    Examples
    --------
    >>> conditions(["music", "babble"], ("music",)).tolist()
    ['unseen', 'matched']
    """
    unseen = np.isin(np.asarray(noise_kinds, dtype=str), list(heldout_kinds))
    return np.where(unseen, "unseen", "matched").astype(object)


def _history(enhancer):
    net = enhancer.estimator_.steps[-1][1]
    rows = []
    for epoch in net.history:
        rows.append({
            "epoch": epoch["epoch"],
            "train_loss": epoch.get("train_loss"),
            "valid_loss": epoch.get("valid_loss"),
            "dur": epoch.get("dur"),
        })
    return rows


def run_comparison(
    out_dir="analysis",
    *,
    cache_dir=None,
    quick=False,
    settings=None,
    networks=("DNN_0", "DNN_1", "CNN_0", "CNN_1"),
    features=("stft", "cochleagram"),
    n_jobs=2,
    force=False,
    verbose=True,
):
    """Run the comparison (or resume it) and write the report.

    Parameters
    ----------
    out_dir : str or Path, default="analysis"
        Where the report goes (``README.md``, ``results.csv``, figures, audio).
    cache_dir : str or Path, optional
        Where per-system results are kept between runs, in a folder per
        sksep version and settings hash. Default: ``$SKSEP_CACHE/compare`` or
        ``~/.cache/sksep/compare``. Results cached by the same version of
        sksep but different code (a development checkout that changed) are
        reused as they are: pass ``force=True`` after changing the code.
    quick : bool, default=False
        Tiny networks, two epochs, four test utterances: a smoke run for CI.
    settings : ComparisonSettings, optional
        Overrides ``quick``.
    networks, features : sequence of str
        Which networks and front ends to train.
    n_jobs : int, default=2
        Parallel jobs for scoring.
    force : bool, default=False
        Ignore cached work and recompute everything selected: the results of
        every system run, and for the selected networks their saved training
        state (so they train from epoch 1) and the cached features (the
        ``features`` folder of the cache, shared by all networks) are
        deleted first.
    verbose : bool, default=True
        Print progress.

    Returns
    -------
    results : pandas.DataFrame
        One row per system, test utterance and SNR.
    """
    settings = settings or (QUICK if quick else FULL)
    log = _Progress(verbose)
    if cache_dir is None:
        base = os.environ.get("SKSEP_CACHE") or Path.home() / ".cache" / "sksep"
        cache_dir = Path(base) / "compare"
    from . import __version__
    from .models import TrainingCheckpoint

    cache = Path(cache_dir) / __version__ / settings.key()
    (cache / "results").mkdir(parents=True, exist_ok=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kind = "quick" if settings == QUICK else "full" if settings == FULL else "custom"
    log(f"settings {settings.key()} ({kind}); cache {cache}")

    train, test = make_data(settings)
    log(
        f"data: {len(train)} training mixtures ({train.noisy.duration / 60:.1f} min), "
        f"{len(test)} test mixtures ({test.noisy.duration / 60:.1f} min) "
        f"at SNRs {list(settings.snrs)}"
    )
    unseen = conditions(test.meta["noise_kind"], settings.heldout_kinds) == "unseen"
    log(
        f"held out of training: {list(settings.heldout_kinds) or 'nothing'}; training noise "
        f"kinds {sorted(set(train.meta['noise_kind']))}; test mixtures {int((~unseen).sum())} "
        f"matched, {int(unseen.sum())} unseen"
    )

    from joblib import Memory

    if force and networks and features:
        # features computed by older code must not feed the networks trained now
        shutil.rmtree(cache / "features", ignore_errors=True)
    memory = Memory(str(cache / "features"), verbose=0)
    tables = {}
    extras = {}
    example = _example_index(test)

    def cached(name, compute):
        path = cache / "results" / f"{_slug(name)}.csv"
        meta_path = cache / "results" / f"{_slug(name)}.json"
        if path.exists() and meta_path.exists() and not force:
            log(f"{name}: cached")
            tables[name] = pd.read_csv(path)
            extras[name] = json.loads(meta_path.read_text())
            return
        t0 = time.perf_counter()
        table, info, example_out = compute()
        info["seconds"] = round(time.perf_counter() - t0, 1)
        _atomic_save_npz(cache / "results" / f"{_slug(name)}.npz", **example_out)
        atomic_write_text(meta_path, json.dumps(info))
        with atomic_path(path) as tmp:  # the CSV last: its presence marks the system done
            table.to_csv(tmp, index=False)
        tables[name] = table
        extras[name] = info
        log(
            f"{name}: STOI {table['stoi'].mean():.3f} (noisy {table['stoi_noisy'].mean():.3f}) "
            f"in {info['seconds']:.0f} s"
        )

    # unprocessed input and the non-learned baselines
    def passthrough():
        est = [np.asarray(y) for y in test.noisy]
        return _score(test, est, settings, n_jobs), {"kind": "reference"}, {
            "estimate": est[example]}

    cached("unprocessed", passthrough)

    for name, baseline in _baselines(settings).items():
        def run_baseline(baseline=baseline):
            baseline.fit(test.noisy)
            est = baseline.predict(test.noisy)
            return _score(test, est, settings, n_jobs), {"kind": "baseline"}, {
                "estimate": est[example]}

        cached(name, run_baseline)

    from .baselines import OracleMask

    for feature in features:
        def run_oracle(feature=feature, kind="irm"):
            oracle = OracleMask(_front_end(feature, settings), kind=kind).fit(test.noisy)
            est = oracle.predict(test.noisy, clean=test.clean)
            return _score(test, est, settings, n_jobs), {"kind": "oracle", "feature": feature}, {
                "estimate": est[example]}

        cached(f"oracle IRM, {feature}", run_oracle)
        cached(f"oracle IBM, {feature}", lambda feature=feature: run_oracle(feature, "ibm"))

    for feature in features:
        for network in networks:
            def run_network(network=network, feature=feature):
                enh = make_enhancer(network, feature, settings, memory=memory, verbose=verbose)
                # the training state of every epoch: an interrupted run resumes mid-system
                net = enh.estimator.steps[-1][1]
                training = cache / "training" / _slug(f"{network}, {feature}")
                if force:  # the saved state of older code must not be resumed
                    shutil.rmtree(training, ignore_errors=True)
                checkpoint = TrainingCheckpoint(training)
                net.set_params(callbacks=[*(net.callbacks or []), ("checkpoint", checkpoint)])
                log(f"training {network} on {feature} features ...")
                enh.fit(train.noisy, train.clean)
                fitted = dict(enh.estimator_.steps[-1][1].callbacks_)["checkpoint"]
                if fitted.resumed_epochs_:
                    log(f"  resumed after epoch {fitted.resumed_epochs_} ({fitted.run_dir_})")
                est = enh.predict(test.noisy)
                mask = enh.predict_mask([test.noisy[example]])[0]
                info = {
                    "kind": "network",
                    "network": network,
                    "feature": feature,
                    "history": _history(enh),
                }
                return _score(test, est, settings, n_jobs), info, {
                    "estimate": est[example], "mask": mask}

            cached(f"{network}, {feature}", run_network)

    results = pd.concat(
        [t.assign(system=name) for name, t in tables.items()], ignore_index=True
    )
    write_report(
        out, results, extras, test, example, settings, cache=cache,
        quick=settings == QUICK, log=log,
    )
    log(f"report written to {out}/README.md")
    return results


def _example_index(test):
    """The test mixture shown in figures: the first one at 0 dB (or nearest SNR)."""
    snr = np.asarray(test.snr_db, dtype=float)
    target = snr[np.argmin(np.abs(snr))]
    return int(np.flatnonzero(snr == target)[0])
