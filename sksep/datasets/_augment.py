"""Seeded, composable augmentations of (clean, noise) pairs before mixing.

Every augmentation is a callable ``aug(clean, noise, rng) -> (clean, noise)``,
the ``augment`` hook of :class:`sksep.models.MixingDataset`: it gets the clean
utterance and the noise stretch cut to its length, and returns float32
waveforms of the same length. All randomness comes from ``rng`` (a
:class:`numpy.random.Generator`, or a seed), so one seed gives one output.

The effects on held-out results quoted in each class's Notes come from one
seeded run of ``python scripts/measure_augmentation.py`` on the bundled sample
(8 kHz; DNN_0 on cochleagram features with the comparison's FULL settings; 218
training mixtures; 43 test utterances of an unseen speaker in unseen noise, each
at -5, 0 and 5 dB; the noise re-scaled to the drawn SNR after augmenting): small,
noisy evidence. Without augmentation that model's STOI gain over the noisy input
was +0.0037 / +0.0191 / +0.0171 at -5 / 0 / 5 dB.

On the larger corpus (``scripts/train_pretrained.py``, 16 kHz, streamed,
scored on held-out speakers and four noise kinds never heard in training),
``Compose([RandomGain(-10, 10), SpectralTilt(target="both"),
SyntheticNoise(prob=0.3, mode="add"), Reverb(prob=0.2, max_order=3)])`` gave
an unseen-kind STOI gain of +0.010 / +0.009 / +0.003 against +0.016 / +0.013 /
+0.002 for the same command without augmentation (one seeded run each; the
augmented run's early stopping kept an earlier epoch). On the later CNN_1
recipe, :class:`SpeedPerturb` on the noise alone raised the unseen-kind gains
(numbers in its Notes); the pretrained default trains with it. See the
pretrained model card in the user guide.
"""

import inspect
import numbers

import numpy as np
import scipy.signal

from .._validation import check_sr, check_waveform
from ..exceptions import AudioError, ParameterError

_TARGETS = ("speech", "noise", "both")
NOISE_KINDS = ("white", "pink", "brown", "bandlimited", "modulated", "impulsive", "hum")


class _Augmentation:
    """Shared repr: the class name and every ``__init__`` parameter, in order."""

    def __repr__(self):
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{type(self).__name__}({args})"


def _rng(rng):
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _pair(clean, noise):
    clean = check_waveform(clean, name="clean")
    noise = check_waveform(noise, name="noise")
    if len(clean) != len(noise):
        raise AudioError(f"clean has {len(clean)} samples but noise has {len(noise)}")
    return clean, noise


def _rms(y):
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))


def _match_rms(y, reference_rms):
    """``y`` scaled to ``reference_rms`` (float32); a silent ``y`` stays silent."""
    r = _rms(y)
    return (y * (reference_rms / r) if r > 0 else y).astype(np.float32)


def _check_prob(prob):
    if not isinstance(prob, numbers.Real) or not 0 <= prob <= 1:
        raise ParameterError(f"prob must be a number in [0, 1], got prob={prob!r}")


def _check_range(lo, hi, name_lo, name_hi):
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise ParameterError(
            f"{name_lo} and {name_hi} must be finite with {name_lo} <= {name_hi}, "
            f"got {name_lo}={lo!r}, {name_hi}={hi!r}"
        )


class Compose:
    """Apply augmentations one after the other.

    Parameters
    ----------
    augmentations : list of callable
        Each ``aug(clean, noise, rng) -> (clean, noise)``; all share ``rng``.

    Notes
    -----
    Effect on held-out results, measured for one composition,
    ``Compose([SpectralTilt(target="both"), SyntheticNoise(prob=0.5,
    mode="add"), Reverb(prob=0.5, rt60_range=(0.2, 0.6), max_order=3)])``:
    STOI gain -0.0057 / -0.0065 / -0.0048 (PESQ gain -0.00 / +0.00 / -0.02)
    at -5 / 0 / 5 dB against no augmentation (how it was measured: see the module
    docstring).
    Its STOI change was below that of each part alone, but all of these
    differences are small for one seeded run.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.datasets import Compose, RandomGain, SpectralTilt
    >>> aug = Compose([RandomGain(-6, 6), SpectralTilt(sr=8000, max_db_per_octave=3)])
    >>> y = np.random.default_rng(0).normal(0, 0.1, 800).astype(np.float32)
    >>> c1, n1 = aug(y, y, np.random.default_rng(1))
    >>> c2, n2 = aug(y, y, np.random.default_rng(1))
    >>> bool(np.array_equal(c1, c2)), c1.shape
    (True, (800,))
    """

    def __init__(self, augmentations):
        augmentations = list(augmentations)
        for i, aug in enumerate(augmentations):
            if not callable(aug):
                raise ParameterError(f"augmentations[{i}] must be callable, got {aug!r}")
        self.augmentations = augmentations

    def __repr__(self):
        return f"Compose({self.augmentations!r})"

    def __call__(self, clean, noise, rng=None):
        rng = _rng(rng)
        clean, noise = _pair(clean, noise)
        for aug in self.augmentations:
            clean, noise = _pair(*aug(clean, noise, rng))
        return clean, noise


class RandomGain(_Augmentation):
    """Scale clean speech and noise by one random gain, uniform in dB.

    Teaches a model not to depend on the input level. The SNR is unchanged.

    Parameters
    ----------
    min_db, max_db : float, default=-20.0, 10.0
        Range of the gain in dB.

    Notes
    -----
    :class:`sksep.models.MixingDataset` brings each mixture to ``level_db``
    before computing features (as :class:`sksep.SpeechEnhancer` does), which
    undoes this gain; use it with ``level_db=None`` or in an offline mixing
    path. The mixing step's clipping guard (``peak``) may still scale a loud
    mixture down.

    Effect on held-out results: not yet measured.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.datasets import RandomGain
    >>> y = np.full(100, 0.1, dtype=np.float32)
    >>> c, n = RandomGain(-6, -6)(y, y, np.random.default_rng(0))
    >>> print(round(float(c[0] / y[0]), 3))
    0.501
    """

    def __init__(self, min_db=-20.0, max_db=10.0):
        self.min_db = min_db
        self.max_db = max_db

    def __call__(self, clean, noise, rng=None):
        _check_range(self.min_db, self.max_db, "min_db", "max_db")
        rng = _rng(rng)
        clean, noise = _pair(clean, noise)
        g = np.float32(10 ** (rng.uniform(self.min_db, self.max_db) / 20))
        return clean * g, noise * g


def _speed(y, rate, max_denominator=64):
    """``y`` played ``rate`` times faster (pitch and tempo), tiled or cut to its length.

    Resampled with a polyphase filter by the nearest fraction ``up / down`` to
    ``1 / rate``; the RMS is kept.
    """
    from fractions import Fraction

    frac = Fraction(1.0 / rate).limit_denominator(max_denominator)
    out = scipy.signal.resample_poly(y.astype(np.float64), frac.numerator, frac.denominator)
    if len(out) < len(y):
        out = np.resize(out, len(y))  # repeats from the start
    return _match_rms(out[: len(y)], _rms(y))


class SpeedPerturb(_Augmentation):
    """Play the noise (or the speech) faster or slower: new pitches and tempi.

    A rate of 1.25 raises every frequency by a factor 1.25 (almost four
    semitones) and shortens the events by as much; it turns one noise
    recording into many that share its texture but not its spectrum, which
    is what a model meets in a new recording of a known kind. The result is
    cut (or, when faster, repeated from its start) to the input's length and
    keeps its RMS, so the SNR drawn for the mixture is unchanged.

    Parameters
    ----------
    sr : int
        Sample rate in Hz (only checked: the rate is a ratio).
    min_rate, max_rate : float, default=0.8, 1.25
        Range of the speed factor, drawn log-uniformly (as many mixtures slowed
        down as sped up).
    prob : float, default=0.5
        Probability of perturbing a given pair.
    target : {"noise", "speech", "both"}, default="noise"
        What to perturb; "both" draws one rate for each.

    Notes
    -----
    Effect on held-out results, on an earlier recipe of the pretrained default
    (CNN_1 at its default widths on a noise-aware cochleagram, 24 epochs on
    the larger corpus, one seeded run each,
    ``scripts/train_pretrained.py --augment speed`` against
    ``--augment none``): on held-out speakers and noise kinds never heard in training, STOI
    gain +0.050 / +0.040 / +0.027 at -5 / 0 / 5 dB against +0.042 / +0.035 /
    +0.025, PESQ gain +0.190 / +0.134 / +0.156 against +0.123 / +0.104 /
    +0.138; matched kinds about unchanged, but on the bundled sample's test
    split (one speaker, five mostly matched kinds) +0.039 STOI at 0 dB against
    +0.043 (its babble and percussion lose). On the bundled sample's comparison
    data (CNN_1 on cochleagram, FULL settings, each fixed training mixture
    perturbed once with ``prob=0.5``, so no fresh draws per epoch): STOI gain
    +0.020 / +0.029 / +0.028 / +0.017 at -5 / -2 / 0 / 5 dB against +0.019 /
    +0.033 / +0.029 / +0.018 without, no help.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.datasets import SpeedPerturb
    >>> sr = 8000
    >>> t = np.arange(sr) / sr
    >>> tone = np.sin(2 * np.pi * 500 * t).astype(np.float32)
    >>> aug = SpeedPerturb(sr, min_rate=1.25, max_rate=1.25, prob=1.0)
    >>> clean, noise = aug(tone, tone, np.random.default_rng(0))
    >>> peak = np.argmax(np.abs(np.fft.rfft(noise))) * sr / len(noise)
    >>> print(round(float(peak)), noise.shape, bool(np.array_equal(clean, tone)))
    625 (8000,) True
    """

    def __init__(self, sr, min_rate=0.8, max_rate=1.25, prob=0.5, target="noise"):
        self.sr = sr
        self.min_rate = min_rate
        self.max_rate = max_rate
        self.prob = prob
        self.target = target

    def __call__(self, clean, noise, rng=None):
        check_sr(self.sr)
        _check_range(self.min_rate, self.max_rate, "min_rate", "max_rate")
        if self.min_rate <= 0:
            raise ParameterError(f"min_rate must be positive, got min_rate={self.min_rate!r}")
        _check_prob(self.prob)
        if self.target not in _TARGETS:
            raise ParameterError(f"target must be one of {_TARGETS}, got target={self.target!r}")
        rng = _rng(rng)
        clean, noise = _pair(clean, noise)
        if rng.random() >= self.prob:
            return clean, noise
        lo, hi = np.log(self.min_rate), np.log(self.max_rate)
        if self.target in ("speech", "both"):
            clean = _speed(clean, float(np.exp(rng.uniform(lo, hi))))
        if self.target in ("noise", "both"):
            noise = _speed(noise, float(np.exp(rng.uniform(lo, hi))))
        return clean, noise


def _stretch(y, n, rng):
    """A random ``n``-sample stretch of ``y``: cut when longer, looped when shorter."""
    if len(y) >= n:
        offset = int(rng.integers(0, len(y) - n + 1))
        return y[offset:offset + n]
    return np.take(y, int(rng.integers(0, len(y))) + np.arange(n), mode="wrap")


class NoiseMix(_Augmentation):
    """Add a stretch of another noise recording to the noise: new combinations of sources.

    With probability ``prob``, a recording is drawn from ``pool`` (uniformly,
    each recording equally likely), a random stretch of the noise's length is
    cut from it (looped when the recording is shorter), and added to the noise
    at a level drawn uniformly from ``min_db`` to ``max_db`` relative to the
    noise's RMS; the sum is brought back to the noise's RMS, so the SNR drawn
    for the mixture is unchanged. A few dozen recordings give a few hundred
    pairs of sources, a cheap way to widen what the training noise sounds like.

    Parameters
    ----------
    pool : AudioCollection or sequence of array-like
        Mono recordings to draw the added noise from, at ``sr`` (typically the
        training noise itself). Silent recordings are not drawn.
    sr : int
        Sample rate in Hz; must match ``pool.sr`` when ``pool`` has one.
    min_db, max_db : float, default=-6.0, 6.0
        Range of the added recording's level relative to the noise, in dB.
    prob : float, default=0.5
        Probability of changing a given pair.

    Notes
    -----
    The speech is returned unchanged, and so is a silent noise stretch (it has
    no level to be relative to).

    Effect on held-out results, on an earlier recipe of the pretrained default
    (CNN_1 at its default widths; one seeded run,
    ``scripts/train_pretrained.py --augment mix``: this with the defaults,
    then :class:`SpeedPerturb`, against ``--augment speed``): on held-out
    speakers and unseen noise kinds STOI gain +0.047 / +0.038 / +0.030 at -5 /
    0 / 5 dB against +0.050 / +0.040 / +0.027, PESQ gain +0.142 / +0.112 /
    +0.146 against +0.190 / +0.134 / +0.156, and one unseen cell
    (``game-music`` PESQ at -5 dB, -0.011) no longer improved; matched kinds
    gained a little (STOI +0.041 / +0.047 / +0.033 against +0.037 / +0.041 /
    +0.032). No help where it counts, so the pretrained default does not use it.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.datasets import NoiseMix
    >>> sr = 8000
    >>> t = np.arange(sr) / sr
    >>> hum = np.sin(2 * np.pi * 100 * t).astype(np.float32)
    >>> whistle = np.sin(2 * np.pi * 2000 * t).astype(np.float32)
    >>> aug = NoiseMix([whistle], sr, min_db=0.0, max_db=0.0, prob=1.0)
    >>> clean, noise = aug(hum, hum, np.random.default_rng(0))
    >>> spectrum = np.abs(np.fft.rfft(noise))
    >>> print(bool(spectrum[2000] > 0.4 * spectrum[100]), bool(np.array_equal(clean, hum)))
    True True
    >>> print(round(float(np.std(noise) / np.std(hum)), 3))
    1.0
    """

    def __init__(self, pool, sr, min_db=-6.0, max_db=6.0, prob=0.5):
        self.pool = pool
        self.sr = sr
        self.min_db = min_db
        self.max_db = max_db
        self.prob = prob

    def __repr__(self):
        return (f"NoiseMix(pool=<{len(self.pool)} recordings>, sr={self.sr!r}, "
                f"min_db={self.min_db!r}, max_db={self.max_db!r}, prob={self.prob!r})")

    def _voiced_pool(self):
        sr = check_sr(self.sr)
        pool_sr = getattr(self.pool, "sr", None)
        if pool_sr is not None and pool_sr != sr:
            raise ParameterError(
                f"pool is at {pool_sr} Hz but sr={sr}; resample the pool first "
                "(AudioCollection.resample)")
        if isinstance(self.pool, np.ndarray) and self.pool.ndim == 1 and self.pool.dtype != object:
            raise ParameterError("pool is a single waveform; pass a list of recordings, e.g. [y]")
        cached = getattr(self, "_voiced", None)
        if cached is not None and cached[0] is self.pool:
            return cached[1]
        voiced = []
        for i in range(len(self.pool)):
            y = check_waveform(self.pool[i], name=f"pool[{i}]")
            if _rms(y) > 0:
                voiced.append(y)
        if not voiced:
            raise AudioError("pool has no non-silent recording to add")
        self._voiced = (self.pool, voiced)
        return voiced

    def __call__(self, clean, noise, rng=None):
        _check_range(self.min_db, self.max_db, "min_db", "max_db")
        _check_prob(self.prob)
        voiced = self._voiced_pool()
        rng = _rng(rng)
        clean, noise = _pair(clean, noise)
        if rng.random() >= self.prob:
            return clean, noise
        level = _rms(noise)
        if level == 0:
            return clean, noise
        other = _stretch(voiced[int(rng.integers(len(voiced)))], len(noise), rng)
        gain = level * 10 ** (rng.uniform(self.min_db, self.max_db) / 20)
        if _rms(other) == 0:  # a silent stretch of a recording that is not silent overall
            return clean, noise
        gain /= _rms(other)
        return clean, _match_rms(noise.astype(np.float64) + gain * other, level)


def _tilt(y, sr, db_per_octave, f_ref=1000.0, f_min=50.0):
    """``y`` with a spectral slope of ``db_per_octave`` about ``f_ref``, same RMS."""
    spec = np.fft.rfft(y.astype(np.float64))
    f = np.maximum(np.fft.rfftfreq(len(y), 1 / sr), f_min)
    spec *= 10 ** (db_per_octave * np.log2(f / f_ref) / 20)
    return _match_rms(np.fft.irfft(spec, n=len(y)), _rms(y))


class SpectralTilt(_Augmentation):
    """Tilt the spectrum of the speech, the noise or both by a random slope.

    A linear-in-log-frequency EQ (``s`` dB per octave about 1 kHz, flat below
    50 Hz) applied in the FFT domain; the signal keeps its RMS, so only its
    spectral shape (the colour of the microphone or channel) changes.

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    max_db_per_octave : float, default=3.0
        Slopes are drawn uniformly in ``[-max_db_per_octave, max_db_per_octave]``.
    target : {"speech", "noise", "both"}, default="speech"
        What to tilt; ``"both"`` draws one slope for each.

    Notes
    -----
    Effect on held-out results (``max_db_per_octave=3``, ``target="both"``):
    STOI gain -0.0024 / -0.0026 / -0.0018 (PESQ gain +0.02 / +0.01 / +0.00)
    at -5 / 0 / 5 dB against no augmentation (how it was measured: see the module
    docstring).
    No clear effect either way.

    With ``target="noise"`` after :class:`SpeedPerturb`, on the recipe of the
    pretrained default (``scripts/train_pretrained.py --augment speed-tilt``,
    two seeded pairs of short runs against ``--augment speed``; see the
    pretrained model card): on noise kinds never heard in training, STOI gain
    +0.033 / +0.029 / +0.023 against +0.033 / +0.027 / +0.019 at -5 / 0 / 5 dB
    (mean of the two seeds; at -5 dB one seed gained +0.005, the other lost as
    much) and PESQ gain 0.01 to 0.02 higher: a small effect, within the spread
    between seeds at -5 dB.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.datasets import SpectralTilt
    >>> y = np.random.default_rng(0).normal(0, 0.1, 8000).astype(np.float32)
    >>> c, n = SpectralTilt(sr=8000, max_db_per_octave=6, target="speech")(y, y, 0)
    >>> c.shape, bool(np.array_equal(n, y)), bool(np.allclose(np.std(c), np.std(y), rtol=1e-3))
    ((8000,), True, True)
    """

    def __init__(self, sr, max_db_per_octave=3.0, target="speech"):
        self.sr = sr
        self.max_db_per_octave = max_db_per_octave
        self.target = target

    def __call__(self, clean, noise, rng=None):
        sr = check_sr(self.sr)
        if self.target not in _TARGETS:
            raise ParameterError(f"target must be one of {_TARGETS}, got target={self.target!r}")
        m = self.max_db_per_octave
        if not isinstance(m, numbers.Real) or not np.isfinite(m) or m < 0:
            raise ParameterError(f"max_db_per_octave must be a finite number >= 0, got {m!r}")
        rng = _rng(rng)
        clean, noise = _pair(clean, noise)
        s_clean, s_noise = rng.uniform(-m, m, size=2)
        if self.target in ("speech", "both"):
            clean = _tilt(clean, sr, s_clean)
        if self.target in ("noise", "both"):
            noise = _tilt(noise, sr, s_noise)
        return clean, noise


def _coloured(n, sr, rng, exponent):
    """Gaussian noise with power spectrum ``~ 1 / f**exponent`` (flat below 20 Hz)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1 / sr), 20.0)
    return np.fft.irfft(spec * f ** (-exponent / 2), n=n)


def synthetic_noise(kind, n_samples, sr, rng=None):
    """One synthetic noise waveform of a named family, at unit RMS.

    Parameters
    ----------
    kind : {"white", "pink", "brown", "bandlimited", "modulated", "impulsive", "hum"}
        ``white``/``pink``/``brown``: Gaussian noise with a power spectrum
        falling 0, 3 or 6 dB per octave. ``bandlimited``: white noise through a
        4th-order Butterworth band-pass with random edges. ``modulated``: pink
        noise under a 0.5-8 Hz sinusoidal amplitude envelope (depth 0.5-1).
        ``impulsive``: random clicks (2-20 per second, decaying bursts of
        1-10 ms) over a floor 40 dB down. ``hum``: a 50 or 60 Hz (+-2 %)
        harmonic series, harmonics falling 3-9 dB each, over a white floor
        40 dB down.
    n_samples : int
        Length.
    sr : int
        Sample rate in Hz.
    rng : numpy.random.Generator, int or None
        Source of the random draws.

    Returns
    -------
    y : ndarray of shape (n_samples,), float32

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.datasets import synthetic_noise
    >>> y = synthetic_noise("pink", 8000, 8000, rng=0)
    >>> y.shape, round(float(np.sqrt(np.mean(y ** 2))), 3)
    ((8000,), 1.0)
    """
    if kind not in NOISE_KINDS:
        raise ParameterError(f"kind must be one of {NOISE_KINDS}, got kind={kind!r}")
    sr = check_sr(sr)
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 2:
        raise ParameterError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    rng = _rng(rng)
    n = int(n_samples)
    t = np.arange(n) / sr
    if kind in ("white", "pink", "brown"):
        y = _coloured(n, sr, rng, {"white": 0.0, "pink": 1.0, "brown": 2.0}[kind])
    elif kind == "bandlimited":
        nyq = sr / 2
        lo = rng.uniform(0.01, 0.5) * nyq
        hi = min(lo * 2 ** rng.uniform(1, 4), 0.95 * nyq)
        sos = scipy.signal.butter(4, [lo, hi], btype="bandpass", fs=sr, output="sos")
        y = scipy.signal.sosfilt(sos, rng.standard_normal(n))
    elif kind == "modulated":
        rate, depth = rng.uniform(0.5, 8.0), rng.uniform(0.5, 1.0)
        envelope = 1 + depth * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi))
        y = _coloured(n, sr, rng, 1.0) * envelope
    elif kind == "impulsive":
        y = 0.01 * rng.standard_normal(n)
        n_clicks = max(1, rng.poisson(rng.uniform(2, 20) * n / sr))
        for start in rng.integers(0, n, size=n_clicks):
            length = max(2, int(rng.uniform(0.001, 0.01) * sr))
            burst = rng.standard_normal(length) * np.exp(-np.arange(length) * 5 / length)
            stop = min(n, start + length)
            y[start:stop] += burst[: stop - start] * rng.uniform(0.3, 1.0)
    else:  # hum
        f0 = rng.choice([50.0, 60.0]) * rng.uniform(0.98, 1.02)
        fall = rng.uniform(3, 9)
        y = 1e-2 * rng.standard_normal(n)
        for h in range(1, int(sr / 2 // f0) + 1):
            amp = 10 ** (-fall * (h - 1) / 20)
            if amp < 1e-3:
                break
            y += amp * np.sin(2 * np.pi * h * f0 * t + rng.uniform(0, 2 * np.pi))
    return _match_rms(y, 1.0)


class SyntheticNoise(_Augmentation):
    """Replace the noise with (or add to it) a synthetic noise family, at the same level.

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    kinds : sequence of str, default=all of them
        Families to draw from (uniformly); see :func:`synthetic_noise`.
    prob : float, default=0.5
        Chance that an item is changed at all.
    mode : {"replace", "add"}, default="replace"
        ``"replace"``: the synthetic noise, at the RMS of the original noise,
        takes its place. ``"add"``: it is added at that RMS, then the sum is
        brought back to the original RMS.

    Notes
    -----
    The mixing step sets the SNR afterwards, so only the noise's character,
    not its level, matters here.

    Effect on held-out results (all kinds, ``prob=0.5``, ``mode="add"``):
    STOI gain +0.0028 / +0.0024 / -0.0005 (PESQ gain +0.00 / +0.00 / -0.01)
    at -5 / 0 / 5 dB against no augmentation (how it was measured: see the module
    docstring).
    No clear effect either way.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.datasets import SyntheticNoise
    >>> rng = np.random.default_rng(0)
    >>> clean, noise = rng.normal(0, 0.1, (2, 8000)).astype(np.float32)
    >>> c, n = SyntheticNoise(sr=8000, kinds=["hum"], prob=1.0)(clean, noise, 0)
    >>> bool(np.array_equal(c, clean)), bool(np.isclose(np.std(n), np.std(noise), rtol=1e-2))
    (True, True)
    """

    def __init__(self, sr, kinds=NOISE_KINDS, prob=0.5, mode="replace"):
        self.sr = sr
        self.kinds = kinds
        self.prob = prob
        self.mode = mode

    def __call__(self, clean, noise, rng=None):
        sr = check_sr(self.sr)
        kinds = list(self.kinds)
        bad = [k for k in kinds if k not in NOISE_KINDS]
        if not kinds or bad:
            raise ParameterError(
                f"kinds must be a non-empty subset of {NOISE_KINDS}, got {kinds!r}")
        _check_prob(self.prob)
        if self.mode not in ("replace", "add"):
            raise ParameterError(f"mode must be 'replace' or 'add', got mode={self.mode!r}")
        rng = _rng(rng)
        clean, noise = _pair(clean, noise)
        if rng.random() >= self.prob or len(noise) < 2:
            return clean, noise
        level = _rms(noise)
        synth = synthetic_noise(kinds[int(rng.integers(len(kinds)))], len(noise), sr, rng)
        if self.mode == "replace":
            return clean, _match_rms(synth, level)
        return clean, _match_rms(noise + synth * level, level)


def _room_rir(sr, rt60, rng, max_order):
    import pyroomacoustics as pra

    dim = np.array([rng.uniform(3, 10), rng.uniform(3, 8), rng.uniform(2.4, 4)])
    absorption, order = pra.inverse_sabine(rt60, dim)
    if max_order is not None:
        order = min(order, int(max_order))
    room = pra.ShoeBox(dim, fs=sr, materials=pra.Material(absorption), max_order=order)
    margin = 0.5
    source = rng.uniform(margin, dim - margin)
    mic = rng.uniform(margin, dim - margin)
    room.add_source(source)
    room.add_microphone(mic)
    room.compute_rir()
    return np.asarray(room.rir[0][0], dtype=np.float64)


class Reverb(_Augmentation):
    """Reverberate the clean speech with a simulated room impulse response.

    A shoebox room (3-10 m x 3-8 m x 2.4-4 m) with a random source and
    microphone position is simulated by the image-source method of
    :mod:`pyroomacoustics`, its wall absorption set by
    :func:`pyroomacoustics.inverse_sabine` for an RT60 drawn uniformly from
    ``rt60_range``.

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    rt60_range : (float, float), default=(0.2, 0.6)
        Range of the reverberation time in seconds.
    prob : float, default=0.5
        Chance that an item is reverberated.
    max_order : int or None, default=None
        Cap on the image-source order (None: what ``inverse_sabine`` asks).
        Simulation time grows quickly with it (about 0.01 s at RT60 0.2 s,
        0.7 s at 0.9 s, 8 kHz); a cap shortens the simulated tail.

    Notes
    -----
    **Target definition**: the returned ``clean`` is the *reverberant*
    speech, so the mask targets keep the reverberation and the model learns
    to remove noise, not to dereverberate. The impulse response is cut at its
    direct-path peak (so the speech is not delayed), the result is cut to the
    input length (the tail past the end is dropped), and it is brought back to
    the input's RMS. The noise is left as it is.

    Effect on held-out results (``rt60_range=(0.2, 0.6)``, ``prob=0.5``,
    ``max_order=3``; the test set is not reverberant): STOI gain
    +0.0018 / +0.0002 / -0.0013 (PESQ gain +0.04 / +0.00 / -0.01) at
    -5 / 0 / 5 dB against no augmentation (how it was measured: see the module
    docstring).
    No clear effect either way.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.datasets import Reverb
    >>> rng = np.random.default_rng(0)
    >>> clean, noise = rng.normal(0, 0.1, (2, 4000)).astype(np.float32)
    >>> c, n = Reverb(sr=8000, rt60_range=(0.3, 0.3), prob=1.0)(clean, noise, 0)
    >>> c.shape, bool(np.isfinite(c).all()), bool(np.array_equal(n, noise))
    ((4000,), True, True)
    """

    def __init__(self, sr, rt60_range=(0.2, 0.6), prob=0.5, max_order=None):
        self.sr = sr
        self.rt60_range = rt60_range
        self.prob = prob
        self.max_order = max_order

    def __call__(self, clean, noise, rng=None):
        sr = check_sr(self.sr)
        try:
            lo, hi = (float(v) for v in self.rt60_range)
        except (TypeError, ValueError) as exc:
            raise ParameterError(
                f"rt60_range must be a pair of seconds, got {self.rt60_range!r}") from exc
        _check_range(lo, hi, "rt60_range[0]", "rt60_range[1]")
        if lo <= 0:
            raise ParameterError(f"rt60_range must be positive, got {self.rt60_range!r}")
        _check_prob(self.prob)
        if self.max_order is not None and (
            isinstance(self.max_order, bool) or not isinstance(self.max_order, numbers.Integral)
            or self.max_order < 0
        ):
            raise ParameterError(
                f"max_order must be an integer >= 0 or None, got {self.max_order!r}")
        rng = _rng(rng)
        clean, noise = _pair(clean, noise)
        if rng.random() >= self.prob:
            return clean, noise
        rir = _room_rir(sr, rng.uniform(lo, hi), rng, self.max_order)
        rir = rir[int(np.argmax(np.abs(rir))):]
        wet = scipy.signal.fftconvolve(clean.astype(np.float64), rir)[: len(clean)]
        return _match_rms(wet, _rms(clean)), noise


def make_babble(speech, n_samples, *, n_talkers=5, exclude_speaker=None, rng=None):
    """Babble noise: a sum of utterances by several talkers, at unit RMS.

    Parameters
    ----------
    speech : AudioCollection
        Utterances to draw from (e.g. the training speech); a ``speaker``
        meta column is needed with ``exclude_speaker``.
    n_samples : int
        Length of the babble.
    n_talkers : int, default=5
        Utterances summed, each at unit RMS, looped to ``n_samples`` from a
        random offset (drawn with replacement when fewer are available).
    exclude_speaker : str or None, default=None
        Speaker whose utterances are left out (the speaker of the utterance the
        babble will be mixed with), so the target voice is not in the noise.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    y : ndarray of shape (n_samples,), float32

    Notes
    -----
    To use babble in :class:`sksep.models.MixingDataset`, build a set of
    babble waveforms with this function and pass them (with the other noise)
    as its ``noise``.

    Effect on held-out results: not yet measured.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.datasets import AudioCollection, make_babble
    >>> rng = np.random.default_rng(0)
    >>> speech = AudioCollection([rng.normal(0, 0.1, 3000) for _ in range(4)], 8000,
    ...                          meta={"speaker": ["a", "b", "c", "c"]})
    >>> y = make_babble(speech, 8000, n_talkers=3, exclude_speaker="a", rng=0)
    >>> y.shape, round(float(np.sqrt(np.mean(y ** 2))), 3)
    ((8000,), 1.0)
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ParameterError(f"n_samples must be a positive integer, got {n_samples!r}")
    if isinstance(n_talkers, bool) or not isinstance(n_talkers, numbers.Integral) or n_talkers < 1:
        raise ParameterError(f"n_talkers must be a positive integer, got {n_talkers!r}")
    if not hasattr(speech, "meta"):
        raise ParameterError(f"speech must be an AudioCollection, got {type(speech).__name__}")
    rng = _rng(rng)
    pool = np.arange(len(speech))
    if exclude_speaker is not None:
        if "speaker" not in speech.meta.columns:
            raise ParameterError("speech has no 'speaker' column to exclude a speaker by")
        pool = pool[speech.column("speaker").astype(str) != str(exclude_speaker)]
    voiced = [i for i in pool if _rms(speech[int(i)]) > 0]
    if not voiced:
        raise AudioError(
            "no non-silent utterance is left to make babble from "
            f"(exclude_speaker={exclude_speaker!r})"
        )
    picks = rng.choice(voiced, size=n_talkers, replace=n_talkers > len(voiced))
    out = np.zeros(int(n_samples))
    for i in picks:
        y = speech[int(i)].astype(np.float64)
        offset = int(rng.integers(len(y)))
        out += np.take(y, offset + np.arange(int(n_samples)), mode="wrap") / _rms(y)
    if _rms(out) == 0:
        raise AudioError("the babble came out silent; use longer or more utterances")
    return _match_rms(out, 1.0)
