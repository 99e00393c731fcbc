"""Training throughput of DNN_0 through skorch versus a plain PyTorch loop.

Both train the same network (DNN_0, 4 x 1024, 257 inputs and outputs) on the
same frames with the same batch size, optimizer (Adam, lr 1e-3, weight decay
1e-4) and per-epoch learning-rate decay, on the CPU. The skorch side is
``DNN0Regressor`` with ``train_split=None`` (the plain loop has no validation
pass either) and its default callbacks, continued with ``partial_fit``; the
plain side shuffles, indexes the batches and steps the optimizer by hand. Both
are built and warmed up first; then ``--repeats`` rounds alternate
``--epochs`` timed epochs of each, and the fastest round of each side counts
(the machine may be shared: the minimum is the least disturbed measurement).
Throughput is counted per CPU-second of this process, which other processes
on a busy machine do not distort (with the default single torch thread it is
the wall-clock throughput of an idle machine); the wall-clock ratio is printed
too.

Prints frames per second for both and the ratio skorch / plain, and exits
with status 1 when the ratio is below the threshold (default 0.85, i.e. at
most 15 % overhead).

Usage::

    .venv/bin/python benchmarks/training.py [--frames 4000] [--epochs 2] [--repeats 5] [--threads N]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from sksep.models import DNN0, DNN0Regressor


def make_frames(n_frames, n_bins, n_utterances, seed=0):
    """Synthetic log-magnitude-like features and masks, split into utterances."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_frames, n_bins)).astype(np.float32)
    Y = (1 / (1 + np.exp(-X))).astype(np.float32)
    cuts = np.linspace(0, n_frames, n_utterances + 1).astype(int)
    return ([X[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)],
            [Y[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)])


def _timed(fn):
    """(wall seconds, CPU seconds of this process) spent in ``fn()``."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


class SkorchTrainer:
    """DNN0Regressor, built and warmed up once; ``run(epochs)`` times more epochs."""

    def __init__(self, X, Y, batch_size, seed):
        self.X, self.Y = X, Y
        self.net = DNN0Regressor(max_epochs=1, batch_size=batch_size, train_split=None,
                                 verbose=0, device="cpu", random_state=seed, warm_start=True)
        self.net.fit(X, Y)  # builds the network; warm-up epoch

    def run(self, epochs):
        return _timed(lambda: self.net.partial_fit(self.X, self.Y, epochs=epochs))


class PlainTrainer:
    """The same network, optimizer and schedule in a hand-written loop."""

    def __init__(self, X, Y, batch_size, seed):
        torch.manual_seed(seed)
        self.Xt = torch.from_numpy(np.concatenate(X))
        self.Yt = torch.from_numpy(np.concatenate(Y))
        self.batch_size = batch_size
        self.module = DNN0(input_dim=self.Xt.shape[1], output_dim=self.Yt.shape[1])
        self.optimizer = torch.optim.Adam(self.module.parameters(), lr=1e-3, weight_decay=1e-4)
        self.scheduler = torch.optim.lr_scheduler.ExponentialLR(self.optimizer, gamma=0.9)
        self.loss_fn = torch.nn.MSELoss()
        self.run(1)  # warm-up epoch

    def epoch(self):
        self.module.train()
        losses = []
        for idx in torch.randperm(len(self.Xt)).split(self.batch_size):
            self.optimizer.zero_grad()
            loss = self.loss_fn(self.module(self.Xt[idx]), self.Yt[idx])
            loss.backward()
            self.optimizer.step()
            losses.append(loss.item())
        self.scheduler.step()
        return float(np.mean(losses))

    def run(self, epochs):
        return _timed(lambda: [self.epoch() for _ in range(epochs)])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=4000)
    parser.add_argument("--bins", type=int, default=257)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threshold", type=float, default=0.85)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1; 0 keeps torch's own choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    X, Y = make_frames(args.frames, args.bins, n_utterances=max(2, args.frames // 200))
    n_frames = sum(len(x) for x in X)
    print(f"DNN_0 (4 x 1024), {n_frames} frames x {args.bins} bins, batch {args.batch_size}, "
          f"{args.epochs} timed epochs, best of {args.repeats}, torch threads "
          f"{torch.get_num_threads()}")
    plain = PlainTrainer(X, Y, args.batch_size, seed=0)
    skorch = SkorchTrainer(X, Y, args.batch_size, seed=0)
    t_skorch, t_plain = [], []
    for _ in range(args.repeats):  # alternate, so that load from other processes hits both
        t_plain.append(plain.run(args.epochs))
        t_skorch.append(skorch.run(args.epochs))
    results = {}
    for name, times in [("plain PyTorch loop", t_plain), ("skorch DNN0Regressor", t_skorch)]:
        wall = min(t[0] for t in times)
        cpu = min(t[1] for t in times)
        results[name] = (n_frames * args.epochs / wall, n_frames * args.epochs / cpu)
        print(f"{name:21s}: {results[name][0]:7.0f} frames/s wall, {results[name][1]:7.0f} "
              f"frames per CPU-second  (wall per round: "
              + ", ".join(f"{t[0]:.2f}s" for t in times) + ")")
    (wall_p, cpu_p), (wall_s, cpu_s) = results.values()
    ratio = cpu_s / cpu_p
    verdict = "PASS" if ratio >= args.threshold else "FAIL"
    print(f"throughput ratio skorch/plain = {ratio:.3f} per CPU-second "
          f"({wall_s / wall_p:.3f} wall-clock); threshold {args.threshold}: {verdict}")
    return 0 if ratio >= args.threshold else 1


if __name__ == "__main__":
    sys.exit(main())
