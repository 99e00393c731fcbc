"""Gammatone resynthesis memory: sksep's resynthesize vs ``gammatone``'s filterbank alone.

Run ``python benchmarks/resynthesis_memory.py``. For each length (20 s and
60 s of 16 kHz audio by default) and each contender, a fresh Python process

1. imports everything and warms up on a quarter second of audio (numba
   compiles or loads its cache, the filter design is cached),
2. builds the input (and, for sksep, a random 64-channel frame mask),
3. resets the kernel's peak resident set size mark (``echo 5 >
   /proc/self/clear_refs``; the import and JIT transients would otherwise
   hide allocations smaller than them) and reads it as the baseline,
4. runs the contender once and reports the growth of the peak RSS (VmHWM:
   it sees numba's allocations, which ``tracemalloc`` does not) over the
   baseline, then the best wall time of ``--repeat`` runs.

Linux only (``/proc``); elsewhere it falls back to ``resource.getrusage``'s
``ru_maxrss``, which cannot be reset and so under-reports small growths.

The contenders, on the same settings (64 channels from 50 Hz to 8 kHz):

- **sksep**: :func:`sksep.features.resynthesize` (frame 512, hop 256): the
  forward filterbank, the time-reversed second pass, the mask weighting and
  the channel sum.
- **gammatone** (the peer): ``gammatone.filters.erb_filterbank`` with
  ``make_erb_filters(sr, centre_freqs(sr, 64, 50))``, the forward filtering
  alone. Any resynthesis built on it holds at least its (64, n_samples)
  float64 output, so this is a lower bound of such a resynthesis.

It prints the peak RSS growth in MB, the ratio gammatone / sksep (above 1:
sksep's whole resynthesis needs less memory than the peer's filtering alone;
target >= 5 at every length) and the times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from _peak_rss import PEAK_RSS_SOURCE

_CASE = PEAK_RSS_SOURCE + r"""
import json, sys, time
import numpy as np
kind, seconds, repeat = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
sr, n_channels, fmin, hop = 16000, 64, 50.0, 256
if kind == "sksep":
    from sksep.features import resynthesize
    prepare = lambda y: y
    run = lambda y, mask: resynthesize(y, mask, sr, fmin, None, 512, hop)
else:
    from gammatone.filters import centre_freqs, erb_filterbank, make_erb_filters
    coefs = make_erb_filters(sr, centre_freqs(sr, n_channels, fmin))
    prepare = lambda y: y.astype(np.float64)
    run = lambda y, mask: erb_filterbank(y, coefs)
rng = np.random.default_rng(0)
def inputs(n):
    y = prepare((0.1 * rng.standard_normal(n)).astype(np.float32))
    return y, rng.uniform(0, 1, (1 + n // hop, n_channels))
run(*inputs(sr // 4))  # warm-up: imports, numba, the filter design
y, mask = inputs(int(seconds * sr))
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak mark back to the current RSS
except OSError:
    pass
base = peak_rss_kib()
t0 = time.perf_counter()
out = run(y, mask)
times = [time.perf_counter() - t0]
grown = peak_rss_kib() - base
del out
for _ in range(repeat - 1):
    t0 = time.perf_counter()
    run(y, mask)
    times.append(time.perf_counter() - t0)
print(json.dumps({"peak_mb": grown / 1024, "baseline_mb": base / 1024, "seconds": min(times)}))
"""

CONTENDERS = ("sksep", "gammatone")
TARGET = 5.0  # gammatone / sksep peak RSS growth


def measure(kind, seconds, repeat):
    """Peak RSS growth (MB), baseline RSS (MB) and best time (s) of one contender, in a child."""
    out = subprocess.run([sys.executable, "-c", _CASE, kind, str(seconds), str(repeat)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[20.0, 60.0],
                        help="signal lengths at 16 kHz (default: 20 60)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per case (best counts)")
    args = parser.parse_args(argv)
    print(f"settings: 16 kHz, 64 channels from 50 Hz, frame 512, hop 256; one fresh process "
          f"per case; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    ratios = []
    for seconds in args.seconds:
        r = {kind: measure(kind, seconds, args.repeat) for kind in CONTENDERS}
        ours, peer = r["sksep"], r["gammatone"]
        ratio = peer["peak_mb"] / ours["peak_mb"]
        ratios.append(ratio)
        print(f"{seconds:g} s ({int(seconds * 16000)} samples):")
        print(f"    sksep resynthesize:                 peak RSS +{ours['peak_mb']:7.1f} MB, "
              f"{ours['seconds']:6.3f} s")
        print(f"    gammatone erb_filterbank (filter):  peak RSS +{peer['peak_mb']:7.1f} MB, "
              f"{peer['seconds']:6.3f} s")
        print(f"    memory ratio gammatone / sksep: {ratio:.2f}x (target >= {TARGET:g}: "
              f"{'met' if ratio >= TARGET else 'NOT met'}); "
              f"speed ratio: {peer['seconds'] / ours['seconds']:.1f}x")
    return ratios


if __name__ == "__main__":
    sys.exit(0 if min(main()) >= TARGET else 1)
