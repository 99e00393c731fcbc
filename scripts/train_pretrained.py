"""Train the pretrained default model that ``sksep enhance`` uses without ``--model``.

Trains on the bundled sample's training split (every training utterance mixed
with training noise at random SNRs, a few mixtures per utterance, all seeded),
scores the result on the speaker- and noise-disjoint test split at -5, 0 and
5 dB (STOI and PESQ before and after), and saves the model to the package data
path (``sksep/data/default.sksep``) unless ``-o`` says otherwise.

Run from the repository root::

    .venv/bin/python scripts/train_pretrained.py

Every choice is a flag (network, widths, context, epochs, SNRs, mixtures, seed),
so the same script retrains the default on a larger corpus later.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "sksep" / "data" / "default.sksep"
MAX_BYTES = 10 * 2**20
TARGET_STOI_GAIN_0DB = 0.08


def build_enhancer(args):
    """The SpeechEnhancer to train, from the command-line settings."""
    from sklearn.pipeline import Pipeline

    from sksep import SpeechEnhancer
    from sksep.features import (
        CochleagramTransformer,
        ContextStacker,
        FrameStandardizer,
        STFTTransformer,
    )
    from sksep.models import CNN0Regressor, CNN1Regressor, DNN0Regressor, DNN1Regressor

    if args.features == "stft":
        front = STFTTransformer(sr=args.sr, n_fft=args.n_fft, hop_length=args.hop_length)
    else:
        front = CochleagramTransformer(sr=args.sr, hop_length=args.hop_length)
    common = {"max_epochs": args.epochs, "random_state": args.seed, "verbose": int(args.verbose),
              "batch_size": args.batch_size, "lr": args.lr}
    steps = [("frontend", front)]
    if args.network in ("dnn0", "dnn1"):
        if args.context:
            steps.append(("context", ContextStacker(args.context)))
        steps.append(("standardize", FrameStandardizer()))
        if args.network == "dnn0":
            net = DNN0Regressor(module__hidden_dim=args.hidden, module__n_layers=args.layers,
                                module__dropout=args.dropout, **common)
        else:
            net = DNN1Regressor(module__hidden_dim=args.hidden, module__n_layers=args.layers,
                                **common)
    else:
        steps.append(("standardize", FrameStandardizer()))
        cls = CNN0Regressor if args.network == "cnn0" else CNN1Regressor
        net = cls(context=(args.context, args.context), **common)
    net.set_params(callbacks__early_stopping__patience=args.patience)
    steps.append(("network", net))
    return SpeechEnhancer(Pipeline(steps))


def score_table(enhancer, test):
    """Mean STOI / PESQ of noisy and enhanced test mixtures, per SNR."""
    from sksep.metrics import evaluate

    enhanced = enhancer.predict(test.noisy)
    table = evaluate(test.clean, enhanced, sr=test.sr, metrics=("stoi", "pesq"),
                     noisy=test.noisy, n_jobs=2)
    table["snr_db"] = np.asarray(test.snr_db)
    summary = table.groupby("snr_db")[["stoi_noisy", "stoi", "pesq_noisy", "pesq"]].mean()
    summary["stoi_gain"] = summary["stoi"] - summary["stoi_noisy"]
    summary["pesq_gain"] = summary["pesq"] - summary["pesq_noisy"]
    return summary


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    p.add_argument("--network", choices=["dnn0", "dnn1", "cnn0", "cnn1"], default="dnn0")
    p.add_argument("--features", choices=["stft", "cochleagram"], default="stft")
    p.add_argument("--sr", type=int, default=16000)
    p.add_argument("--n-fft", type=int, default=512)
    p.add_argument("--hop-length", type=int, default=256)
    p.add_argument("--context", type=int, default=2, help="frames of context on each side")
    p.add_argument("--hidden", type=int, default=256, help="hidden width of the DNNs")
    p.add_argument("--layers", type=int, default=3, help="hidden layers of the DNNs")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--snr-min", type=int, default=-5)
    p.add_argument("--snr-max", type=int, default=5)
    p.add_argument("--mixtures", type=int, default=2, help="training mixtures per utterance")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--test-snrs", type=float, nargs="+", default=[-5.0, 0.0, 5.0])
    p.add_argument("-v", "--verbose", action="store_true", help="print skorch's epoch table")
    args = p.parse_args(argv)

    import torch

    import sksep
    from sksep.datasets import load_sample, make_mixtures

    torch.set_num_threads(max(1, torch.get_num_threads()))
    t0 = time.perf_counter()
    speech, noise = load_sample(sr=args.sr)
    train = make_mixtures(
        speech.train, noise.train, snr_db=list(range(args.snr_min, args.snr_max + 1)),
        n_mixtures=args.mixtures * len(speech.train), random_state=args.seed,
    )
    test = make_mixtures(speech.test, noise.test, snr_db=args.test_snrs, snr_mode="all",
                         random_state=args.seed + 1)
    print(f"training on {len(train)} mixtures ({sum(train.clean.durations) / 60:.1f} min), "
          f"testing on {len(test)} (speaker- and noise-disjoint)", flush=True)
    enhancer = build_enhancer(args)
    enhancer.fit(train.noisy, train.clean)
    net = enhancer.estimator_.steps[-1][1]
    t_train = time.perf_counter() - t0
    print(f"trained {len(net.history_)} epochs in {t_train:.0f} s "
          f"(best valid_loss {min(net.history_[:, 'valid_loss']):.4f})", flush=True)

    summary = score_table(enhancer, test)
    print(summary.round(3).to_string())
    gain = float(summary.loc[0.0, "stoi_gain"]) if 0.0 in summary.index else float("nan")
    ok = gain >= TARGET_STOI_GAIN_0DB
    print(f"STOI gain at 0 dB: {gain:+.3f} (target >= +{TARGET_STOI_GAIN_0DB}): "
          f"{'ok' if ok else 'BELOW TARGET'}")

    path = sksep.save(enhancer, args.out)
    size = path.stat().st_size
    print(f"saved {path} ({size / 2**20:.2f} MB, limit {MAX_BYTES / 2**20:.0f} MB); "
          f"total {time.perf_counter() - t0:.0f} s")
    if size > MAX_BYTES:
        print("error: the model file is larger than 10 MB", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
