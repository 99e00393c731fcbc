"""Batch scoring speed and agreement: ``sksep.metrics.evaluate`` vs a plain pystoi + pesq loop.

Run ``python benchmarks/evaluation.py``. It mixes utterances of the bundled
sample (all speakers, train and test) with its noises at -5, 0 and 5 dB
(:func:`sksep.datasets.make_mixtures`, fixed seed), at 8 kHz, the original
project's rate, so that narrow-band PESQ needs no resampling and both sides
score exactly the same arrays. Then it times

- the reference: a sequential loop calling ``pystoi.stoi`` and
  ``pesq.pesq(8000, clean, noisy, "nb")`` directly, one utterance after the other,
  once as is and once with BLAS held to one thread (``threadpoolctl``), since
  on a busy machine numpy's threads can slow the loop down; the faster of the
  two is the reference of the headline ratio;
- ``evaluate(clean, noisy, sr, metrics=("stoi", "pesq"), n_jobs=N)`` with its
  worker processes already running (joblib keeps its loky workers between
  calls, so every call after the first in a session is like this);
- the same call from a cold start (workers shut down first, so their start and
  imports are paid inside the call), once;
- ``evaluate`` with ``n_jobs=1``, BLAS on one thread, once (the cost of
  sksep's checks over the loop).

The two loops and the warm ``evaluate`` call are timed one after the other,
``--repeat`` times. On a shared machine the load changes from second to second,
so the script reports the median of the per-round ratios (each round's three
timings see about the same load) besides the ratio of the fastest runs. It
prints the load average, the wall times, the speed ratios (the target on two
cores is at least 1.7) and the largest absolute difference between the values;
the exit status is 1 if the target is missed or the values disagree.
To tell whether the machine can show a speed-up at all, it first times a pure
Python busy loop run twice in sequence and once on two workers: on an idle
two-core machine that ratio is close to 2; on a saturated one (other jobs,
fair-share scheduling) it drops to about 1 and so will every ratio below.
With ``psutil`` installed it also prints the CPU seconds of the one-thread loop
and of each worker in the last warm call: their ratio is the speed-up the
parallel call reaches when it has the cores to itself, whatever else runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

TARGET = 1.7  # speed ratio, sequential loop / evaluate(n_jobs=2), on two cores


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


def _children_cpu():
    try:
        import psutil
    except ImportError:
        return None
    out = {}
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        out[child.pid] = times.user + times.system
    return out


def _busy(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def machine_check(n_jobs, n=4_000_000):
    """Speed-up of an embarrassingly parallel busy loop: what this machine allows right now."""
    from joblib import Parallel, delayed

    Parallel(n_jobs=n_jobs)(delayed(_busy)(10) for _ in range(n_jobs))  # workers up
    t0 = time.perf_counter()
    for _ in range(n_jobs):
        _busy(n)
    sequential = time.perf_counter() - t0
    t0 = time.perf_counter()
    Parallel(n_jobs=n_jobs)(delayed(_busy)(n) for _ in range(n_jobs))
    return sequential / (time.perf_counter() - t0)


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
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    from joblib.externals.loky import get_reusable_executor
    from threadpoolctl import threadpool_limits

    from sksep.metrics import evaluate

    clean, noisy = mixtures(args.n_utterances, args.sr)
    seconds = sum(len(c) for c in clean) / args.sr
    print(f"{len(clean)} utterances, {seconds:.0f} s of audio at {args.sr} Hz, "
          f"{os.cpu_count()} CPUs visible, n_jobs={args.n_jobs}, "
          f"load average {os.getloadavg()[0]:.1f} (other work on the machine skews times)")

    print(f"machine check, busy loop on {args.n_jobs} workers: speed ratio "
          f"{machine_check(args.n_jobs):.2f} (about {args.n_jobs} when the cores are free)")

    get_reusable_executor().shutdown(wait=True)
    t0 = time.perf_counter()
    table = evaluate(clean, noisy, args.sr, metrics=("stoi", "pesq"), n_jobs=args.n_jobs)
    t_cold = time.perf_counter() - t0

    times = {"loop": [], "loop1": [], "par": []}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ref_stoi, ref_pesq = reference_loop(clean, noisy, args.sr)
        times["loop"].append(time.perf_counter() - t0)
        with threadpool_limits(1):
            t0, c0 = time.perf_counter(), time.process_time()
            reference_loop(clean, noisy, args.sr)
            times["loop1"].append(time.perf_counter() - t0)
            cpu_loop1 = time.process_time() - c0
        before = _children_cpu()
        t0 = time.perf_counter()
        table = evaluate(clean, noisy, args.sr, metrics=("stoi", "pesq"), n_jobs=args.n_jobs)
        times["par"].append(time.perf_counter() - t0)
        after = _children_cpu()
    with threadpool_limits(1):
        t0 = time.perf_counter()
        table_seq = evaluate(clean, noisy, args.sr, metrics=("stoi", "pesq"), n_jobs=1)
        t_seq = time.perf_counter() - t0
    best = {key: min(value) for key, value in times.items()}
    t_ref = min(best["loop"], best["loop1"])
    rounds = np.minimum(times["loop"], times["loop1"]) / np.array(times["par"])

    n_failed = int(table["error"].notna().sum())
    diff_stoi = float(np.nanmax(np.abs(table["stoi"].to_numpy() - ref_stoi)))
    diff_pesq = float(np.nanmax(np.abs(table["pesq"].to_numpy() - ref_pesq)))
    diff_seq = float(np.nanmax(np.abs(
        table[["stoi", "pesq"]].to_numpy() - table_seq[["stoi", "pesq"]].to_numpy()
    )))

    j, r = args.n_jobs, args.repeat
    print(f"pystoi + pesq loop, sequential            (best of {r}): {best['loop']:7.2f} s")
    print(f"pystoi + pesq loop, sequential, 1 thread  (best of {r}): {best['loop1']:7.2f} s")
    print(f"evaluate(n_jobs={j}), workers running       (best of {r}): {best['par']:7.2f} s")
    print(f"evaluate(n_jobs={j}), cold start                 (once): {t_cold:7.2f} s")
    print(f"evaluate(n_jobs=1), 1 thread                    (once): {t_seq:7.2f} s")
    met = np.median(rounds) >= TARGET
    print(f"speed ratio loop / evaluate(n_jobs={j}), warm, median of rounds: "
          f"{np.median(rounds):.2f} (target >= {TARGET:g}: {'met' if met else 'NOT met'}); "
          "rounds: " + " ".join(f"{x:.2f}" for x in rounds))
    print(f"speed ratio fastest loop / fastest evaluate(n_jobs={j}): {t_ref / best['par']:.2f}")
    print(f"speed ratio fastest loop / cold evaluate(n_jobs={j}):    {t_ref / t_cold:.2f}")
    if after is not None:
        worker_cpu = sorted((after[p] - before.get(p, 0.0) for p in after), reverse=True)
        worker_cpu = [c for c in worker_cpu if c > 0.01]
        ratio = cpu_loop1 / worker_cpu[0] if worker_cpu else float("nan")
        print(f"CPU seconds, last round: one-thread loop {cpu_loop1:.2f}; workers "
              + " ".join(f"{c:.2f}" for c in worker_cpu)
              + f"; loop / busiest worker {ratio:.2f}")
    print(f"utterances with an error          : {n_failed}")
    print(f"max |STOI difference| vs loop     : {diff_stoi:.2e}")
    print(f"max |PESQ difference| vs loop     : {diff_pesq:.2e}")
    print(f"max |difference| n_jobs={j} vs 1    : {diff_seq:.2e}")
    print(f"mean STOI {table['stoi'].mean():.3f}, "
          f"mean PESQ (MOS-LQO, nb) {table['pesq'].mean():.3f}")
    agree = max(diff_stoi, diff_pesq, diff_seq) <= 1e-12 and n_failed == 0
    print(f"values agree with the loop: {'yes' if agree else 'NO'}")
    return 0 if met and agree else 1


if __name__ == "__main__":
    sys.exit(main())
