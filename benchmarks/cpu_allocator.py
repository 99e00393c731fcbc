"""CNN training steps on the CPU: glibc's default malloc settings versus raised thresholds.

With its default settings glibc serves every allocation above 128 KiB (after
it adapts, at most 32 MiB) with a fresh ``mmap`` and gives it back with
``munmap`` when it is freed. A CNN's training step allocates and frees
activations of several MiB each, so every batch maps fresh pages that the
kernel must zero again: system time. Raising the thresholds keeps freed
memory in the process for the next batch::

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296 python train.py

Both variables are read by glibc when a process starts, so they are set in the
shell (or the job script), not from Python. This script times the same
training steps in child processes, with and without them, alternating
``--repeats`` rounds; the fastest round of each counts (the machine may be
shared). ``--network pretrained`` (the default) is the pretrained default's
network: CNN_1 with filters 24/48/96/96/96 on 15 x 128 patches, batch 256;
``--network comparison`` is the slowest system of the model comparison
(``make analysis``): CNN_1 at its own filters 12/24/48/48/48 on 15 x 129
patches of the 8 kHz STFT, batch 128. Adam in both. It prints seconds per step (wall clock,
and user + system CPU time of the child) and the ratio default / raised; it
checks nothing (exit 0) except that both children ran.

Usage::

    .venv/bin/python benchmarks/cpu_allocator.py [--network {pretrained,comparison}]
        [--steps 20] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

RAISED = {"MALLOC_MMAP_THRESHOLD_": str(2**32), "MALLOC_TRIM_THRESHOLD_": str(2**32)}
# input width, output width, batch, filters
NETWORKS = {"pretrained": (128, 64, 256, "24,48,96,96,96"),
            "comparison": (129, 129, 128, "12,24,48,48,48")}

CHILD = r"""
import json, os, sys, time
import torch
from sksep.models import CNN1

steps, threads = int(sys.argv[1]), int(sys.argv[2])
n_in, n_out, batch = (int(v) for v in sys.argv[3:6])
filters = tuple(int(v) for v in sys.argv[6].split(","))
torch.set_num_threads(threads)
torch.manual_seed(0)
net = CNN1(input_shape=(15, n_in), output_dim=n_out, n_filters=filters)
opt = torch.optim.Adam(net.parameters(), lr=1e-4)
x, y = torch.randn(batch, 15, n_in), torch.rand(batch, n_out)

def step():
    loss = torch.nn.functional.mse_loss(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()

for _ in range(3):  # warm-up
    step()
t0, c0 = time.perf_counter(), os.times()
for _ in range(steps):
    step()
c1 = os.times()
print(json.dumps({"wall": (time.perf_counter() - t0) / steps,
                  "cpu": (c1.user - c0.user + c1.system - c0.system) / steps,
                  "system": (c1.system - c0.system) / steps}))
"""


def run_child(steps, threads, extra_env, network="pretrained"):
    env = {k: v for k, v in os.environ.items() if k not in RAISED}
    env.update(extra_env)
    out = subprocess.run([sys.executable, "-c", CHILD, str(steps), str(threads),
                          *map(str, NETWORKS[network])], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=20, help="timed training steps per round")
    p.add_argument("--repeats", type=int, default=3, help="rounds of each setting")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--network", choices=sorted(NETWORKS), default="pretrained",
                   help="whose training steps: the pretrained default's or the comparison's "
                        "CNN_1 on STFT")
    args = p.parse_args(argv)

    best = {"default": None, "raised": None}
    for _ in range(args.repeats):
        for name, extra in (("default", {}), ("raised", RAISED)):
            t = run_child(args.steps, args.threads, extra, args.network)
            if best[name] is None or t["wall"] < best[name]["wall"]:
                best[name] = t
    for name, t in best.items():
        print(f"{name:8s} {t['wall']:.3f} s/step wall, {t['cpu']:.3f} s CPU "
              f"({t['system']:.3f} s system)")
    print(f"ratio default / raised: wall {best['default']['wall'] / best['raised']['wall']:.2f}, "
          f"CPU {best['default']['cpu'] / best['raised']['cpu']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
