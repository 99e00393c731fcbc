"""Read and write audio files: WAV, FLAC, OGG, NIST SPHERE and anything libsndfile knows.

Everything read comes out as float32 (librosa's convention): a 1-D array for
mono, ``(n_channels, n_samples)`` when channels are kept. Resampling uses soxr
at its high-quality setting, as :func:`librosa.resample` does by default.
Writing guards against clipping: float data beyond [-1, 1] written as integer
PCM is refused (or clipped, or normalised) by an explicit parameter, never
silently.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> from sksep import io
>>> y = 0.1 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
>>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
>>> io.save(path, y, 16000)
>>> y8, sr = io.load(path, sr=8000)
>>> y8.dtype, y8.shape, sr
(dtype('float32'), (8000,), 8000)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ._atomic import atomic_path
from ._validation import check_sr
from .exceptions import AudioError, ParameterError

__all__ = ["AudioInfo", "info", "load", "resample", "save"]

_MONO_MODES = ("mix", "first", "refuse", "keep")
_CLIP_MODES = ("error", "clip", "normalize")
_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")


@dataclass(frozen=True)
class AudioInfo:
    """What :func:`info` reports about an audio file (read from its header only)."""

    path: str
    sr: int
    n_samples: int
    n_channels: int
    format: str
    subtype: str

    @property
    def duration(self):
        """Length in seconds."""
        return self.n_samples / self.sr


def _check_path(path):
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"audio file not found: {str(path)!r}")
    if path.is_dir():
        raise IsADirectoryError(f"expected an audio file, got a directory: {str(path)!r}")
    if path.stat().st_size == 0:
        raise AudioError(f"cannot read audio file {str(path)!r}: the file is empty (0 bytes)")
    return path


#: RIFF ``data`` sizes that streaming writers use for "length unknown"; not a truncation
_UNKNOWN_RIFF_SIZES = (0, 0x7FFFFFFF, 0xFFFFFFFF)


#: SPHERE ``sample_coding`` values whose samples are stored raw (``sample_n_bytes`` each)
_SPHERE_RAW_CODINGS = ("pcm", "ulaw", "mu-law", "alaw", "pculaw")
#: largest SPHERE header read when checking for truncation (TIMIT's is 1024 bytes)
_SPHERE_MAX_HEADER = 1 << 20


def _riff_declared(f, size):
    """``(declared, present)`` bytes of sample data of a RIFF/WAVE file, or None."""
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= size:
        f.seek(pos)
        chunk = f.read(8)
        cid, length = chunk[:4], int.from_bytes(chunk[4:], "little")
        if cid == b"data":
            if length in _UNKNOWN_RIFF_SIZES:
                return None
            return length, size - pos - 8
        pos += 8 + length + (length & 1)
    return None


def _sphere_fields(header):
    """The ``name -type value`` fields of a NIST SPHERE header, as strings."""
    fields = {}
    for line in header.decode("latin-1").splitlines()[2:]:
        parts = line.strip().split(None, 2)
        if not parts or parts[0] == "end_head":
            break
        if len(parts) == 3 and parts[1].startswith("-"):
            fields[parts[0]] = parts[2].strip()
    return fields


def _sphere_declared(f, size):
    """``(declared, present)`` bytes of sample data of an uncompressed NIST SPHERE file, or None.

    None also for compressed samples (shorten, wavpack: their size is not known
    from the header) and for headers that do not give the sizes.
    """
    head = f.read(16)
    if not head.startswith(b"NIST_1A"):
        return None
    lines = head.split(b"\n")
    try:
        header_size = int(lines[1].strip()) if len(lines) > 1 else -1
    except ValueError:
        return None
    if not 16 <= header_size <= _SPHERE_MAX_HEADER:
        return None
    f.seek(0)
    fields = _sphere_fields(f.read(header_size))
    coding = fields.get("sample_coding", "pcm").strip().lower()
    if coding not in _SPHERE_RAW_CODINGS:  # e.g. "pcm,embedded-shorten-v2.00"
        return None
    try:
        n = int(fields["sample_count"])
        width = int(fields["sample_n_bytes"])
        channels = int(fields.get("channel_count", "1"))
    except (KeyError, ValueError):
        return None
    if n < 0 or width < 1 or channels < 1:
        return None
    return n * width * channels, max(size - header_size, 0)


def _check_not_truncated(path):
    """Refuse a WAV or SPHERE file whose header declares more sample data than the file holds.

    libsndfile reads such a file (a download or a write cut short) as a shorter
    valid one; sksep refuses it so that a truncated file is never taken for a
    finished one. RIFF/WAVE files and uncompressed NIST SPHERE files (TIMIT's
    format) are checked; other formats, compressed SPHERE and WAVs streamed
    with "length unknown" are left to libsndfile.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        sizes = _riff_declared(f, size)
        if sizes is None:
            f.seek(0)
            sizes = _sphere_declared(f, size)
    if sizes is not None and sizes[0] > sizes[1]:
        raise AudioError(
            f"{str(path)!r} is truncated: its header declares {sizes[0]} bytes of "
            f"sample data but the file holds only {sizes[1]}"
        )


def info(path):
    """Sample rate, length, channels and format of an audio file, from its header.

    Parameters
    ----------
    path : str or path-like
        Audio file.

    Returns
    -------
    AudioInfo
        Fields ``path``, ``sr``, ``n_samples``, ``n_channels``, ``format``,
        ``subtype`` and the property ``duration`` (seconds).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    AudioError
        If the file cannot be read as audio (the message names the file).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sksep.io import info, save
    >>> path = os.path.join(tempfile.mkdtemp(), "x.flac")
    >>> save(path, np.zeros(8000), 16000)
    >>> i = info(path)
    >>> i.sr, i.n_samples, i.n_channels, i.duration, i.format
    (16000, 8000, 1, 0.5, 'FLAC')
    """
    path = _check_path(path)
    try:
        meta = sf.info(str(path))
    except RuntimeError as exc:  # soundfile.LibsndfileError and kin
        raise AudioError(f"cannot read audio file {str(path)!r}: {exc}") from exc
    _check_not_truncated(path)
    return AudioInfo(
        path=str(path),
        sr=int(meta.samplerate),
        n_samples=int(meta.frames),
        n_channels=int(meta.channels),
        format=meta.format,
        subtype=meta.subtype,
    )


def _mono_mode(mono):
    if mono is True:
        return "mix"
    if mono is False:
        return "keep"
    if mono not in _MONO_MODES:
        raise ParameterError(f"mono must be True, False or one of {_MONO_MODES}, got {mono!r}")
    return mono


def load(path, *, sr=None, mono="mix", offset=0.0, duration=None):
    """Read an audio file as float32, optionally resampled and mixed down to mono.

    Parameters
    ----------
    path : str or path-like
        Any file libsndfile reads: WAV, FLAC, OGG/Vorbis, NIST SPHERE (TIMIT),
        AIFF, ...
    sr : int or None, default=None
        Target sample rate in Hz. None keeps the file's own rate.
    mono : {"mix", "first", "refuse", "keep"} or bool, default="mix"
        What to do with multi-channel files: ``"mix"`` (or True) averages the
        channels, ``"first"`` keeps channel 0, ``"refuse"`` raises
        :class:`~sksep.exceptions.AudioError`, ``"keep"`` (or False) returns all
        channels. Mono files are always returned 1-D.
    offset : float, default=0.0
        Start reading this many seconds into the file; it must fall before the
        file's end.
    duration : float or None, default=None
        Read at most this many seconds (None: to the end); it must be > 0 and
        at least one sample long.

    Returns
    -------
    y : ndarray, float32
        Shape ``(n_samples,)``, or ``(n_channels, n_samples)`` with
        ``mono="keep"`` and a multi-channel file.
    sr : int
        Sample rate of ``y``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    AudioError
        If the file is unreadable, corrupt or truncated, is multi-channel with
        ``mono="refuse"``, or is too short to resample to ``sr``. The message
        names the file.
    ParameterError
        For a bad ``sr``, ``mono``, ``offset`` or ``duration``, including an
        ``offset`` at or beyond the end of the file (the message names the file
        and its length) and a ``duration`` shorter than one sample.

    See Also
    --------
    resample, save, info

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sksep.io import load, save
    >>> path = os.path.join(tempfile.mkdtemp(), "stereo.wav")
    >>> save(path, np.full((2, 1600), 0.25), 16000)
    >>> load(path)[0].shape, load(path, mono="keep")[0].shape
    ((1600,), (2, 1600))
    >>> y, sr = load(path, sr=8000, duration=0.05)
    >>> y.shape, sr
    ((400,), 8000)
    """
    mode = _mono_mode(mono)
    if sr is not None:
        sr = check_sr(sr)
    if not np.isfinite(offset) or offset < 0:
        raise ParameterError(f"offset must be a finite number of seconds >= 0, got {offset!r}")
    if duration is not None and (not np.isfinite(duration) or duration <= 0):
        raise ParameterError(f"duration must be None or a number of seconds > 0, got {duration!r}")
    path = _check_path(path)
    try:
        with sf.SoundFile(str(path)) as f:
            _check_not_truncated(path)
            native_sr = int(f.samplerate)
            if mode == "refuse" and f.channels > 1:
                raise AudioError(
                    f"{str(path)!r} has {f.channels} channels and mono='refuse'; "
                    "use mono='mix' to average them or mono='first' to keep one"
                )
            start = int(round(offset * native_sr))
            if start and start >= f.frames:
                raise ParameterError(
                    f"offset={offset!r} s is at or beyond the end of {str(path)!r}, which is "
                    f"{f.frames / native_sr:.6g} s long ({f.frames} samples at {native_sr} Hz)"
                )
            if start:
                f.seek(start)
            frames = -1 if duration is None else int(round(duration * native_sr))
            if frames == 0:
                raise ParameterError(
                    f"duration={duration!r} s is shorter than one sample of {str(path)!r} "
                    f"(at {native_sr} Hz)"
                )
            data = f.read(frames=frames, dtype="float32", always_2d=True)
    except RuntimeError as exc:  # soundfile.LibsndfileError and kin
        raise AudioError(f"cannot read audio file {str(path)!r}: {exc}") from exc
    # data: (n_samples, n_channels)
    if data.shape[1] == 1:
        y = data[:, 0]
    elif mode == "mix":
        y = data.mean(axis=1, dtype=np.float32)
    elif mode == "first":
        y = data[:, 0]
    else:  # keep
        y = data.T
    y = np.ascontiguousarray(y, dtype=np.float32)
    if not np.isfinite(y).all():
        raise AudioError(f"{str(path)!r} contains NaN or infinite samples")
    if sr is not None and sr != native_sr:
        try:
            y = resample(y, native_sr, sr)
        except AudioError as exc:
            raise AudioError(f"cannot resample {str(path)!r} to {sr} Hz: {exc}") from exc
    return y, (native_sr if sr is None else sr)


def resample(y, orig_sr, target_sr, *, quality="HQ"):
    """Change the sample rate of a waveform with soxr (as librosa does by default).

    Parameters
    ----------
    y : array-like
        Waveform of shape ``(n_samples,)`` or ``(n_channels, n_samples)``.
    orig_sr, target_sr : int
        Sample rates in Hz.
    quality : {"HQ", "VHQ", "MQ", "LQ", "QQ"}, default="HQ"
        soxr quality recipe; ``"HQ"`` is librosa's ``res_type="soxr_hq"``.

    Returns
    -------
    ndarray, float32
        The resampled waveform, ``ceil(n_samples * target_sr / orig_sr)``
        samples long, as :func:`librosa.resample` makes it: soxr rounds the
        length to the nearest sample, and the missing last sample (if any) is
        filled with zero, as librosa's ``fix_length`` does. Equal rates return
        a float32 copy.

    Raises
    ------
    ParameterError
        For a bad sample rate or quality.
    AudioError
        If ``y`` is empty, not 1-D/2-D, or holds NaN or infinity, or is so
        short that soxr returns no sample at all (e.g. 1 or 2 samples from
        44100 to 8000 Hz: less than half an output sample).

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.io import resample
    >>> y = np.sin(2 * np.pi * 100 * np.arange(16000) / 16000)
    >>> resample(y, 16000, 8000).shape
    (8000,)
    >>> resample(y[:1601], 16000, 44100).shape  # ceil(1601 * 44100 / 16000)
    (4413,)
    """
    orig_sr = check_sr(orig_sr, name="orig_sr")
    target_sr = check_sr(target_sr, name="target_sr")
    if quality not in ("HQ", "VHQ", "MQ", "LQ", "QQ"):
        raise ParameterError(f"quality must be one of HQ, VHQ, MQ, LQ, QQ, got {quality!r}")
    arr = np.asarray(y, dtype=np.float32)
    if arr.ndim not in (1, 2) or arr.shape[-1] == 0:
        raise AudioError(
            f"y must be a non-empty waveform of shape (n,) or (channels, n), got shape {arr.shape}"
        )
    _check_channels_first(arr)
    if not np.isfinite(arr).all():
        raise AudioError("y contains NaN or infinite samples")
    if orig_sr == target_sr:
        return arr.copy()
    # soxr wants (n_samples, n_channels)
    out = soxr.resample(arr.T, orig_sr, target_sr, quality=quality).T
    n_in = arr.shape[-1]
    if out.shape[-1] == 0:
        raise AudioError(
            f"y is only {n_in} sample(s) long: resampling it from {orig_sr} Hz to {target_sr} Hz "
            "leaves no sample (less than half an output sample); give a longer waveform"
        )
    # soxr rounds the length to the nearest sample; librosa (and this docstring) promise ceil
    n_out = -(-n_in * target_sr // orig_sr)
    if out.shape[-1] > n_out:
        out = out[..., :n_out]
    elif out.shape[-1] < n_out:
        pad = [(0, 0)] * (out.ndim - 1) + [(0, n_out - out.shape[-1])]
        out = np.pad(out, pad)
    return np.ascontiguousarray(out, dtype=np.float32)


def _check_channels_first(arr):
    if arr.ndim == 2 and arr.shape[0] > arr.shape[1]:
        raise AudioError(
            f"y has shape {arr.shape}: more channels than samples; multi-channel audio is "
            "(n_channels, n_samples) as in librosa (transpose a soundfile-style array: y.T)"
        )


def _format_for(path, format):
    if format is not None:
        return format.upper()
    ext = path.suffix.lower().lstrip(".")
    known = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "oga": "OGG", "sph": "NIST",
             "nist": "NIST", "aif": "AIFF", "aiff": "AIFF", "au": "AU", "w64": "W64"}
    if ext not in known:
        raise ParameterError(
            f"cannot tell the audio format of {str(path)!r} from its extension; "
            f"use one of {sorted(known)} or pass format="
        )
    return known[ext]


#: highest rate libvorbis encodes; above it, writing crashes the interpreter (seen at 250 kHz)
_VORBIS_MAX_SR = 200000


def save(path, y, sr, *, subtype=None, clip="error", format=None):
    """Write a waveform to an audio file, atomically, with a guard against clipping.

    Parameters
    ----------
    path : str or path-like
        Destination; the format comes from the extension (``.wav``, ``.flac``,
        ``.ogg``, ``.sph``, ...) unless ``format`` is given. The file is written
        to a temporary name and moved into place, so readers never see half a
        file. Parent folders are created.
    y : array-like
        Waveform, ``(n_samples,)`` or ``(n_channels, n_samples)``.
    sr : int
        Sample rate in Hz.
    subtype : str or None, default=None
        libsndfile sample encoding: ``"PCM_16"`` (16-bit integers), ``"FLOAT"``
        (32-bit float, lossless for float32 data; WAV), ``"PCM_24"``, ...
        None takes the format's default: 16-bit PCM for WAV, FLAC and NIST,
        Vorbis for OGG.
    clip : {"error", "clip", "normalize"}, default="error"
        Integer PCM holds only [-1, 1]. When ``y`` goes beyond, ``"error"``
        raises :class:`~sksep.exceptions.AudioError`, ``"clip"`` clips the
        samples to [-1, 1], ``"normalize"`` scales the whole waveform so that
        its peak is 1. Float subtypes store any value and ignore this.
    format : str or None, default=None
        libsndfile major format (``"WAV"``, ``"FLAC"``, ``"NIST"`` ...).

    Raises
    ------
    AudioError
        If ``y`` is empty or non-finite, or would clip with ``clip="error"``.
    ParameterError
        For an unknown format, subtype or clip mode, or a rate above 200 kHz
        for Vorbis (libvorbis would crash the process instead of refusing it).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sksep.io import load, save
    >>> folder = tempfile.mkdtemp()
    >>> y = np.array([0.0, 0.5, 2.0, -0.5], dtype=np.float32)
    >>> save(os.path.join(folder, "a.wav"), y, 8000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sksep.exceptions.AudioError: y peaks at 2 (beyond [-1, 1]) and would clip as PCM_16 ...
    >>> save(os.path.join(folder, "a.wav"), y, 8000, clip="normalize")
    >>> load(os.path.join(folder, "a.wav"))[0].round(3).tolist()
    [0.0, 0.25, 1.0, -0.25]
    >>> save(os.path.join(folder, "b.wav"), y, 8000, subtype="FLOAT")
    >>> bool((load(os.path.join(folder, "b.wav"))[0] == y).all())
    True
    """
    sr = check_sr(sr)
    if clip not in _CLIP_MODES:
        raise ParameterError(f"clip must be one of {_CLIP_MODES}, got {clip!r}")
    path = Path(os.fspath(path))
    fmt = _format_for(path, format)
    subtype = sf.default_subtype(fmt) if subtype is None else str(subtype).upper()
    if not sf.check_format(fmt, subtype):
        raise ParameterError(
            f"subtype {subtype!r} cannot be written in format {fmt!r}; "
            f"choose one of {sorted(sf.available_subtypes(fmt))}"
        )
    if subtype == "VORBIS" and sr > _VORBIS_MAX_SR:
        # libvorbis does not refuse such a rate: it crashes the process (segmentation fault)
        raise ParameterError(
            f"Vorbis (OGG) cannot store audio at {sr} Hz (at most {_VORBIS_MAX_SR} Hz); "
            f"resample it first or write WAV or FLAC instead of {str(path)!r}"
        )
    arr = np.asarray(y)
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise AudioError(
            f"y must be a non-empty waveform of shape (n,) or (channels, n), got shape {arr.shape}"
        )
    _check_channels_first(arr)
    arr = arr.astype(np.float32) if arr.dtype != np.float32 else arr
    if not np.isfinite(arr).all():
        raise AudioError(f"y contains NaN or infinite samples; not writing {str(path)!r}")
    if subtype not in _FLOAT_SUBTYPES:
        peak = float(np.max(np.abs(arr)))
        if peak > 1.0:
            if clip == "error":
                raise AudioError(
                    f"y peaks at {peak:.4g} (beyond [-1, 1]) and would clip as {subtype} "
                    f"in {str(path)!r}; scale it down, save with subtype='FLOAT', or pass "
                    "clip='clip' or clip='normalize'"
                )
            arr = np.clip(arr, -1.0, 1.0) if clip == "clip" else arr / np.float32(peak)
    data = arr.T  # soundfile wants (n_samples, n_channels)
    with atomic_path(path) as tmp:
        sf.write(tmp, data, sr, subtype=subtype, format=fmt)
