"""
Enhance an audio file
=====================

Reads a noisy speech file (any rate, any channel count), enhances it with a
model and writes the result at the input's sample rate::

    python examples/enhance_file.py [NOISY] [OUTPUT] [--model FILE]

``NOISY`` defaults to a demo file that the script first writes itself (a test
utterance of the bundled sample with music at 0 dB, ``noisy_demo.wav``);
``OUTPUT`` defaults to ``<NOISY stem>_enhanced.wav``. ``--model`` reads a model
file written by :func:`sksep.save` (or ``sksep train``); without it the script
trains a tiny STFT + DNN_1 enhancer on the bundled sample for a few seconds,
which shows the mechanics but removes little noise. For real use, train a
full-size model once (``--scale 8`` does that here), save it, and pass it
with ``--model``. The ``sksep enhance`` command does the same for many files
at once.
"""

# %%
# Command line
# ------------
import argparse
from pathlib import Path

import numpy as np
from sklearn.pipeline import make_pipeline

import sksep
from sksep import SpeechEnhancer, io
from sksep.datasets import load_sample, make_mixtures
from sksep.features import ContextStacker, STFTTransformer
from sksep.models import DNN1Regressor

parser = argparse.ArgumentParser(description="Enhance a noisy speech file.")
parser.add_argument("noisy", nargs="?", default=None, help="noisy audio file")
parser.add_argument("output", nargs="?", default=None, help="enhanced audio file to write")
parser.add_argument("--model", default=None, help="model file written by sksep.save")
parser.add_argument("--save-model", default=None, help="also save the trained model here")
parser.add_argument("--scale", type=int, default=1, help="1 = tiny model; 8 = a real one")
args, _ = parser.parse_known_args()

# %%
# The noisy file (a demo one unless given)
# ----------------------------------------
if args.noisy is None:
    speech, noise = load_sample()
    demo = make_mixtures(speech.test[:1], noise.test.where(kind="music"), snr_db=0,
                         random_state=0)
    args.noisy = "noisy_demo.wav"
    io.save(args.noisy, demo.noisy[0], demo.sr)
    print(f"wrote the demo input {args.noisy}")
noisy_path = Path(args.noisy)
output = Path(args.output or noisy_path.with_name(noisy_path.stem + "_enhanced.wav"))
file_info = io.info(noisy_path)
print(f"{noisy_path}: {file_info.duration:.2f} s, {file_info.sr} Hz, "
      f"{file_info.n_channels} channel(s)")

# %%
# The model: from a file, or trained here
# ---------------------------------------
if args.model is not None:
    model = sksep.load(args.model)
    print(f"loaded {args.model}: steps {[name for name, _ in model.estimator_.steps]}")
else:
    speech, noise = load_sample()
    utterances = speech.train[::12] if args.scale <= 1 else speech.train
    train = make_mixtures(utterances, noise.train, snr_db=[-5, 0, 5],
                          n_mixtures=len(utterances) * (1 if args.scale <= 1 else 3),
                          random_state=0)
    net = (DNN1Regressor(module__hidden_dim=64, max_epochs=2, verbose=0, random_state=0)
           if args.scale <= 1 else DNN1Regressor(verbose=0, random_state=0))
    model = SpeechEnhancer(make_pipeline(STFTTransformer(), ContextStacker(2), net))
    model.fit(train.noisy, train.clean)
    print(f"trained on {len(train)} mixtures ({train.noisy.duration:.0f} s)")
    if args.save_model:
        sksep.save(model, args.save_model)
        print(f"saved the model to {args.save_model}")

# %%
# Enhance and write
# -----------------
# The file is read mono at the model's rate; the enhanced waveform is
# resampled back to the file's own rate.
y, sr = io.load(noisy_path, sr=model.sr_, mono="mix")
enhanced = model.predict([y])[0]
if file_info.sr != model.sr_:
    enhanced = io.resample(enhanced, model.sr_, file_info.sr)
io.save(output, enhanced, file_info.sr, clip="clip")
print(f"wrote {output} ({len(enhanced) / file_info.sr:.2f} s at {file_info.sr} Hz); "
      f"RMS {np.sqrt(np.mean(y ** 2)):.4f} -> {np.sqrt(np.mean(enhanced ** 2)):.4f}")
