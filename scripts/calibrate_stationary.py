"""How far the comparison's recipe gets when the noise is easy and matched.

A ceiling check for the numbers in ``analysis/``: instead of the bundled
sample's real noise recordings (short, and different recordings in training
and test), each mixture gets a fresh draw of one synthetic stationary noise
family (``sksep.datasets.synthetic_noise``, white by default), the same family
in training and test. The script

1. mixes every training utterance of the bundled sample (8 kHz)
   ``--mixtures-per-utterance`` times with fresh noise draws at SNRs drawn
   from -5, -2, 0 and 5 dB (``sksep.datasets.make_mixtures``);
2. trains ``sksep.comparison.make_enhancer(NETWORK, FEATURE, FULL)``, the
   comparison's own network and settings;
3. mixes every test utterance (held-out speakers) with fresh noise of the same
   family at -5, 0 and 5 dB and prints, per SNR, the noisy STOI, the network's
   STOI gain, the oracle IRM's STOI gain (same front end), the fraction of it
   the network reaches, the noisy PESQ and the network's PESQ gain
   (narrow-band MOS-LQO).

If the network falls short of a quality target even here, the target is out
of reach of this recipe on this much speech whatever the noise; if it reaches
it here but not on the sample's recordings, the noise data is what limits it.
Measured (2 idle cores, seed 0): CNN_1 on cochleagram +0.101 STOI at 0 dB
(39 % of the oracle), DNN_0 on STFT +0.083 (29 %).

``--noise recordings`` uses the bundled sample's real **test** noise
recordings instead, in training and in test alike (other stretches of the
same recordings, which may overlap): the comparison's noise-disjoint split
forbids exactly this, so it bounds what the comparison's networks could reach
on its test split if they had heard its very noises. Measured (seed 0, 43
test utterances per SNR, 2026-12-07): DNN_0 on STFT +0.103 / +0.078 / +0.050
STOI and +0.15 / +0.31 / +0.48 PESQ at -5 / 0 / 5 dB (37 % of the oracle at
0 dB; ``--noise recordings``, 126 s), CNN_1 on cochleagram +0.051 / +0.044 /
+0.031 STOI and -0.01 / +0.09 / +0.18 PESQ (``--noise recordings --network
CNN_1 --feature cochleagram``, 206 s): even with the test noises heard, no
network reaches +0.10 STOI at 0 dB.

Run from the repository root::

    .venv/bin/python scripts/calibrate_stationary.py            # about 1 minute (CNN_1: 2)
    .venv/bin/python scripts/calibrate_stationary.py --quick    # a smoke test
"""

from __future__ import annotations

import argparse
import time

import numpy as np

SR = 8000
TRAIN_SNRS = (-5.0, -2.0, 0.0, 5.0)
TEST_SNRS = (-5.0, 0.0, 5.0)


def noise_draws(kind, n_draws, n_samples, rng):
    """``n_draws`` independent draws of the synthetic noise family ``kind``, ``n_samples`` each."""
    from sksep.datasets import synthetic_noise

    return [synthetic_noise(kind, n_samples, SR, rng=rng) for _ in range(n_draws)]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--network", default="DNN_0",
                        choices=["DNN_0", "DNN_1", "CNN_0", "CNN_1"])
    parser.add_argument("--feature", default="stft", choices=["stft", "cochleagram"])
    parser.add_argument("--noise", default="white",
                        choices=["white", "pink", "brown", "modulated", "hum", "recordings"],
                        help="synthetic noise family, or the sample's test noise recordings "
                             "in training and test (default: white)")
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
    from sksep.datasets import load_sample, make_mixtures
    from sksep.metrics import evaluate

    settings = comparison.QUICK if args.quick else comparison.FULL
    speech, sample_noise = load_sample(sr=SR)
    train_speech, test_speech = list(speech.train), list(speech.test)
    if args.quick:
        train_speech, test_speech = train_speech[::9][:12], test_speech[:3]
    rng = np.random.default_rng(args.seed)
    longest = max(len(y) for y in train_speech + test_speech)
    t0 = time.perf_counter()
    # make_mixtures cuts each mixture's noise from one of the draws at a random offset and
    # scales it to the SNR; about one draw per mixture keeps the noise fresh
    n_train = args.mixtures_per_utterance * len(train_speech)
    if args.noise == "recordings":  # the test split's recordings, in training and in test
        recordings = list(sample_noise.test)
        train_noise, test_noise = recordings, recordings
    else:
        train_noise = noise_draws(args.noise, n_train, longest, rng)
        test_noise = noise_draws(args.noise, len(test_speech), longest, rng)
    train = make_mixtures(train_speech, train_noise,
                          snr_db=list(TRAIN_SNRS), sr=SR, n_mixtures=n_train,
                          random_state=args.seed)
    enhancer = comparison.make_enhancer(args.network, args.feature, settings)
    enhancer.fit(list(train.noisy), list(train.clean))
    print(f"{args.network} on {args.feature}: trained on {len(train)} mixtures with {args.noise} "
          f"noise in {time.perf_counter() - t0:.0f} s", flush=True)

    test = make_mixtures(test_speech, test_noise,
                         snr_db=list(TEST_SNRS), sr=SR, snr_mode="all",
                         random_state=args.seed + 1)
    test_noisy, test_clean = list(test.noisy), list(test.clean)
    estimates = enhancer.predict(test_noisy)
    oracle = OracleMask(comparison._front_end(args.feature, settings)).fit(test_noisy)
    ceiling = oracle.predict(test_noisy, clean=test_clean)
    table = evaluate(test_clean, estimates, SR, metrics=["stoi", "pesq"], noisy=test_noisy,
                     n_jobs=args.n_jobs)
    table["oracle_stoi"] = evaluate(test_clean, ceiling, SR, metrics=["stoi"],
                                    n_jobs=args.n_jobs)["stoi"]
    table["snr_db"] = test.snr_db
    rows = []
    for snr, group in table.groupby("snr_db"):
        gain = (group["stoi"] - group["stoi_noisy"]).mean()
        oracle_gain = (group["oracle_stoi"] - group["stoi_noisy"]).mean()
        rows.append({"snr_db": snr, "n": len(group),
                     "stoi_noisy": round(group["stoi_noisy"].mean(), 3),
                     "stoi_gain": round(gain, 3), "oracle_stoi_gain": round(oracle_gain, 3),
                     "oracle_fraction": round(gain / oracle_gain, 3),
                     "pesq_noisy": round(group["pesq_noisy"].mean(), 2),
                     "pesq_gain": round((group["pesq"] - group["pesq_noisy"]).mean(), 2)})
    summary = pd.DataFrame(rows)
    print(summary.to_string(index=False))
    print(f"total {time.perf_counter() - t0:.0f} s")
    return summary


if __name__ == "__main__":
    main()
