"""Shared test fixtures: small, generic signal makers. Add yours with a minimal edit."""

import importlib.util
import os
import sys
from pathlib import Path

# One thread per test process: pytest runs two workers on two cores, and
# oversubscribed torch/numba threads slow the suite about tenfold. Set before
# torch or numba is imported (numba's OpenMP layer would otherwise reset
# torch's thread count when the first parallel kernel runs).
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def _speech_like(seconds=0.5, sr=16000, seed=0, f0=120.0, level=0.1):
    """A voiced-speech-like test signal: harmonics of a wandering f0 under a syllable envelope.

    Deterministic for a given seed; float32, peak about ``3 * level``, no silent stretch
    longer than a few ms.
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    pitch = f0 * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(1, 3) * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(pitch) / sr
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12) if k * f0 < sr / 2)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(3, 5) * t + rng.uniform(0, 6))
    y = level * envelope * voiced + 0.01 * level * rng.standard_normal(n)
    return y.astype(np.float32)


@pytest.fixture
def speech_like():
    """Factory ``speech_like(seconds=0.5, sr=16000, seed=0, f0=120.0, level=0.1)``."""
    return _speech_like


@pytest.fixture
def white_noise():
    """Factory ``white_noise(n, seed=0, level=0.1)`` -> float32 Gaussian noise."""

    def make(n, seed=0, level=0.1):
        return (level * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)

    return make


def _mix_at_snr(clean, noise, snr_db):
    """``clean`` plus ``noise`` (trimmed to its length) scaled to ``snr_db`` dB SNR, float32."""
    noise = noise[: clean.size]
    gain = np.sqrt(np.sum(clean**2) / np.sum(noise**2) / 10 ** (snr_db / 10))
    return (clean + gain * noise).astype(np.float32)


@pytest.fixture(scope="module")
def single_torch_thread():
    """One torch thread for a whole test module (restored afterwards); use it with
    ``pytestmark = pytest.mark.usefixtures("single_torch_thread")``.

    Tiny networks: one thread is fastest, and pytest -n 2 already fills both cores.
    numba's OpenMP layer, when it starts (the cochleagram kernels), resets the
    OpenMP thread count that torch shares; start it first so the setting holds.
    """
    import numba
    import torch

    numba.get_num_threads()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def load_script():
    """Import a file of ``scripts/`` as a module: ``load_script("build_corpus.py")``."""

    def load(filename):
        name = f"sksep_scripts_{Path(filename).stem}"
        path = Path(__file__).resolve().parents[1] / "scripts" / filename
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the file runs
        try:
            spec.loader.exec_module(module)
        finally:
            del sys.modules[name]
        return module

    return load
