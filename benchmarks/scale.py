"""Corpus scale: flat memory of streaming training, and feature extraction on a Dask cluster.

Run ``python benchmarks/scale.py``. Two measurements:

(a) **Memory of streaming training.** A fresh Python process per case trains
    a small DNN_0 for a fixed number of mixtures (``--items``, one epoch)
    from a :class:`sksep.models.MixingDataset` reading **file paths lazily**,
    and reports its peak resident set size (``VmHWM`` of ``/proc/self/status``;
    ``resource.getrusage`` where there is no ``/proc``). Case
    "sample": the bundled sample's training speech and noise files. Case
    "10x": a temporary folder holding ten copies of every one of those files
    (ten times the audio, listed as ten times as many files). The number of
    training steps is the same; only the corpus grows. Target: peak RSS of
    "10x" at most 1.5 x that of "sample".

(b) **Feature extraction on a cluster.** ``--mixtures`` mixtures of the
    sample (-5/0/5 dB, fixed seed) are written to a temporary folder, and
    their cochleagrams (64 channels, 16 kHz) are computed with
    :func:`sksep.features.transform_parallel` on the file paths inside
    ``joblib.parallel_backend("dask")``, on a loopback
    ``distributed.LocalCluster`` of 1 and then 2 worker processes (one thread
    each). The workers are warmed up (imports, numba compilation) before the
    timing; the best of ``--repeat`` runs counts. Target: 2 workers at least
    1.6 x faster than 1. A busy-loop check on the same clusters shows what
    speed-up the machine allows at the moment (other jobs on a shared
    machine lower both).

Usage::

    .venv/bin/python benchmarks/scale.py [--items 120] [--mixtures 800] [--repeat 3]
"""

from __future__ import annotations

import os

# One numba thread in this process and in the workers it starts: with a single
# worker (one thread) joblib's Dask backend runs the tasks here, in the client, so
# the one-worker baseline must not use numba's other thread either.
os.environ["NUMBA_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from _peak_rss import PEAK_RSS_SOURCE  # noqa: E402

_TRAIN_CASE = PEAK_RSS_SOURCE + r"""
import json, sys, time
import torch
torch.set_num_threads(1)
from sksep.features import STFTTransformer
from sksep.models import DNN0Regressor, MixingDataset
speech, noise, items = json.loads(sys.argv[1])
t0 = time.perf_counter()
ds = MixingDataset(speech, noise, STFTTransformer(), snr_db=[-5, 0, 5], context=2,
                   n_items=items, buffer_size=4096, random_state=0)
net = DNN0Regressor(module__hidden_dim=256, max_epochs=1, batch_size=256, train_split=None,
                    verbose=0, random_state=0).fit(ds, None)
print(json.dumps({"peak_rss_mb": peak_rss_kib() / 1024,
                  "seconds": time.perf_counter() - t0,
                  "train_loss": float(net.history[-1, "train_loss"])}))
"""


def _train_case(speech, noise, items):
    out = subprocess.run([sys.executable, "-c", _TRAIN_CASE, json.dumps([speech, noise, items])],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory(items, tmp):
    from sksep.datasets import load_sample

    speech, noise = load_sample()
    s_paths = [str(p) for p in speech.train.column("path")]
    n_paths = [str(p) for p in noise.train.column("path")]
    big_s, big_n = [], []
    for copy in range(10):
        folder = Path(tmp) / f"copy{copy}"
        folder.mkdir()
        for paths, out in ((s_paths, big_s), (n_paths, big_n)):
            for p in paths:
                dst = folder / f"{len(out):05d}_{Path(p).name}"
                shutil.copyfile(p, dst)
                out.append(str(dst))
    size = lambda ps: sum(os.path.getsize(p) for p in ps) / 2**20  # noqa: E731
    print(f"(a) streaming training, {items} mixtures, DNN_0 256 wide, STFT, +-2 frames")
    print(f"    sample: {len(s_paths)} speech + {len(n_paths)} noise files, "
          f"{speech.train.duration + noise.train.duration:.0f} s, {size(s_paths + n_paths):.1f} MB")
    print(f"    10x   : {len(big_s)} speech + {len(big_n)} noise files, "
          f"{10 * (speech.train.duration + noise.train.duration):.0f} s, "
          f"{size(big_s + big_n):.1f} MB")
    small = _train_case(s_paths, n_paths, items)
    large = _train_case(big_s, big_n, items)
    ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    for name, r in (("sample", small), ("10x", large)):
        print(f"    {name:6s}: peak RSS {r['peak_rss_mb']:7.1f} MB, {r['seconds']:5.1f} s, "
              f"train loss {r['train_loss']:.4f}")
    print(f"    peak RSS ratio 10x / sample: {ratio:.3f}  (target <= 1.5: "
          f"{'met' if ratio <= 1.5 else 'NOT met'})")
    return ratio


def _busy(n):
    x = 0
    for i in range(n):
        x += i * i
    return x


def _warm(_):
    import torch

    torch.set_num_threads(1)
    return True


def cluster_speedup(n_mixtures, repeat, tmp, batch_size=25):
    import distributed
    import joblib

    from sksep.datasets import load_sample, make_mixtures
    from sksep.features import CochleagramTransformer, transform_parallel

    speech, noise = load_sample()
    mixtures = make_mixtures(speech.train, noise.train, snr_db=[-5, 0, 5],
                             n_mixtures=n_mixtures, random_state=0)
    folder = Path(tmp) / "mixtures"
    mixtures.to_folder(folder)
    paths = sorted(str(p) for p in (folder / "noisy").glob("*.wav"))
    if len(paths) != n_mixtures:
        raise SystemExit(f"expected {n_mixtures} noisy files in {folder}, found {len(paths)}")
    coch = CochleagramTransformer()
    seconds = float(sum(mixtures.noisy.durations))
    print(f"(b) cochleagram (64 channels, 16 kHz) of {n_mixtures} mixtures "
          f"({seconds:.0f} s of audio), transform_parallel on file paths, batch_size={batch_size}")
    results = {}
    for n_workers in (1, 2):
        with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            client.run(_warm, None)
            with joblib.parallel_backend("dask"):
                transform_parallel(coch, paths[: 2 * n_workers], batch_size=1)  # numba warm-up
                t0 = time.perf_counter()
                joblib.Parallel()(joblib.delayed(_busy)(10_000_000) for _ in range(4))
                busy = time.perf_counter() - t0
                times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    feats = transform_parallel(coch, paths, batch_size=batch_size)
                    times.append(time.perf_counter() - t0)
        results[n_workers] = (min(times), busy, feats)
        print(f"    {n_workers} worker(s): {min(times):6.2f} s (runs: "
              f"{', '.join(f'{t:.2f}' for t in times)}), busy-loop check {busy:.2f} s")
    same = all((a == b).all() for a, b in zip(results[1][2], results[2][2]))
    speedup = results[1][0] / results[2][0]
    print(f"    speed-up 2 workers / 1 worker: {speedup:.2f}  (target >= 1.6: "
          f"{'met' if speedup >= 1.6 else 'NOT met'}); identical features: {same}")
    print(f"    machine check, busy loop speed-up on the same clusters: "
          f"{results[1][1] / results[2][1]:.2f} (about 2 on an idle 2-core machine)")
    return speedup


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=120, help="mixtures trained on in (a)")
    parser.add_argument("--mixtures", type=int, default=800, help="mixtures featurised in (b)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-cluster", action="store_true")
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(other work on the machine skews times)")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_memory:
            ok &= memory(args.items, tmp) <= 1.5
        if not args.skip_cluster:
            ok &= cluster_speedup(args.mixtures, args.repeat, tmp) >= 1.6
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
