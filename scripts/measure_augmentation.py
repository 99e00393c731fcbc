"""Measure what the training augmentations of ``sksep.datasets`` do on held-out data.

For each condition (no augmentation, ``SpectralTilt`` of speech and noise,
``SyntheticNoise`` added to the noise, ``Reverb`` of the speech, and all three
composed) the script:

1. mixes the bundled sample's training speech with training noise at 8 kHz
   (``make_mixtures(speech.train, noise.train, snr_db=[-5, -2, 0, 5],
   n_mixtures=2 * len(speech.train), random_state=0)``), the same mixtures
   for every condition;
2. applies the augmentation to each mixture's ``(clean, noise)`` with a
   generator seeded by ``(seed, mixture index)``, then **re-scales the noise
   to the mixture's drawn SNR** (whole-utterance energy ratio, as
   ``make_mixtures`` defines it) and re-forms ``noisy = clean + noise``, with
   ``make_mixtures``' clipping guard (one common gain when the peak exceeds
   0.99). The augmentations keep RMS already, so the re-scaling is a guard
   against drift, not a change of level;
3. trains one of the comparison's networks (DNN_0, the fastest of its
   cochleagram systems; CNN_1 there gains most),
   ``sksep.comparison.make_enhancer("DNN_0", "cochleagram", FULL)``, on it;
4. scores STOI and PESQ on the speaker- and noise-disjoint test split at -5, 0
   and 5 dB (``make_mixtures(speech.test, noise.test, snr_db=[-5, 0, 5],
   snr_mode="all", random_state=1)``), as gains over the unprocessed mixtures.

It prints one table: condition x SNR, STOI gain and PESQ gain (and the change
of each against no augmentation). One seeded run on a small sample: read the
differences as noisy evidence, not as a significance test.

Run from the repository root::

    .venv/bin/python scripts/measure_augmentation.py          # about 8-10 minutes
    .venv/bin/python scripts/measure_augmentation.py --quick  # a smoke test
"""

from __future__ import annotations

import argparse
import time

import numpy as np

SR = 8000
TRAIN_SNRS = [-5, -2, 0, 5]
TEST_SNRS = [-5, 0, 5]
CONDITIONS = ("none", "tilt", "synthetic", "reverb", "all")


def make_augmentation(name, sr=SR, max_order=3):
    """The augmentation of one condition (None for ``"none"``)."""
    from sksep.datasets import Compose, Reverb, SpectralTilt, SyntheticNoise

    tilt = SpectralTilt(sr=sr, max_db_per_octave=3.0, target="both")
    synth = SyntheticNoise(sr=sr, prob=0.5, mode="add")
    reverb = Reverb(sr=sr, rt60_range=(0.2, 0.6), prob=0.5, max_order=max_order)
    return {
        "none": None,
        "tilt": tilt,
        "synthetic": synth,
        "reverb": reverb,
        "all": Compose([tilt, synth, reverb]),
    }[name]


def augment_mixtures(train, augmentation, seed, peak=0.99):
    """Lists ``(noisy, clean)`` of the training mixtures after ``augmentation``."""
    noisy, clean = [], []
    snrs = np.asarray(train.snr_db, dtype=float)
    for i in range(len(train)):
        c, n = train.clean[i], train.noise[i]
        if augmentation is not None:
            c, n = augmentation(c, n, np.random.default_rng([seed, i]))
        c = c.astype(np.float64)
        n = n.astype(np.float64)
        e_c, e_n = np.sum(c ** 2), np.sum(n ** 2)
        if e_c > 0 and e_n > 0:
            n = n * np.sqrt(e_c / e_n / 10 ** (snrs[i] / 10))
        y = c + n
        top = np.max(np.abs(y))
        if peak is not None and top > peak:
            c, n = c * (peak / top), n * (peak / top)
        c, n = c.astype(np.float32), n.astype(np.float32)
        clean.append(c)
        noisy.append(c + n)
    return noisy, clean


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 24 training utterances, 4 test utterances, "
                             "the comparison's QUICK network settings, STOI only")
    parser.add_argument("--conditions", nargs="+", choices=CONDITIONS, default=list(CONDITIONS),
                        help="conditions to run (default: all five)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the augmentations")
    parser.add_argument("--max-order", type=int, default=3,
                        help="image-source order cap of Reverb (speed; default 3)")
    parser.add_argument("--no-pesq", action="store_true", help="score STOI only")
    parser.add_argument("--n-jobs", type=int, default=2, help="processes for scoring")
    args = parser.parse_args(argv)

    import pandas as pd

    from sksep import comparison
    from sksep.datasets import load_sample, make_mixtures
    from sksep.metrics import evaluate

    settings = comparison.QUICK if args.quick else comparison.FULL
    metrics = ("stoi",) if (args.quick or args.no_pesq) else ("stoi", "pesq")
    t0 = time.perf_counter()

    speech, noise = load_sample(sr=SR)
    train_speech, test_speech = speech.train, speech.test
    if args.quick:
        train_speech = train_speech[:: max(1, len(train_speech) // 24)][:24]
        test_speech = test_speech[:4]
    train = make_mixtures(train_speech, noise.train, snr_db=TRAIN_SNRS,
                          n_mixtures=2 * len(train_speech), random_state=0)
    test = make_mixtures(test_speech, noise.test, snr_db=TEST_SNRS, snr_mode="all",
                         random_state=1)
    print(f"{len(train)} training mixtures, {len(test)} test mixtures "
          f"({len(test_speech)} utterances x {len(TEST_SNRS)} SNRs)", flush=True)

    rows = []
    for name in args.conditions:
        aug = make_augmentation(name, max_order=args.max_order)
        t = time.perf_counter()
        noisy, clean = augment_mixtures(train, aug, args.seed)
        t_aug = time.perf_counter() - t
        enh = comparison.make_enhancer("DNN_0", "cochleagram", settings)
        enh.fit(noisy, clean)
        est = enh.predict(test.noisy)
        t_fit = time.perf_counter() - t - t_aug
        table = evaluate(test.clean, est, SR, metrics=metrics, noisy=test.noisy,
                         n_jobs=args.n_jobs)
        table["snr_db"] = np.asarray(test.snr_db, dtype=float)
        for m in metrics:
            table[f"{m}_gain"] = table[m] - table[f"{m}_noisy"]
        for snr, group in table.groupby("snr_db"):
            row = {"condition": name, "snr_db": snr}
            for m in metrics:
                row[f"{m}_gain"] = group[f"{m}_gain"].mean()
            rows.append(row)
        print(f"[{time.perf_counter() - t0:6.1f} s] {name}: augment {t_aug:.1f} s, "
              f"train+enhance {t_fit:.1f} s, augmentation={aug!r}", flush=True)

    result = pd.DataFrame(rows)
    if "none" in args.conditions:
        base = result[result.condition == "none"].set_index("snr_db")
        for m in metrics:
            result[f"{m}_gain_vs_none"] = result[f"{m}_gain"].to_numpy() - base.loc[
                result.snr_db, f"{m}_gain"].to_numpy()
    print()
    print("Mean gain over the unprocessed test mixtures (DNN_0, cochleagram), "
          "and its change against no augmentation:")
    with pd.option_context("display.float_format", "{:+.4f}".format, "display.width", 160):
        print(result.set_index(["condition", "snr_db"]).to_string())
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")
    return result


if __name__ == "__main__":
    main()
