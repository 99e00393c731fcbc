"""
Features and the ideal ratio mask of one utterance
==================================================

Shows the two time-frequency front ends on a bundled utterance mixed with
babble at 0 dB: the log-magnitude STFT (``STFTTransformer``), the 64-channel
gammatone cochleagram (``CochleagramTransformer``), the ideal ratio mask on
each, and what applying the cochleagram IRM to the noisy waveform gives back.

Runs in a few seconds; it is executed while the documentation is built.
"""

# %%
# A noisy utterance
# -----------------
# One test utterance of the bundled sample with babble at 0 dB. ``make_mixtures``
# keeps the clean speech and the exact noise that was added.
import matplotlib.pyplot as plt
import numpy as np

from sksep.datasets import load_sample, make_mixtures
from sksep.features import CochleagramTransformer, STFTTransformer
from sksep.metrics import stoi
from sksep.targets import ideal_ratio_mask

speech, noise = load_sample()
babble = noise.test.where(kind="babble")
mix = make_mixtures(speech.test[:1], babble, snr_db=0, random_state=0)
noisy, clean, added = mix[0]
sr = mix.sr
print(f"{len(noisy) / sr:.2f} s at {sr} Hz, SNR {mix.snr_db[0]:.1f} dB")

# %%
# Log-magnitude STFT and gammatone cochleagram
# --------------------------------------------
# Both front ends use a hop of 256 samples (16 ms at 16 kHz) and centred
# frames, so their frames line up: frame ``k`` is centred on sample ``256 k``.
stft = STFTTransformer(sr=sr)                   # 512-point FFT: 257 bins
coch = CochleagramTransformer(sr=sr)            # 64 ERB-spaced channels, 50 Hz .. 8 kHz
S = stft.fit_transform([noisy])[0]
C = coch.fit_transform([noisy])[0]
print("STFT features:", S.shape, " cochleagram features:", C.shape)

# %%
# Ideal ratio masks
# -----------------
# ``(S^2 / (S^2 + N^2)) ** 0.5`` on each front end's energy (``power``): close
# to 1 where speech dominates, close to 0 where noise does.
irm_stft = ideal_ratio_mask(clean, added, stft)
irm_coch = ideal_ratio_mask(clean, added, coch)

times = np.arange(S.shape[0]) * stft.hop_length / sr
extent_stft = [0, times[-1], 0, sr / 2000]
extent_coch = [0, times[-1], 0, coch.n_channels]
fig, axes = plt.subplots(2, 2, figsize=(10, 6), sharex=True, constrained_layout=True)
panels = [
    (axes[0, 0], S.T, extent_stft, "noisy log-magnitude STFT", "kHz", "magma"),
    (axes[0, 1], irm_stft.T, extent_stft, "IRM on the STFT", "kHz", "viridis"),
    (axes[1, 0], C.T, extent_coch, "noisy log cochleagram", "channel", "magma"),
    (axes[1, 1], irm_coch.T, extent_coch, "IRM on the cochleagram", "channel", "viridis"),
]
for ax, image, extent, title, ylabel, cmap in panels:
    im = ax.imshow(image, origin="lower", aspect="auto", extent=extent, cmap=cmap)
    ax.set(title=title, ylabel=ylabel)
    fig.colorbar(im, ax=ax)
for ax in axes[1]:
    ax.set_xlabel("time (s)")
plt.show()

# %%
# Resynthesis with the oracle mask
# --------------------------------
# A front end applies a mask to the noisy waveform and returns a waveform of
# the same length. With the ideal mask this is the ceiling of mask-based
# enhancement in that representation.
for name, front_end, mask in [("STFT", stft, irm_stft), ("cochleagram", coch, irm_coch)]:
    restored = front_end.apply_mask(noisy, mask)
    print(f"{name:12s} oracle IRM: STOI {stoi(clean, restored, sr):.3f} "
          f"(noisy input {stoi(clean, noisy, sr):.3f})")
