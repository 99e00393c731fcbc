"""How far the comparison's recipe gets when the noise is easy and matched.

A ceiling check for the numbers in ``analysis/``: instead of the bundled
sample's real noise recordings (short, and different recordings in training
and test), each mixture gets a fresh draw of one synthetic stationary noise
family (``sksep.datasets.synthetic_noise``, white by default), the same family
in training and test. The script

1. mixes every training utterance of the bundled sample (8 kHz) with
   ``--mixtures-per-utterance`` fresh noise draws at SNRs drawn from
   -5, -2, 0 and 5 dB (whole-utterance energy ratio, as ``make_mixtures``);
2. trains ``sksep.comparison.make_enhancer(NETWORK, FEATURE, FULL)``, the
   comparison's own network and settings;
3. mixes every test utterance (held-out speakers) with fresh noise of the same
   family at -5, 0 and 5 dB and prints, per SNR, the noisy STOI, the network's
   STOI gain, the oracle IRM's STOI gain (same front end) and the fraction of
   it the network reaches.

If the network falls short of a quality target even here, the target is out
of reach of this recipe on this much speech whatever the noise; if it reaches
it here but not on the sample's recordings, the noise data is what limits it.
Measured (2 cores): CNN_1 on cochleagram +0.106 STOI at 0 dB (41 % of the
oracle), DNN_0 on STFT +0.084 (29 %).

Run from the repository root::

    .venv/bin/python scripts/calibrate_stationary.py            # about 2 minutes
    .venv/bin/python scripts/calibrate_stationary.py --quick    # a smoke test
"""

from __future__ import annotations

import argparse
import time

import numpy as np

SR = 8000
TRAIN_SNRS = (-5.0, -2.0, 0.0, 5.0)
TEST_SNRS = (-5.0, 0.0, 5.0)


def mix_with_synthetic(utterances, kind, snrs, rng, draw_snr=True):
    """``(noisy, clean, snr_db)`` lists: each utterance plus a fresh ``kind`` noise draw.

    With ``draw_snr`` each mixture's SNR is drawn from ``snrs``; otherwise
    ``snrs`` holds one SNR per utterance.
    """
    from sksep.datasets import synthetic_noise

    noisy, clean, levels = [], [], []
    for i, y in enumerate(utterances):
        y = np.asarray(y, dtype=np.float64)
        snr = float(snrs[rng.integers(len(snrs))] if draw_snr else snrs[i])
        n = synthetic_noise(kind, len(y), SR, rng=rng).astype(np.float64)
        n *= np.sqrt(np.mean(y ** 2) / 10 ** (snr / 10))  # unit-RMS noise to the SNR
        x = y + n
        top = np.max(np.abs(x))
        if top > 0.99:  # make_mixtures' clipping guard: one gain for both
            y, x = y * (0.99 / top), x * (0.99 / top)
        noisy.append(x.astype(np.float32))
        clean.append(y.astype(np.float32))
        levels.append(snr)
    return noisy, clean, levels


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--network", default="DNN_0",
                        choices=["DNN_0", "DNN_1", "CNN_0", "CNN_1"])
    parser.add_argument("--feature", default="stft", choices=["stft", "cochleagram"])
    parser.add_argument("--noise", default="white",
                        choices=["white", "pink", "brown", "modulated", "hum"],
                        help="synthetic noise family (default: white)")
    parser.add_argument("--mixtures-per-utterance", type=int, default=2,
                        help="training mixtures per training utterance (the comparison uses 2)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 12 training utterances (each mixed "
                             "--mixtures-per-utterance times), 3 test utterances, the "
                             "comparison's QUICK network settings")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=2, help="processes for scoring")
    args = parser.parse_args(argv)
    if args.mixtures_per_utterance < 1:
        parser.error("--mixtures-per-utterance must be at least 1")

    import pandas as pd

    from sksep import comparison
    from sksep.baselines import OracleMask
    from sksep.datasets import load_sample
    from sksep.metrics import evaluate

    settings = comparison.QUICK if args.quick else comparison.FULL
    speech, _ = load_sample(sr=SR)
    train_speech, test_speech = list(speech.train), list(speech.test)
    if args.quick:
        train_speech, test_speech = train_speech[::9][:12], test_speech[:3]
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    noisy, clean, _ = mix_with_synthetic(
        train_speech * args.mixtures_per_utterance, args.noise, TRAIN_SNRS, rng)
    enhancer = comparison.make_enhancer(args.network, args.feature, settings)
    enhancer.fit(noisy, clean)
    print(f"{args.network} on {args.feature}: trained on {len(noisy)} mixtures with {args.noise} "
          f"noise in {time.perf_counter() - t0:.0f} s", flush=True)

    snrs = [snr for snr in TEST_SNRS for _ in test_speech]
    test_noisy, test_clean, _ = mix_with_synthetic(
        test_speech * len(TEST_SNRS), args.noise, snrs, rng, draw_snr=False)
    estimates = enhancer.predict(test_noisy)
    oracle = OracleMask(comparison._front_end(args.feature, settings)).fit(test_noisy)
    ceiling = oracle.predict(test_noisy, clean=test_clean)
    table = evaluate(test_clean, estimates, SR, metrics=["stoi"], noisy=test_noisy,
                     n_jobs=args.n_jobs)
    table["oracle_stoi"] = evaluate(test_clean, ceiling, SR, metrics=["stoi"],
                                    n_jobs=args.n_jobs)["stoi"]
    table["snr_db"] = snrs
    rows = []
    for snr, group in table.groupby("snr_db"):
        gain = (group["stoi"] - group["stoi_noisy"]).mean()
        oracle_gain = (group["oracle_stoi"] - group["stoi_noisy"]).mean()
        rows.append({"snr_db": snr, "n": len(group),
                     "stoi_noisy": round(group["stoi_noisy"].mean(), 3),
                     "stoi_gain": round(gain, 3), "oracle_stoi_gain": round(oracle_gain, 3),
                     "oracle_fraction": round(gain / oracle_gain, 3)})
    summary = pd.DataFrame(rows)
    print(summary.to_string(index=False))
    print(f"total {time.perf_counter() - t0:.0f} s")
    return summary


if __name__ == "__main__":
    main()
