"""Regenerate ``analysis/``: every network on every front end, against baselines and oracles.

This is the project's main job, the same as ``sksep compare`` and the README's
``make analysis``. It trains DNN_0, DNN_1, CNN_0 and CNN_1 on STFT and on
gammatone-cochleagram features of the bundled sample (mixtures at -5, -2, 0 and
5 dB together), scores them on the speaker- and noise-disjoint test split at
each SNR with STOI, ESTOI, PESQ and SI-SDR beside spectral gating, spectral
subtraction, an iterative Wiener filter and the oracle masks, and writes the
report with tables, figures and audio examples.

Run it from the repository root::

    python examples/compare_models.py            # the full comparison
    python examples/compare_models.py --quick    # a two-minute smoke run

Results are cached per system (``~/.cache/sksep/compare`` by default), so an
interrupted run resumes where it stopped.
"""

import sys

from sksep.cli import main

if __name__ == "__main__":
    sys.exit(main(["compare", *sys.argv[1:]]))
