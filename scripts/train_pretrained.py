"""Train (or only evaluate) the pretrained default model that ``sksep enhance`` uses.

Trains from the larger corpus that ``scripts/build_corpus.py`` builds (by
default in ``~/.cache/sksep/corpus``; ``--corpus sample`` uses the bundled
sample instead): mixtures are made on the fly by
:meth:`sksep.SpeechEnhancer.fit_stream` from the corpus's training speakers and
training noise kinds at random SNRs, augmented: by default half the noise
stretches are played 0.8-1.25 times as fast (``--augment speed``, the shipped
model; :class:`sksep.datasets.SpeedPerturb`); ``--augment speed-tilt`` then
also tilts the noise's spectrum by a random slope
(:class:`sksep.datasets.SpectralTilt`, ``--tilt-db``); ``--augment speed-synth``
instead replaces a share of the noise stretches (``--synthetic-prob``) by a
synthetic noise family (:class:`sksep.datasets.SyntheticNoise`); ``--augment mix`` first adds
another training noise recording (:class:`sksep.datasets.NoiseMix`, measured
no help); ``--augment all`` is random
gain, spectral tilt, synthetic noise families and reverberation (measured
worse), ``--augment none`` nothing; all seeded (see the model card).

It then scores the model on the corpus's **test speakers** (never heard in
training) at -5, 0 and 5 dB, separately for every noise kind of the test split:

* ``matched`` kinds: kinds the model trained on, test recordings it never heard;
* ``unseen`` kinds: kinds with no training recordings at all (leave-kind-out).

For each kind and SNR it reports STOI and PESQ before and after, the gains,
the oracle IRM's STOI gain on the same mixtures and the fraction of it that
the model reaches, writes the table as CSV (``--report``) and checks the
targets of the model card (every unseen kind improved in STOI and PESQ at
every SNR; >= 40 % of the oracle's STOI gain at -5 dB averaged over unseen
kinds; the model file at most 10 MB).

Run from the repository root::

    .venv/bin/python scripts/build_corpus.py          # once, about 2 min
    .venv/bin/python scripts/train_pretrained.py      # train, evaluate, save
    .venv/bin/python scripts/train_pretrained.py --evaluate sksep/data/default.sksep

Every choice is a flag. The shipped model is the defaults' run (``-o
stage1.sksep``) trained on from its weights with ``--init-from stage1.sksep
--lr 0.00005 --epochs 10`` (see the model card). After training, the mask
exponent with the best mean STOI on the validation mixtures is kept
(``--mask-exponent``).
Training saves its state after every epoch (``--checkpoint``, by default
``OUT.training`` next to the model file): run an interrupted command again and
it resumes from the last finished epoch (a
:class:`~sksep.models.TrainingCheckpoint`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from skorch.callbacks import Callback

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "sksep" / "data" / "default.sksep"
DEFAULT_REPORT = REPO / "docs" / "pretrained_results.csv"
MAX_BYTES = 10 * 10**6  # 10 MB (decimal, as the issue states it)
TARGET_ORACLE_FRACTION = 0.40
TEST_SNRS = (-5.0, 0.0, 5.0)
DEFAULT_CNN1_FILTERS = (24, 48, 96, 96, 96)  # twice CNN1's own widths


def build_enhancer(args):
    """The SpeechEnhancer to train, from the command-line settings."""
    from sklearn.pipeline import Pipeline

    from sksep import SpeechEnhancer
    from sksep.features import (
        CochleagramTransformer,
        ContextStacker,
        FrameStandardizer,
        NoiseAwareFeatures,
        STFTTransformer,
    )
    from sksep.models import (
        CNN0Regressor,
        CNN1Regressor,
        DNN0Regressor,
        DNN1Regressor,
        TrainingCheckpoint,
    )

    if args.features == "stft":
        front = STFTTransformer(sr=args.sr, n_fft=args.n_fft, hop_length=args.hop_length)
    else:
        front = CochleagramTransformer(sr=args.sr, hop_length=args.hop_length)
    common = {"max_epochs": args.epochs, "random_state": args.seed, "verbose": int(not args.quiet),
              "batch_size": args.batch_size, "lr": args.lr,
              "callbacks__lr_scheduler__gamma": args.lr_decay,
              "optimizer__weight_decay": args.weight_decay}
    steps = [("frontend", front)]
    if args.noise_aware != "none":
        steps.append(("noise_aware", NoiseAwareFeatures(quantile=args.noise_quantile,
                                                        mode=args.noise_aware)))
    if args.network in ("dnn0", "dnn1"):
        if args.context:
            steps.append(("context", ContextStacker(args.context)))
        steps.append(("standardize", FrameStandardizer()))
        cls = DNN0Regressor if args.network == "dnn0" else DNN1Regressor
        extra = {"module__dropout": args.dropout} if args.network == "dnn0" else {}
        net = cls(module__hidden_dim=args.hidden, module__n_layers=args.layers, **extra, **common)
    else:
        steps.append(("standardize", FrameStandardizer()))
        cls = CNN0Regressor if args.network == "cnn0" else CNN1Regressor
        filters = args.filters or (DEFAULT_CNN1_FILTERS if args.network == "cnn1" else None)
        extra = {"module__n_filters": tuple(filters)} if filters else {}
        net = cls(context=(args.context, args.context), **extra, **common)
    net.set_params(callbacks__early_stopping__patience=args.patience)
    callbacks = []
    if args.init_from is not None:
        callbacks.append(("init_from", StartFrom(args.init_from)))
    checkpoint = checkpoint_dir(args)
    if checkpoint is not None:
        callbacks.append(("checkpoint", TrainingCheckpoint(checkpoint,
                                                           metadata=run_metadata(args))))
    net.set_params(callbacks=callbacks)
    steps.append(("network", net))
    return SpeechEnhancer(Pipeline(steps))


class StartFrom(Callback):
    """Start training from the network weights of the model file ``path``.

    The weights are copied when a training begins; a resumed run (its
    ``TrainingCheckpoint`` runs after this callback) then restores its own.
    Optimizer, learning-rate schedule and history start anew: ``--lr`` sets
    where the learning rate starts.
    """

    def __init__(self, path):
        self.path = path

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        import sksep
        from sksep.exceptions import ParameterError

        source = sksep.load(self.path).estimator_.steps[-1][1].module_
        try:
            net.module_.load_state_dict(source.state_dict())
        except RuntimeError as err:
            raise ParameterError(
                f"--init-from {self.path}: its network does not match the one to train "
                f"(give the same network, features and sizes): {err}"
            ) from None


def drop_start_from(enhancer):
    """Leave ``StartFrom`` out of the model's settings: its weights are now the model's own."""
    for pipe in (enhancer.estimator, getattr(enhancer, "estimator_", None)):
        net = pipe.steps[-1][1] if pipe is not None else None
        if net is not None and net.callbacks:
            kept = [(name, cb) for name, cb in net.callbacks if not isinstance(cb, StartFrom)]
            net.callbacks = kept or None  # the attribute: set_params would rebuild callbacks_


MASK_EXPONENTS = (1.0, 1.25, 1.5, 1.75, 2.0)


def choose_mask_exponent(enhancer, valid, exponents=MASK_EXPONENTS, n_jobs=2, log=print):
    """The ``mask_exponent`` of ``exponents`` with the best mean STOI on ``valid`` mixtures.

    The network runs once; each exponent only reshapes its masks. Returns the
    best exponent and the mean STOI of each.
    """
    from sksep.metrics import evaluate

    enhancer.set_params(mask_exponent=1.0)
    masks = enhancer.predict_mask(valid.noisy)
    scores = {}
    for e in exponents:
        est = [enhancer.front_end_.apply_mask(y, m ** e) for y, m in zip(valid.noisy, masks)]
        scores[e] = float(evaluate(valid.clean, est, sr=valid.sr, metrics=("stoi",),
                                   n_jobs=n_jobs)["stoi"].mean())
    best = max(scores, key=scores.get)
    log("mask exponent on the validation mixtures (mean STOI): " + ", ".join(
        f"{e:g}: {v:.4f}" for e, v in scores.items()) + f" -> {best:g}")
    return best, scores


# settings that do not change what is trained (the network checks its own parameters)
_NOT_RUN_SETTINGS = ("out", "evaluate", "report", "gap", "threads", "quiet", "epochs",
                     "checkpoint", "test_utterances", "trained_kinds", "mask_exponent")


def checkpoint_dir(args):
    """Where training saves its state after every epoch (None: nowhere)."""
    if args.checkpoint is None:
        out = args.out or DEFAULT_OUT
        return out.with_name(out.name + ".training")
    if str(args.checkpoint).lower() == "none":
        return None
    return args.checkpoint


def finished(net, epochs):
    """Did the training run all ``epochs`` (or stop early on its own), rather than being cut?"""
    from skorch.callbacks import EarlyStopping

    history = net.history_
    complete = len(history) == epochs and "valid_loss" in history[-1]
    stopped = any(isinstance(cb, EarlyStopping) and getattr(cb, "misses_", 0) >= cb.patience
                  for _, cb in net.callbacks_)
    return complete or stopped


def run_metadata(args):
    """The settings of the data and its augmentation, which a resumed run must share."""
    return {k: str(v) for k, v in sorted(vars(args).items()) if k not in _NOT_RUN_SETTINGS}


def build_augment(args, noise_pool=None):
    """The augmentation chain applied to each streamed (speech, noise) pair.

    ``noise_pool`` (the training noise) is what ``--augment mix`` adds to the noise.
    """
    from sksep.datasets import (
        Compose,
        NoiseMix,
        RandomGain,
        Reverb,
        SpectralTilt,
        SpeedPerturb,
        SyntheticNoise,
    )

    if args.augment == "none":
        return None
    speed = SpeedPerturb(sr=args.sr, min_rate=args.min_rate, max_rate=args.max_rate,
                         prob=args.speed_prob)
    if args.augment == "speed":
        return speed
    if args.augment == "speed-tilt":
        return Compose([speed, SpectralTilt(sr=args.sr, max_db_per_octave=args.tilt_db,
                                            target="noise")])
    if args.augment == "speed-synth":
        return Compose([speed, SyntheticNoise(sr=args.sr, prob=args.synthetic_prob,
                                              mode="replace")])
    if args.augment == "mix":
        if noise_pool is None:
            raise ValueError("--augment mix needs the training noise as noise_pool")
        return Compose([NoiseMix(noise_pool, sr=args.sr, min_db=args.mix_min_db,
                                 max_db=args.mix_max_db, prob=args.mix_prob), speed])
    return Compose([
        RandomGain(-10.0, 10.0),
        SpectralTilt(sr=args.sr, max_db_per_octave=3.0, target="both"),
        SyntheticNoise(sr=args.sr, prob=args.synthetic_prob, mode="add"),
        Reverb(sr=args.sr, rt60_range=(0.2, 0.6), prob=args.reverb_prob, max_order=3),
    ])


def load_data(args):
    """Speech and noise Bunches (train/test) at ``args.sr`` from the chosen corpus.

    Training speakers matching a pattern of ``args.exclude_speakers`` are left
    out; a pattern that matches no training speaker is an error (a typo would
    otherwise change nothing without a word).
    """
    from sksep.datasets import load_corpus, load_sample

    if args.corpus == "sample":
        speech, noise = load_sample(sr=args.sr)
    else:
        speech, noise = load_corpus(args.corpus, sr=args.sr)
    if args.exclude_speakers:
        speech.train = drop_speakers(speech.train, args.exclude_speakers)
    return speech, noise


def drop_speakers(collection, patterns):
    """``collection`` without the utterances of speakers matching any fnmatch pattern."""
    from fnmatch import fnmatchcase

    from sksep.exceptions import ParameterError

    speakers = collection.column("speaker").astype(str)
    names = sorted(set(speakers))
    for pattern in patterns:
        if not any(fnmatchcase(name, pattern) for name in names):
            raise ParameterError(
                f"--exclude-speakers: {pattern!r} matches none of the training speakers {names}"
            )
    drop = np.array([any(fnmatchcase(s, p) for p in patterns) for s in speakers], dtype=bool)
    if drop.all():
        raise ParameterError(f"--exclude-speakers {','.join(patterns)} leaves no training speech")
    return collection.take(np.flatnonzero(~drop))


def test_mixtures(speech_test, noise_test, kind, n_utterances, seed):
    """Mixtures of test-speaker utterances with one kind's test noise at every test SNR."""
    from sksep.datasets import make_mixtures

    rng = np.random.default_rng(seed)
    speakers = speech_test.column("speaker")
    # the same number of utterances from every test speaker
    per = max(1, n_utterances // len(set(speakers)))
    pick = []
    for spk in sorted(set(speakers)):
        idx = np.flatnonzero(np.asarray(speakers) == spk)
        pick.extend(rng.choice(idx, size=min(per, len(idx)), replace=False).tolist())
    speech = speech_test.take(sorted(pick))
    return make_mixtures(speech, noise_test.where(kind=kind), snr_db=list(TEST_SNRS),
                         snr_mode="all", random_state=seed)


def score_mixtures(enhancer, mix, n_jobs):
    """Per mixture: STOI and PESQ (enhanced and noisy), the oracle IRM's STOI and the SNR."""
    from sksep.baselines import OracleMask
    from sksep.metrics import evaluate

    est = enhancer.predict(mix.noisy)
    oracle = OracleMask(enhancer.front_end_).fit(mix.noisy).predict(mix.noisy, mix.clean)
    t = evaluate(mix.clean, est, sr=mix.sr, metrics=("stoi", "pesq"), noisy=mix.noisy,
                 n_jobs=n_jobs)
    o = evaluate(mix.clean, oracle, sr=mix.sr, metrics=("stoi",), n_jobs=n_jobs)
    t["stoi_oracle"] = o["stoi"].to_numpy()
    t["snr_db"] = np.asarray(mix.snr_db)
    return t


def summarise(rows, keys):
    """Mean metrics per group of ``keys`` over the per-mixture tables ``rows``, with the gains."""
    import pandas as pd

    table = pd.concat(rows, ignore_index=True)
    cols = ["stoi_noisy", "stoi", "stoi_oracle", "pesq_noisy", "pesq"]
    summary = table.groupby(keys)[cols].mean()
    summary.insert(0, "n", table.groupby(keys).size())
    summary["stoi_gain"] = summary["stoi"] - summary["stoi_noisy"]
    summary["pesq_gain"] = summary["pesq"] - summary["pesq_noisy"]
    summary["oracle_stoi_gain"] = summary["stoi_oracle"] - summary["stoi_noisy"]
    summary["oracle_fraction"] = summary["stoi_gain"] / summary["oracle_stoi_gain"]
    return summary.reset_index()


def generalisation_table(enhancer, speech, noise, *, trained_kinds=None, n_utterances=24, seed=1,
                         n_jobs=2, log=print):
    """Per noise kind and SNR: metrics before/after, oracle IRM gain, matched or unseen.

    A kind is "matched" if it is in ``trained_kinds`` (default: the kinds of
    ``noise.train``), else "unseen".
    """
    trained = set(noise.train.meta["kind"]) if trained_kinds is None else set(trained_kinds)
    rows = []
    for kind in sorted(set(noise.test.meta["kind"])):
        mix = test_mixtures(speech.test, noise.test, kind, n_utterances, seed)
        t = score_mixtures(enhancer, mix, n_jobs)
        t["kind"] = kind
        t["condition"] = "matched" if kind in trained else "unseen"
        rows.append(t)
        log(f"  scored {kind} ({len(mix)} mixtures)")
    return summarise(rows, ["condition", "kind", "snr_db"])


def gap_table(enhancer, speech, noise, *, n_utterances=24, seed=1, n_jobs=2, log=print):
    """Where the generalisation gap is: speakers and noise recordings, seen or not.

    On the noise kinds the model trained on, scores four groups of mixtures at
    every test SNR: {training, test} speakers x {training, test} noise
    recordings. Training speakers and training recordings are mixed afresh
    (other segments, other SNR draws than in training), so the first cell is
    the matched condition and the others change one factor at a time.
    """
    from sksep.datasets import make_mixtures

    kinds = sorted(set(noise.train.meta["kind"]) & set(noise.test.meta["kind"]))
    rows = []
    for spk_split in ("train", "test"):
        for rec_split in ("train", "test"):
            spk = getattr(speech, spk_split)
            rec = getattr(noise, rec_split)
            rec = rec.take(np.flatnonzero(np.isin(rec.column("kind").astype(str), kinds)))
            rng = np.random.default_rng(seed)
            pick = np.sort(rng.choice(len(spk), size=min(n_utterances, len(spk)), replace=False))
            mix = make_mixtures(spk.take(pick), rec, snr_db=list(TEST_SNRS), snr_mode="all",
                                random_state=seed)
            t = score_mixtures(enhancer, mix, n_jobs)
            t["speakers"] = spk_split
            t["noise_recordings"] = rec_split
            rows.append(t)
            log(f"  scored {spk_split} speakers x {rec_split} noise recordings "
                f"({len(mix)} mixtures)")
    keys = ["speakers", "noise_recordings", "snr_db"]
    show = ["n", "stoi_noisy", "stoi_gain", "pesq_gain", "oracle_stoi_gain", "oracle_fraction"]
    return summarise(rows, keys)[keys + show]


def verdict(summary):
    """Print the model card's checks; True when all hold."""
    unseen = summary[summary["condition"] == "unseen"]
    if unseen.empty:
        print("no unseen kinds in the test split: the held-out checks cannot be made")
        return False
    means = summary.groupby(["condition", "snr_db"])[
        ["stoi_gain", "pesq_gain", "oracle_stoi_gain", "oracle_fraction"]].mean()
    print("\nmean over kinds:\n" + means.round(3).to_string())
    worse = unseen[(unseen["stoi_gain"] <= 0) | (unseen["pesq_gain"] <= 0)]
    for _, r in worse.iterrows():
        print(f"  not improved: {r['kind']} at {r['snr_db']:+.0f} dB "
              f"(STOI {r['stoi_gain']:+.3f}, PESQ {r['pesq_gain']:+.3f})")
    at_m5 = unseen[unseen["snr_db"] == -5.0]
    fraction = float(at_m5["stoi_gain"].sum() / at_m5["oracle_stoi_gain"].sum())
    mean_fraction = float(at_m5["oracle_fraction"].mean())
    ok_all = worse.empty
    ok_frac = mean_fraction >= TARGET_ORACLE_FRACTION
    print(f"every unseen kind improved in STOI and PESQ at every SNR: {'yes' if ok_all else 'NO'}")
    print(f"fraction of the oracle IRM's STOI gain at -5 dB, mean over unseen kinds: "
          f"{mean_fraction:.1%} (ratio of mean gains {fraction:.1%}; target >= "
          f"{TARGET_ORACLE_FRACTION:.0%}): {'ok' if ok_frac else 'BELOW TARGET'}")
    return ok_all and ok_frac


def _exponent(value):
    if value in ("auto", "validate"):
        return value
    try:
        x = float(value)
    except ValueError:
        x = float("nan")
    if not np.isfinite(x) or x <= 0:
        raise argparse.ArgumentTypeError(
            f"expected 'auto', 'validate' or a positive number, got {value!r}")
    return x


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--out", type=Path, default=None,
                   help=f"model file to write (default: {DEFAULT_OUT}; with --evaluate: none)")
    p.add_argument("--evaluate", type=Path, metavar="MODEL",
                   help="only score this model file (no training)")
    p.add_argument("--corpus", default=None,
                   help="corpus folder (default: $SKSEP_CORPUS or ~/.cache/sksep/corpus), "
                        "or 'sample' for the bundled sample")
    p.add_argument("--report", type=Path, default=DEFAULT_REPORT,
                   help=f"CSV of the held-out table (default: {DEFAULT_REPORT})")
    p.add_argument("--exclude-speakers", type=lambda v: [x for x in v.split(",") if x],
                   default=[], metavar="PATTERNS",
                   help="comma-separated training speakers to leave out, shell patterns "
                   "allowed (e.g. 'klettres-*,fish-m')")
    p.add_argument("--network", choices=["dnn0", "dnn1", "cnn0", "cnn1"], default="cnn1")
    p.add_argument("--features", choices=["stft", "cochleagram"], default="cochleagram")
    p.add_argument("--sr", type=int, default=16000)
    p.add_argument("--n-fft", type=int, default=512)
    p.add_argument("--hop-length", type=int, default=256)
    p.add_argument("--context", type=int, default=7, help="frames of context on each side")
    p.add_argument("--hidden", type=int, default=512, help="hidden width of the DNNs")
    p.add_argument("--layers", type=int, default=3, help="hidden layers of the DNNs")
    p.add_argument("--filters", type=int, nargs="+", default=None, metavar="N",
                   help="filters of the CNN's convolutions (4 for cnn0, 5 for cnn1; "
                        "default: 24 48 96 96 96 for cnn1, twice its own, the network's "
                        "own for cnn0)")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--noise-aware", choices=["none", "append", "subtract"], default="append",
                   help="give each frame the utterance's noise-floor estimate (NoiseAwareFeatures)")
    p.add_argument("--noise-quantile", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=48)
    p.add_argument("--items-per-epoch", type=int, default=600,
                   help="mixtures made per epoch (fresh draws every epoch)")
    p.add_argument("--patience", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4, help="Adam's L2 penalty")
    p.add_argument("--lr-decay", type=float, default=0.97, help="lr factor per epoch")
    p.add_argument("--snr-min", type=int, default=-5)
    p.add_argument("--snr-max", type=int, default=5)
    p.add_argument("--augment",
                   choices=["all", "speed", "speed-tilt", "speed-synth", "mix", "none"],
                   default="speed",
                   help="augment each (speech, noise) pair: 'speed' plays the noise 0.8-1.25x "
                   "as fast (the shipped model), 'speed-tilt' then tilts the noise's spectrum "
                   "by a random slope (SpectralTilt), 'speed-synth' then replaces a share "
                   "(--synthetic-prob) of the noise stretches by a synthetic noise family "
                   "(SyntheticNoise), 'mix' first adds another training noise "
                   "recording to the noise (NoiseMix), then does the same, 'all' is gain, "
                   "tilt, synthetic noise and reverberation (default: speed)")
    p.add_argument("--mix-prob", type=float, default=0.5,
                   help="--augment mix: share of noise stretches given a second recording")
    p.add_argument("--mix-min-db", type=float, default=-6.0,
                   help="--augment mix: lowest level of the added recording, dB re the noise")
    p.add_argument("--mix-max-db", type=float, default=6.0,
                   help="--augment mix: highest level of the added recording, dB re the noise")
    p.add_argument("--speed-prob", type=float, default=0.5,
                   help="--augment speed: share of noise stretches played faster or slower")
    p.add_argument("--min-rate", type=float, default=0.8, help="--augment speed: slowest rate")
    p.add_argument("--max-rate", type=float, default=1.25, help="--augment speed: fastest rate")
    p.add_argument("--tilt-db", type=float, default=3.0,
                   help="--augment speed-tilt: steepest noise tilt, dB per octave either way")
    p.add_argument("--synthetic-prob", type=float, default=0.3,
                   help="--augment speed-synth and all: share of noise stretches given a "
                   "synthetic noise family")
    p.add_argument("--reverb-prob", type=float, default=0.2)
    p.add_argument("--valid-utterances", type=int, default=40)
    p.add_argument("--trained-kinds", type=lambda v: v.split(","), default=None,
                   help="comma-separated noise kinds the model trained on (default: the corpus's "
                        "training kinds); the other test kinds count as unseen")
    p.add_argument("--test-utterances", type=int, default=24,
                   help="test utterances per noise kind (split evenly over the test speakers)")
    p.add_argument("--gap", type=Path, metavar="CSV",
                   help="also score training vs test speakers x training vs test noise "
                        "recordings (matched kinds) and write that table here")
    p.add_argument("--checkpoint", type=Path, metavar="DIR",
                   help="folder where training saves its state after every epoch; an "
                        "interrupted run given the same folder (and settings) resumes from "
                        "it, a finished one is restored without training, and a larger "
                        "--epochs trains on (default: OUT.training next to -o; 'none': "
                        "save nothing)")
    p.add_argument("--mask-exponent", default="auto", type=_exponent,
                   metavar="{auto,validate,X}",
                   help="power applied to the estimated masks (SpeechEnhancer.mask_exponent); "
                   "validate: the best of "
                   f"{', '.join(f'{e:g}' for e in MASK_EXPONENTS)} by mean STOI on the "
                   "validation mixtures; auto: validate after training, the model file's own "
                   "with --evaluate (where -o then saves the model with the exponent used)")
    p.add_argument("--init-from", type=Path, metavar="MODEL", default=None,
                   help="start from the network weights of this model file (same network and "
                   "sizes); optimizer and lr schedule start anew from --lr")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0,
                   help="torch threads (default: torch's choice; 1 is faster on a busy machine)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no epoch table (by default skorch prints one row per epoch)")
    args = p.parse_args(argv)
    if args.filters is not None:
        n_convs = {"cnn0": 4, "cnn1": 5}.get(args.network)
        if n_convs is None:
            p.error(f"--filters sets the widths of the CNNs; --network {args.network} has none")
        if len(args.filters) != n_convs:
            p.error(f"--filters needs {n_convs} widths for --network {args.network}, "
                    f"got {len(args.filters)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    save_to = args.out if args.evaluate is not None else (args.out or DEFAULT_OUT)

    import torch

    import sksep
    from sksep.datasets import make_mixtures
    from sksep.exceptions import ParameterError

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    enhancer = None
    if args.evaluate is not None:
        enhancer = sksep.load(args.evaluate)
        args.sr = enhancer.sr_  # score at the model's rate; the corpus is decoded once, at it
    speech, noise = load_data(args)
    print(f"corpus: {len(speech.train)} training utterances "
          f"({sum(speech.train.durations) / 60:.1f} min, speakers "
          f"{', '.join(sorted(set(speech.train.column('speaker'))))}); "
          f"training noise kinds {', '.join(sorted(set(noise.train.meta['kind'])))}; "
          f"test speakers {', '.join(sorted(set(speech.test.column('speaker'))))}", flush=True)

    valid = None
    if enhancer is None or args.mask_exponent == "validate":
        # a fixed validation set: training speakers, training noise, other draws
        valid = make_mixtures(speech.train, noise.train,
                              snr_db=list(range(args.snr_min, args.snr_max + 1)),
                              n_mixtures=args.valid_utterances, random_state=args.seed + 7)
    if enhancer is None:
        enhancer = build_enhancer(args)
        try:
            enhancer.fit_stream(
                speech.train, noise.train, snr_db=list(range(args.snr_min, args.snr_max + 1)),
                n_items=args.items_per_epoch, augment=build_augment(args, noise.train),
                valid=(valid.noisy, valid.clean), random_state=args.seed,
            )
        except ParameterError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            where = checkpoint_dir(args)
            print(f"\ninterrupted: finished epochs, if any, are saved in {where}; run the "
                  "same command again to resume", file=sys.stderr)
            return 130
        net = enhancer.estimator_.steps[-1][1]
        if not finished(net, args.epochs):  # Ctrl-C without a checkpoint: skorch ends quietly
            print("\ninterrupted: nothing was saved (--checkpoint none)", file=sys.stderr)
            return 130
        resumed = getattr(dict(net.callbacks_).get("checkpoint"), "resumed_epochs_", 0)
        if resumed:
            print(f"resumed after epoch {resumed} from {checkpoint_dir(args)}")
        print(f"trained {len(net.history_)} epochs in {time.perf_counter() - t0:.0f} s "
              f"(best valid_loss {min(net.history_[:, 'valid_loss']):.4f})", flush=True)
        if args.mask_exponent == "auto":
            args.mask_exponent = "validate"

    if args.mask_exponent == "validate":
        enhancer.set_params(mask_exponent=choose_mask_exponent(enhancer, valid)[0])
    elif args.mask_exponent != "auto":
        enhancer.set_params(mask_exponent=args.mask_exponent)
    print(f"mask exponent {enhancer.mask_exponent:g}")
    print("scoring the test speakers on every test noise kind ...", flush=True)
    summary = generalisation_table(enhancer, speech, noise, trained_kinds=args.trained_kinds,
                                   n_utterances=args.test_utterances, seed=args.seed + 1)
    show = ["condition", "kind", "snr_db", "n", "stoi_noisy", "stoi_gain", "pesq_noisy",
            "pesq_gain", "oracle_stoi_gain", "oracle_fraction"]
    print(summary[show].round(3).to_string(index=False))
    ok = verdict(summary)
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        summary[show].round(3).to_csv(args.report, index=False)
        print(f"wrote {args.report}")

    if args.gap is not None:
        print("scoring seen and unseen speakers x seen and unseen noise recordings ...", flush=True)
        gap = gap_table(enhancer, speech, noise, n_utterances=args.test_utterances,
                        seed=args.seed + 1)
        print(gap.round(3).to_string(index=False))
        args.gap.parent.mkdir(parents=True, exist_ok=True)
        gap.round(3).to_csv(args.gap, index=False)
        print(f"wrote {args.gap}")

    status = 0 if ok else 1
    if save_to is not None:
        drop_start_from(enhancer)
        path = sksep.save(enhancer, save_to)
        size = path.stat().st_size
        print(f"saved {path} ({size / 1e6:.2f} MB, limit {MAX_BYTES / 1e6:.0f} MB)")
        if args.evaluate is None and checkpoint_dir(args) is not None:
            print(f"the training state stays in {checkpoint_dir(args)} (a larger --epochs "
                  "trains on from it; delete it when done)")
        if size > MAX_BYTES:
            print("error: the model file is larger than 10 MB", file=sys.stderr)
            status = 1
    print(f"total {time.perf_counter() - t0:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
