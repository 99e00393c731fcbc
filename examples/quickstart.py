"""
Quickstart: from the bundled sample to enhanced, scored speech
==============================================================

Loads the bundled recordings, mixes speech with noise at -5, 0 and 5 dB,
computes ideal ratio masks, trains a tiny STFT + DNN_0 enhancer, enhances
held-out mixtures (speakers and noises never heard in training), scores them
with STOI and PESQ and writes noisy, clean and enhanced WAV files.

Run it as::

    python examples/quickstart.py [OUT_DIR] [--scale N]

``OUT_DIR`` (default ``quickstart_out``) receives ``test/noisy/*.wav``,
``test/clean/*.wav``, ``test/noise/*.wav``, ``test/mixtures.csv`` and
``enhanced/*.wav``. The defaults train for seconds and learn little; to scale
up, pass ``--scale 8`` (every training utterance instead of every eighth, two
mixtures of each: sixteen times the mixtures; full-width network, 20 epochs
with early stopping) or edit the settings below.
"""

# %%
# Settings
# --------
import argparse
import time
from pathlib import Path

from sklearn.pipeline import make_pipeline

from sksep import SpeechEnhancer, io
from sksep.datasets import load_sample, make_mixtures
from sksep.features import ContextStacker, STFTTransformer
from sksep.metrics import evaluate
from sksep.models import DNN0Regressor
from sksep.targets import ideal_ratio_mask

parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
parser.add_argument("out_dir", nargs="?", default="quickstart_out", help="folder for the WAVs")
parser.add_argument("--scale", type=int, default=1, help="1 = tiny smoke run; 8 = a real run")
args, _ = parser.parse_known_args()

TINY = args.scale <= 1
STRIDE = 8 if TINY else 1                    # use every STRIDE-th training utterance
N_TEST = 4 if TINY else 12                   # test utterances
NET = {"module__hidden_dim": 64, "max_epochs": 2} if TINY else {}  # DNN_0 default: 4 x 1024
start = time.perf_counter()

# %%
# Data: speaker-disjoint speech and source-disjoint noise
# -------------------------------------------------------
speech, noise = load_sample()
train = make_mixtures(speech.train[::STRIDE], noise.train, snr_db=[-5, 0, 5],
                      n_mixtures=len(speech.train[::STRIDE]) * max(1, args.scale // 4),
                      random_state=0)
test = make_mixtures(speech.test[:N_TEST], noise.test, snr_db=[-5, 0, 5], snr_mode="all",
                     random_state=1)
print(f"train: {train}\ntest:  {test}")

# %%
# The target: ideal ratio masks on the STFT
# -----------------------------------------
front_end = STFTTransformer()
masks = ideal_ratio_mask(train.clean, train.noise, front_end)
print(f"IRM of the first mixture: shape {masks[0].shape}, mean {masks[0].mean():.2f}")

# %%
# Train the enhancer (it computes the same masks itself from noisy - clean)
# -------------------------------------------------------------------------
enh = SpeechEnhancer(make_pipeline(
    STFTTransformer(),
    ContextStacker(2),
    DNN0Regressor(verbose=0, random_state=0, **NET),
))
enh.fit(train.noisy, train.clean)
history = enh.estimator_[-1].history
print(f"trained {len(history)} epochs, last valid_loss {history[-1, 'valid_loss']:.4f}")

# %%
# Enhance the held-out mixtures and score them
# --------------------------------------------
enhanced = enh.predict(test.noisy)
table = evaluate(test.clean, enhanced, sr=enh.sr_, metrics=["stoi", "pesq"], noisy=test.noisy)
table["snr_db"] = test.snr_db
print(table.groupby("snr_db")[["stoi_noisy", "stoi", "pesq_noisy", "pesq"]].mean().round(3))

# %%
# Write WAV files
# ---------------
out = Path(args.out_dir)
test.to_folder(out / "test", subtype="PCM_16", overwrite=True)
for mixture_id, y in zip(test.meta["id"], enhanced):
    io.save(out / "enhanced" / f"{mixture_id}.wav", y, enh.sr_, clip="clip")
print(f"wrote {len(test)} noisy/clean/noise/enhanced WAV sets to {out.resolve()}")
print(f"done in {time.perf_counter() - start:.0f} s")
