"""Batch scoring speed and agreement: ``sksep.metrics.evaluate`` vs a plain pystoi + pesq loop.

Run ``python benchmarks/evaluation.py``. It mixes utterances of the bundled
sample (all speakers, train and test) with its noises at -5, 0 and 5 dB
(:func:`sksep.datasets.make_mixtures`, fixed seed), at 8 kHz, the original
project's rate, so that narrow-band PESQ needs no resampling and both sides
score exactly the same arrays. Then it times

- the reference: a sequential loop calling ``pystoi.stoi`` and
  ``pesq.pesq(8000, clean, noisy, "nb")`` directly, one utterance after the other;
- ``evaluate(clean, noisy, sr, metrics=("stoi", "pesq"), n_jobs=N)`` with its
  worker processes already running (joblib keeps its loky workers between
  calls, so every call after the first in a session is like this);
- the same call from a cold start (workers shut down first, so their start and
  imports are paid inside the call), once;
- ``evaluate`` with ``n_jobs=1`` (the cost of sksep's checks over the loop).

Loop and warm ``evaluate`` are timed ``--repeat`` times, alternating, and the
fastest of each is kept (as ``timeit`` does: on a shared machine the minimum is
the least disturbed run). It prints the wall times, the speed ratios loop /
evaluate (the target on two cores is at least 1.7) and the largest absolute
difference between the values.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def mixtures(n, sr):
    from sksep.datasets import AudioCollection, load_sample, make_mixtures

    speech, noise = load_sample(sr=sr)
    mixed = make_mixtures(
        AudioCollection.concat([speech.train, speech.test]),
        AudioCollection.concat([noise.train, noise.test]),
        snr_db=[-5.0, 0.0, 5.0],
        n_mixtures=n,
        random_state=0,
    )
    return mixed.clean.to_list(), mixed.noisy.to_list()


def reference_loop(clean, noisy, sr):
    import pesq
    import pystoi

    stoi = [pystoi.stoi(c, y, sr) for c, y in zip(clean, noisy, strict=True)]
    mos = [pesq.pesq(sr, c, y, "nb") for c, y in zip(clean, noisy, strict=True)]
    return np.array(stoi), np.array(mos)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-utterances", type=int, default=100)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--sr", type=int, default=8000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from joblib.externals.loky import get_reusable_executor

    from sksep.metrics import evaluate

    clean, noisy = mixtures(args.n_utterances, args.sr)
    seconds = sum(len(c) for c in clean) / args.sr
    print(f"{len(clean)} utterances, {seconds:.0f} s of audio at {args.sr} Hz, "
          f"{os.cpu_count()} CPUs visible, n_jobs={args.n_jobs}")

    get_reusable_executor().shutdown(wait=True)
    t0 = time.perf_counter()
    table = evaluate(clean, noisy, args.sr, metrics=("stoi", "pesq"), n_jobs=args.n_jobs)
    t_cold = time.perf_counter() - t0

    t_loop, t_par = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ref_stoi, ref_pesq = reference_loop(clean, noisy, args.sr)
        t_loop.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        table = evaluate(clean, noisy, args.sr, metrics=("stoi", "pesq"), n_jobs=args.n_jobs)
        t_par.append(time.perf_counter() - t0)
    t_loop, t_par = min(t_loop), min(t_par)

    t0 = time.perf_counter()
    table_seq = evaluate(clean, noisy, args.sr, metrics=("stoi", "pesq"), n_jobs=1)
    t_seq = time.perf_counter() - t0

    n_failed = int(table["error"].notna().sum())
    diff_stoi = float(np.nanmax(np.abs(table["stoi"].to_numpy() - ref_stoi)))
    diff_pesq = float(np.nanmax(np.abs(table["pesq"].to_numpy() - ref_pesq)))
    diff_seq = float(np.nanmax(np.abs(
        table[["stoi", "pesq"]].to_numpy() - table_seq[["stoi", "pesq"]].to_numpy()
    )))

    j = args.n_jobs
    print(f"pystoi + pesq loop, sequential (best of {args.repeat})   : {t_loop:7.2f} s")
    print(f"evaluate(n_jobs={j}), workers running (best of {args.repeat}): {t_par:7.2f} s")
    print(f"evaluate(n_jobs={j}), cold start (once)             : {t_cold:7.2f} s")
    print(f"evaluate(n_jobs=1)                                : {t_seq:7.2f} s")
    print(f"speed ratio loop / evaluate(n_jobs={j}), warm : {t_loop / t_par:.2f} (target >= 1.7)")
    print(f"speed ratio loop / evaluate(n_jobs={j}), cold : {t_loop / t_cold:.2f}")
    print(f"utterances with an error          : {n_failed}")
    print(f"max |STOI difference| vs loop     : {diff_stoi:.2e}")
    print(f"max |PESQ difference| vs loop     : {diff_pesq:.2e}")
    print(f"max |difference| n_jobs={j} vs 1    : {diff_seq:.2e}")
    print(f"mean STOI {table['stoi'].mean():.3f}, "
          f"mean PESQ (MOS-LQO, nb) {table['pesq'].mean():.3f}")
    return t_loop / t_par, t_loop / t_cold


if __name__ == "__main__":
    main()
