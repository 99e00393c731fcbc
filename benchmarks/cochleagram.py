"""Cochleagram speed and agreement: sksep's numba filterbank vs the ``gammatone`` package.

Run ``python benchmarks/cochleagram.py``. It times
:func:`gammatone.gtgram.gtgram` and :class:`sksep.features.CochleagramTransformer`
on the same settings (64 channels from 50 Hz to 8 kHz, 16 kHz, 512-sample
frames with a 256-sample hop, 32 utterances of 3 s, numba on 2 threads), and
prints

- the JIT warm-up time (first call: numba compiles or loads its cache; not part
  of the ratio),
- the wall time of each and the speed ratio,
- the largest relative deviation of the channel energies from
  ``gammatone.filters.erb_filterbank`` output framed the same way (frames centred
  on ``k * hop``, zero-padded; gammatone lists channels high to low, sksep low
  to high, so the reference is flipped), and from ``gtgram`` itself on the
  frames both cover,
- whether the targets (>= 10x, <= 1e-4) are met; the exit status is 1 if not.
"""

from __future__ import annotations

import argparse
import sys
import time

import numba
import numpy as np
from gammatone.filters import centre_freqs, erb_filterbank, make_erb_filters
from gammatone.gtgram import gtgram

from sksep.features import CochleagramTransformer

TARGET_SPEED = 10.0  # gtgram time / sksep time (README's benchmark table)
TARGET_DEVIATION = 1e-4  # largest relative deviation from erb_filterbank's energies


def utterances(n, seconds, sr, seed=0):
    """Noise with a syllable-rate envelope and a pitch-like harmonic series."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    out = []
    for _ in range(n):
        f0 = rng.uniform(90, 220)
        voiced = sum(np.sin(2 * np.pi * h * f0 * t + rng.uniform(0, 6.3)) / h for h in range(1, 20))
        env = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(3, 6) * t) ** 2
        y = 0.1 * env * voiced + 0.02 * rng.standard_normal(len(t))
        out.append(y.astype(np.float32))
    return out


def reference_energies(y, sr, n_channels, fmin, frame_length, hop):
    """gammatone's erb_filterbank, squared, framed like sksep (centred, zero-padded)."""
    coefs = make_erb_filters(sr, centre_freqs(sr, n_channels, fmin))
    xe = erb_filterbank(y.astype(np.float64), coefs)[::-1] ** 2  # low -> high
    n = len(y)
    n_frames = 1 + n // hop
    out = np.empty((n_frames, n_channels))
    for k in range(n_frames):
        start = k * hop - frame_length // 2
        a, b = max(start, 0), min(start + frame_length, n)
        out[k] = xe[:, a:b].sum(axis=1) / frame_length
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-utterances", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=2, help="numba threads (default 2)")
    args = parser.parse_args(argv)

    sr, n_channels, fmin, frame_length, hop = 16000, 64, 50, 512, 256
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    ys = utterances(args.n_utterances, args.seconds, sr)
    coch = CochleagramTransformer(
        sr=sr, n_channels=n_channels, fmin=fmin, frame_length=frame_length, hop_length=hop,
        compression="none",
    ).fit(ys[:1])

    t0 = time.perf_counter()
    coch.power(ys[0][: frame_length * 2])
    warmup = time.perf_counter() - t0

    t0 = time.perf_counter()
    ours = coch.transform(ys)
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    theirs = [gtgram(y, sr, frame_length / sr, hop / sr, n_channels, fmin) for y in ys]
    t_gtgram = time.perf_counter() - t0

    dev_fb = 0.0
    dev_gt = 0.0
    shift = frame_length // 2 // hop  # gtgram's frame j starts at j*hop = our frame j+shift's start
    for y, e, g in zip(ys, ours, theirs):
        e = e.astype(np.float64)
        ref = reference_energies(y, sr, n_channels, fmin, frame_length, hop)
        dev_fb = max(dev_fb, float(np.max(np.abs(e - ref) / ref)))
        if frame_length // 2 % hop == 0:
            g2 = g.T**2
            mine = e[shift : shift + len(g2)]
            dev_gt = max(dev_gt, float(np.max(np.abs(mine - g2) / g2)))

    print(f"settings: {args.n_utterances} utterances x {args.seconds:g} s at {sr} Hz, "
          f"{n_channels} channels from {fmin} Hz, frame {frame_length}, hop {hop}, "
          f"numba threads {numba.get_num_threads()}")
    print(f"JIT warm-up (first call, excluded): {warmup:.3f} s")
    print(f"gammatone.gtgram.gtgram:           {t_gtgram:.3f} s")
    print(f"sksep CochleagramTransformer:      {t_ours:.3f} s")
    print(f"speed ratio (gtgram / sksep):      {t_gtgram / t_ours:.1f}x")
    print(f"max relative deviation vs erb_filterbank (framed alike): {dev_fb:.2e}")
    print(f"max relative deviation vs gtgram**2 (shared frames, float32 output): {dev_gt:.2e}")
    ratio = t_gtgram / t_ours
    speed_ok, dev_ok = ratio >= TARGET_SPEED, dev_fb <= TARGET_DEVIATION
    print(f"speed target >= {TARGET_SPEED:g}x: {'met' if speed_ok else 'NOT met'}; "
          f"deviation target <= {TARGET_DEVIATION:g}: {'met' if dev_ok else 'NOT met'}")
    return 0 if speed_ok and dev_ok else 1


if __name__ == "__main__":
    sys.exit(main())
