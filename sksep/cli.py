"""The ``sksep`` command line (also ``python -m sksep``).

Subcommands: ``enhance`` (noisy files in, enhanced files out), ``train``
(train a model file on folders of speech and noise, or on TIMIT and MUSAN),
``evaluate`` (score enhanced files against clean ones) and ``compare`` (the
model comparison report).

Exit codes: 0 success, 1 some inputs failed (the rest was done), 2 usage error
or bad input, 130 interrupted. Mistakes of the caller (a missing folder, no
audio found, a bad model file) are reported in one line, without a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from pathlib import Path

import numpy as np

from . import __version__
from ._atomic import atomic_path

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

#: File name extensions that ``enhance`` and ``evaluate`` treat as audio inside folders.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au",
                    ".sph", ".nist", ".w64")
# output formats: name -> (soundfile format, subtype, extension)
_OUT_FORMATS = {
    "wav": ("WAV", "PCM_16", ".wav"),
    "flac": ("FLAC", "PCM_16", ".flac"),
    "ogg": ("OGG", "VORBIS", ".ogg"),
}
_EXT_FORMAT = {".wav": "wav", ".flac": "flac", ".ogg": "ogg", ".oga": "ogg"}
_NETWORKS = {"dnn0": "DNN_0", "dnn1": "DNN_1", "cnn0": "CNN_0", "cnn1": "CNN_1"}


class UserError(Exception):
    """A mistake of the caller: printed without a traceback, exit code 2."""


class _FileError(Exception):
    """One input failed (its message is ready to print); the run goes on with the others."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose options and positionals may come in any order.

    ``sksep enhance a.wav -o out b.wav`` takes both files: each subcommand parses
    its arguments with :meth:`~argparse.ArgumentParser.parse_known_intermixed_args`.
    """

    _intermixing = False

    def parse_known_args(self, args=None, namespace=None):
        if self._intermixing:  # parse_known_intermixed_args calls back in here
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def _note(msg):
    from tqdm.auto import tqdm

    tqdm.write(f"sksep: {msg}", file=sys.stderr)  # does not break a progress bar


def _error(command, msg):
    """A per-file error line (the run goes on)."""
    from tqdm.auto import tqdm

    tqdm.write(f"sksep {command}: error: {msg}", file=sys.stderr)


def _first_few(items, n=5):
    """``a, b, c`` or ``a, b, c, ... (12 in all)``: names in a one-line message."""
    items = [str(i) for i in items]
    text = ", ".join(items[:n])
    return text + (f", ... ({len(items)} in all)" if len(items) > n else "")


# ---------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------
def _add_compare(sub):
    p = sub.add_parser(
        "compare",
        help="train every network on every front end and write the comparison report",
        description=(
            "Train DNN_0, DNN_1, CNN_0 and CNN_1 on STFT and cochleagram features of the bundled "
            "sample, score them with the baselines and oracle masks on the speaker- and "
            "noise-disjoint test split, and write the report (README.md, CSV tables, figures, "
            "audio). Results are cached per system: an interrupted run resumes."
        ),
    )
    p.add_argument("-o", "--out", default="analysis", help="report folder (default: analysis)")
    p.add_argument("--quick", action="store_true", help="tiny smoke run (about 2 minutes)")
    p.add_argument("--cache", default=None, help="cache folder (default: ~/.cache/sksep/compare)")
    p.add_argument("--force", action="store_true",
                   help="recompute everything selected: no cached results, training states "
                   "or features are reused")
    p.add_argument("--jobs", type=int, default=2, help="parallel jobs for scoring (default: 2)")
    p.add_argument(
        "--networks", nargs="+", default=["DNN_0", "DNN_1", "CNN_0", "CNN_1"],
        choices=["DNN_0", "DNN_1", "CNN_0", "CNN_1"], metavar="NET",
        help="networks to train (default: all four)",
    )
    p.add_argument(
        "--features", nargs="+", default=["stft", "cochleagram"],
        choices=["stft", "cochleagram"], help="front ends (default: both)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_run_compare)


def _run_compare(args):
    from .comparison import run_comparison

    run_comparison(
        args.out,
        cache_dir=args.cache,
        quick=args.quick,
        networks=tuple(args.networks),
        features=tuple(args.features),
        n_jobs=args.jobs,
        force=args.force,
        verbose=not args.quiet,
    )
    return EXIT_OK


# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------
def _audio_files(folder):
    """Audio files under ``folder`` (recursive, sorted), by extension."""
    return sorted(p for p in Path(folder).rglob("*")
                  if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)


def _existing_dir(path, what):
    path = Path(path)
    if not path.exists():
        raise UserError(f"{what} folder not found: {str(path)!r}")
    if not path.is_dir():
        raise UserError(f"{what} must be a folder, got the file {str(path)!r}")
    return path


def _check_output(path, opt, *, folder):
    """Refuse, before any work, an output path that cannot be made.

    ``folder``: ``path`` must be (or become) a folder, else a file. Its nearest
    existing ancestor must be a folder we may write in.
    """
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise UserError(f"{opt} must be a folder, got the file {str(path)!r}")
    if not folder and path.is_dir():
        raise UserError(f"{opt} must be a file name, got the folder {str(path)!r}")
    for parent in (path, *path.parents) if folder else path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"{opt} {str(path)!r} cannot be made: {str(parent)!r} is a "
                                "file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise UserError(f"{opt} {str(path)!r} cannot be made: no permission to write "
                                f"in {str(parent)!r}")
            break
    return path


def _check_device(device):
    """``--device`` if torch can use it here, else a UserError (before any work)."""
    if device is None:
        return None
    import torch

    from ._persist import device_problem

    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise UserError(f"--device {device!r} is not a torch device; use cpu, cuda or "
                        "cuda:N") from None
    if dev.type not in ("cpu", "cuda", "mps"):
        raise UserError(f"--device {device}: only cpu, cuda, cuda:N (and mps on Apple) are "
                        "supported")
    problem = device_problem(dev)
    if problem is not None:
        raise UserError(f"--device {device}: {problem}; use --device cpu")
    return device


def _load_model(path, device):
    from . import load
    from .enhance import SpeechEnhancer
    from .exceptions import ModelFileError

    try:
        if path is None:
            from .pretrained import load_default

            model = load_default(device=device)
        else:
            model = load(path, device=device)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None
    except ModelFileError as exc:
        raise UserError(f"bad model file: {exc}") from None
    if not isinstance(model, SpeechEnhancer) or not hasattr(model, "sr_"):
        raise UserError(
            f"{path!r} holds a {type(model).__name__}, not a fitted SpeechEnhancer; "
            "make one with `sksep train`"
        )
    return model


# ---------------------------------------------------------------------------
# enhance
# ---------------------------------------------------------------------------
def _add_enhance(sub):
    p = sub.add_parser(
        "enhance",
        help="enhance noisy audio files",
        description=(
            "Enhance noisy speech files with a trained model (by default the bundled pretrained "
            "one). Inputs of any sample rate and channel count are accepted: multi-channel "
            "files are mixed down to mono, audio is resampled to the model's rate and the "
            "output back to the input's rate (or --sr). Long files are processed in chunks, "
            "so memory stays bounded. Each output keeps its input's name (folders: their "
            "relative path) inside OUTDIR, with the extension of its format: x.wav and x.aiff "
            "of one folder both map to x.wav, and the second is reported as failed. An input "
            "given twice (or also through its folder) is enhanced once. No output ever "
            "replaces an input file, --overwrite or not."
        ),
        epilog="Exit code 1 when some files failed (the others are still written). Options "
               "and input files may come in any order.",
    )
    p.add_argument("inputs", nargs="+", metavar="IN", help="audio files or folders of them")
    p.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="output folder")
    p.add_argument("--model", metavar="FILE", default=None,
                   help="model file from `sksep train` (default: the bundled pretrained model)")
    p.add_argument("--sr", type=int, default=None,
                   help="output sample rate in Hz (default: each input's rate)")
    p.add_argument("--format", choices=sorted(_OUT_FORMATS), default=None,
                   help="output format (default: the input's, WAV for others)")
    p.add_argument("--chunk", type=float, default=30.0, metavar="SECONDS",
                   help="process long files in chunks of this length (default: 30; raised, "
                   "with a note, to the shortest chunk the model takes, a fraction of a second)")
    p.add_argument("--device", default=None,
                   help="torch device: cpu, cuda or cuda:N (default: cuda if available)")
    p.add_argument("--mask-exponent", type=float, default=None, metavar="X",
                   help="raise the estimated masks to this power: above 1 removes more noise "
                   "and distorts more speech (default: the model's own)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing output files (never an input file)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notes")
    p.set_defaults(func=_run_enhance)


def _file_key(path):
    """What identifies a file on disk: (device, inode), so links and aliases compare equal."""
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _enhance_inputs(inputs, quiet=False):
    """(source file, output path relative to OUTDIR) for every input, each file once."""
    items, seen = [], {}
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            files = _audio_files(path)
            if not files:
                raise UserError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) in {raw!r}")
            found = [(f, f.relative_to(path)) for f in files]
        elif path.exists():
            found = [(path, Path(path.name))]
        else:
            raise UserError(f"input not found: {raw!r}")
        for src, rel in found:
            key = _file_key(src)
            if key in seen:
                if not quiet:
                    also = "" if str(seen[key]) == str(src) else f" (also as {seen[key]})"
                    _note(f"{src} was given more than once{also}; enhanced once")
                continue
            seen[key] = src
            items.append((src, rel))
    return items


def _check_rate(fmt, sr):
    """Refuse an output rate the format cannot hold (libvorbis would crash the process)."""
    from .io import _VORBIS_MAX_SR

    # libsndfile refuses FLAC above 655350 Hz; libvorbis crashes (a segmentation fault) above
    # io's Vorbis limit
    limit = {"flac": 655350, "ogg": _VORBIS_MAX_SR}.get(fmt)
    if limit is not None and sr > limit:
        return (f"{fmt} output cannot be at {sr} Hz (at most {limit} Hz); choose a lower "
                "--sr or --format wav")
    return None


class _ChunkPlan:
    """Segment length and overlap (at the model's rate) that the front end can always take.

    Segments are ``length`` samples long and overlap by ``overlap``; the last
    one is longer than ``overlap``. Both are at least ``min_segment``, the
    shortest input the front end takes, so no segment is ever too short.
    """

    def __init__(self, enhancer, chunk_s):
        self.sr = int(enhancer.sr_)
        fe = enhancer.front_end_
        self.min_input = int(fe._min_samples()) if hasattr(fe, "_min_samples") else 1
        self.min_segment = max(self.min_input, 2 * int(getattr(fe, "hop_length", 0)) + 2)
        asked = int(round(min(chunk_s, 1e7) * self.sr))
        self.length = max(asked, 4 * self.min_segment)
        self.raised = self.length > asked
        self.overlap = max(min(self.sr, self.length // 4), self.min_segment)


class _Chunker:
    """Enhance a stream segment by segment, cross-fading the overlaps.

    Segments are ``length`` samples long and start every ``length - overlap``
    samples; the ``overlap`` samples shared by two segments are blended with a
    raised-cosine fade (the two weights sum to one). The last segment is what
    is left, longer than ``overlap``.
    """

    def __init__(self, fn, length, overlap):
        self.fn, self.length, self.overlap = fn, int(length), int(overlap)
        t = (np.arange(self.overlap) + 0.5) / max(self.overlap, 1)
        self.fade_in = (0.5 - 0.5 * np.cos(np.pi * t)).astype(np.float32)
        self.buf = np.zeros(0, np.float32)
        self.tail = None

    def _segment(self, seg, last):
        out = np.asarray(self.fn(seg), dtype=np.float32)
        if self.tail is not None:
            k = self.overlap
            head = self.tail * (1.0 - self.fade_in) + out[:k] * self.fade_in
            out = np.concatenate([head, out[k:]])
        if last or self.overlap == 0:
            self.tail = None
            return out
        self.tail = out[-self.overlap:].copy()
        return out[: -self.overlap]

    def push(self, x):
        self.buf = np.concatenate([self.buf, np.asarray(x, np.float32)])
        outs = []
        # strictly longer: a segment that would end the stream waits for finish()
        while len(self.buf) > self.length:
            outs.append(self._segment(self.buf[: self.length], last=False))
            self.buf = self.buf[self.length - self.overlap:]
        return np.concatenate(outs) if outs else np.zeros(0, np.float32)

    def finish(self):
        if len(self.buf) == 0:
            return np.zeros(0, np.float32)
        out = self._segment(self.buf, last=True)
        self.buf = np.zeros(0, np.float32)
        return out


class _Resampler:
    """Streaming soxr resampler (identity at equal rates); output equals one-shot resampling."""

    def __init__(self, orig_sr, target_sr):
        import soxr

        self.stream = None if orig_sr == target_sr else soxr.ResampleStream(
            orig_sr, target_sr, 1, dtype="float32", quality="HQ")

    def __call__(self, x, last=False):
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.stream is None:
            return x
        return self.stream.resample_chunk(x, last=last)


def _enhance_file(enhancer, src, dst, *, out_sr, fmt, plan, quiet):
    """Enhance one file into ``dst`` (written atomically).

    Raises AudioError (the input cannot be read or is too short) or _FileError
    (enhancing or writing failed), each naming the file.
    """
    import soundfile as sf

    from .exceptions import AudioError, ParameterError
    from .io import info

    meta = info(src)  # AudioError naming the file when it cannot be read
    # the caller puts the file's name before these messages
    if meta.n_samples == 0:
        raise AudioError("the file holds no samples")
    in_sr, model_sr = meta.sr, plan.sr
    if meta.n_samples * model_sr // in_sr < plan.min_input:  # soxr gives at least the floor
        raise AudioError(
            f"too short: {meta.n_samples} samples ({meta.duration:.3g} s); the model needs at "
            f"least {plan.min_input / model_sr:.3g} s")
    if meta.n_channels > 1 and not quiet:
        _note(f"{src}: {meta.n_channels} channels, mixed down to mono")
    out_sr = out_sr or in_sr
    problem = _check_rate(fmt, out_sr)
    if problem:
        raise _FileError(f"cannot write {str(dst)!r}: {problem}")
    expected = meta.n_samples if out_sr == in_sr else math.ceil(meta.n_samples * out_sr / in_sr)

    def predict(seg):
        try:
            return enhancer.predict([seg])[0]
        except (AudioError, ParameterError, RuntimeError) as exc:  # torch errors are RuntimeError
            raise _FileError(f"enhancing {str(src)!r} failed ({type(exc).__name__}): "
                             f"{exc}") from None

    chunker = _Chunker(predict, plan.length, plan.overlap)
    down, up = _Resampler(in_sr, model_sr), _Resampler(model_sr, out_sr)
    sf_format, subtype, _ = _OUT_FORMATS[fmt]
    # the chunker gathers what a segment needs: reads stay small even for a huge --chunk
    block = min(max(plan.length * in_sr // model_sr, 1024), 1 << 22)

    def cannot_write(exc):
        return _FileError(f"cannot write {str(dst)!r}: {exc}")

    written = 0
    n_clipped = 0
    with atomic_path(dst, suffix=".part") as tmp:
        try:
            out = sf.SoundFile(tmp, "w", samplerate=out_sr, channels=1, format=sf_format,
                               subtype=subtype)
        except RuntimeError as exc:  # libsndfile refuses the rate or format
            raise cannot_write(exc) from None
        with out:
            try:
                f = sf.SoundFile(str(src))
            except RuntimeError as exc:
                raise AudioError(f"cannot read audio file {str(src)!r}: {exc}") from None

            def emit(y):
                nonlocal written, n_clipped
                y = y[: max(expected - written, 0)]
                if len(y):
                    n_clipped += int(np.count_nonzero(np.abs(y) > 1.0))
                    try:
                        out.write(np.clip(y, -1.0, 1.0))
                    except RuntimeError as exc:
                        raise cannot_write(exc) from None
                    written += len(y)

            with f:
                while True:
                    try:
                        x = f.read(block, dtype="float32", always_2d=True)
                    except RuntimeError as exc:  # libsndfile errors in a damaged file
                        raise AudioError(f"cannot read audio file {str(src)!r}: {exc}") from None
                    last = len(x) < block
                    if len(x):
                        x = x.mean(axis=1, dtype=np.float32) if x.shape[1] > 1 else x[:, 0]
                        if not np.isfinite(x).all():
                            raise AudioError(f"{str(src)!r} contains NaN or infinite samples")
                    else:
                        x = np.zeros(0, np.float32)
                    y = chunker.push(down(x, last=last))
                    if last:
                        y = np.concatenate([y, chunker.finish()])
                    emit(up(y, last=last))
                    if last:
                        break
            if written < expected:  # resampling rounding: at most a few samples
                emit(np.zeros(expected - written, np.float32))
    if n_clipped and not quiet:
        _note(f"{dst}: {n_clipped} samples beyond full scale were clipped")
    return dst


def _run_enhance(args):
    from tqdm.auto import tqdm

    from .exceptions import AudioError, ParameterError

    if args.sr is not None and args.sr <= 0:
        raise UserError(f"--sr must be a positive number of Hz, got {args.sr}")
    if not (0 < args.chunk < math.inf):
        raise UserError(f"--chunk must be a positive number of seconds, got {args.chunk}")
    if args.mask_exponent is not None and not (0 < args.mask_exponent < math.inf):
        raise UserError(f"--mask-exponent must be a positive number, got {args.mask_exponent}")
    device = _check_device(args.device)
    outdir = _check_output(args.out, "-o", folder=True)
    items = _enhance_inputs(args.inputs, quiet=args.quiet)
    if args.sr is not None:  # an output rate the format cannot hold: refused up front
        used = {args.format or _EXT_FORMAT.get(src.suffix.lower(), "wav") for src, _ in items}
        for fmt in sorted(used):
            problem = _check_rate(fmt, args.sr)
            if problem:
                raise UserError(f"--sr {args.sr}: {problem}")
    inputs = {_file_key(src) for src, _ in items}  # no output may replace any of them
    enhancer = _load_model(args.model, device)
    if args.mask_exponent is not None:
        enhancer.set_params(mask_exponent=args.mask_exponent)
    plan = _ChunkPlan(enhancer, args.chunk)
    if plan.raised and not args.quiet:
        _note(f"--chunk {args.chunk:g} s is shorter than the model takes; chunks of "
              f"{plan.length / plan.sr:.3g} s are used")

    n_ok, failed, seen = 0, [], set()
    bar = tqdm(items, unit="file", file=sys.stderr, disable=args.quiet or len(items) < 2)
    for src, rel in bar:
        fmt = args.format or _EXT_FORMAT.get(src.suffix.lower(), "wav")
        dst = outdir / rel.with_suffix(_OUT_FORMATS[fmt][2])
        try:
            key = dst.resolve()
            if dst.exists() and _file_key(dst) in inputs:
                which = "its input" if _file_key(dst) == _file_key(src) else "another input"
                raise ParameterError(f"output {str(dst)!r} would replace {which}, which is "
                                     "never done (--overwrite or not); choose another -o")
            if key in seen:
                raise ParameterError(f"output {str(dst)!r} was already written by another "
                                     "input (inputs that differ only in extension map to "
                                     "one output name)")
            if dst.exists() and not args.overwrite:
                raise ParameterError(f"output {str(dst)!r} exists (use --overwrite)")
            seen.add(key)
            _enhance_file(enhancer, src, dst, out_sr=args.sr, fmt=fmt, plan=plan,
                          quiet=args.quiet)
            n_ok += 1
        except (AudioError, ParameterError, OSError, _FileError) as exc:
            failed.append(src)
            _error("enhance", f"{src}: {exc}")
        except Exception as exc:  # noqa: BLE001 -- one file's surprise must not end the run
            failed.append(src)
            _error("enhance", f"{src}: unexpected {type(exc).__name__}: {exc}")
    if not args.quiet or failed:
        print(f"enhanced {n_ok}, failed {len(failed)}; output in {str(outdir)!r}",
              file=sys.stderr)
    return EXIT_PARTIAL if failed else EXIT_OK


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------
def _add_train(sub):
    p = sub.add_parser(
        "train",
        help="train a model file on speech and noise",
        description=(
            "Mix clean speech with noise at the given SNRs, train a mask-estimating network "
            "on the mixtures and save it as a model file for `sksep enhance --model`. Speech "
            "comes from a folder of audio files (--speech) or a TIMIT copy (--timit); noise "
            "from a folder (--noise) or a MUSAN copy (--musan). A share of the speech "
            "(--valid) is held out and scored with STOI after training: whole speakers (a "
            "folder's sub-folders are its speakers) when that keeps the share near --valid, "
            "else single utterances; a note says what was held out."
        ),
        epilog="example: sksep train --speech speech/ --noise noise/ --network dnn0 "
               "--features stft --snr -5 0 5 -o model.sksep",
    )
    speech = p.add_mutually_exclusive_group(required=True)
    speech.add_argument("--speech", metavar="DIR", help="folder of clean speech files")
    speech.add_argument("--timit", metavar="ROOT", help="TIMIT root (its TRAIN subset is used)")
    noise = p.add_mutually_exclusive_group(required=True)
    noise.add_argument("--noise", metavar="DIR", help="folder of noise files")
    noise.add_argument("--musan", metavar="ROOT", help="MUSAN root (its noise subset is used)")
    p.add_argument("-o", "--out", required=True, metavar="FILE", help="model file to write")
    p.add_argument("--network", choices=sorted(_NETWORKS), default="dnn0",
                   help="network (default: dnn0)")
    p.add_argument("--features", choices=["stft", "cochleagram"], default="stft",
                   help="front end (default: stft)")
    p.add_argument("--snr", type=float, nargs="+", default=[-5.0, 0.0, 5.0], metavar="DB",
                   help="mixing SNRs in dB, drawn at random per mixture (default: -5 0 5)")
    p.add_argument("--mixtures", type=int, default=3,
                   help="training mixtures per utterance (default: 3)")
    p.add_argument("--epochs", type=int, default=20, help="most training epochs (default: 20)")
    p.add_argument("--patience", type=int, default=None, metavar="N",
                   help="early stopping: stop after N epochs without a lower validation loss "
                   "(default: 5, with --quick 2)")
    p.add_argument("--sr", type=int, default=16000, help="model sample rate (default: 16000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--valid", type=float, default=0.1,
                   help="share of the speech held out for STOI: whole speakers if that holds "
                        "out at most twice this share, else utterances (default: 0.1; 0 turns "
                        "it off)")
    p.add_argument("--max-files", type=int, default=None, metavar="N",
                   help="read at most N speech and N noise files")
    p.add_argument("--device", default=None,
                   help="torch device: cpu, cuda or cuda:N (default: cuda if available)")
    p.add_argument("--checkpoint", metavar="DIR", default=None,
                   help="folder where training saves its state after every epoch; run an "
                        "interrupted command again and it resumes from the last finished epoch "
                        "(default: OUT.training next to the model file; 'none' saves nothing)")
    p.add_argument("--quick", action="store_true",
                   help="tiny network widths, for a smoke test")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no epoch table (by default skorch prints one row per epoch, without "
                        "colours when the output is not a terminal)")
    p.set_defaults(func=_run_train)


def _load_folder_audio(root, sr, max_files, what):
    from .datasets import AudioCollection, load_folder

    root = _existing_dir(root, what)
    files = _audio_files(root)
    if not files:
        raise UserError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) in {what} folder "
                        f"{str(root)!r}")
    if max_files is not None:
        files = files[:max_files]
    parts = []
    for ext in sorted({f.suffix.lower() for f in files}):
        n = sum(f.suffix.lower() == ext for f in files)
        parts.append(load_folder(root, f"**/*{ext}", sr=sr, speaker="parent", max_files=n))
    return AudioCollection.concat(parts) if len(parts) > 1 else parts[0]


def _checkpoint_dir(given, out):
    """The training checkpoint folder: ``given``, ``OUT.training`` by default, None for 'none'."""
    if given is None:
        return out.with_name(out.name + ".training")
    return None if given.lower() == "none" else Path(given)


def _check_lengths(speech, min_samples, features):
    """Refuse speech files shorter than the front end takes, naming them (before training)."""
    short = np.flatnonzero(speech.lengths < min_samples)
    if not len(short):
        return
    names = speech.column("path") if "path" in speech.meta.columns else speech.column("id")
    listed = _first_few(f"{names[i]} ({speech.lengths[i] / speech.sr:.3g} s)" for i in short)
    raise UserError(f"{len(short)} speech file(s) shorter than the {features} front end takes "
                    f"(at least {min_samples / speech.sr:.3g} s): {listed}; remove or lengthen "
                    "them")


def _hold_out(speech, share, seed):
    """Split ``speech`` into (train, held out), saying what was held out.

    Whole speakers when there are two or more and that holds out at most twice
    ``share`` of the utterances (speaker-disjoint, the honest test); else single
    utterances, with a note why.
    """
    n = len(speech)
    if n < 4:
        _note(f"only {n} speech file(s): none held out for validation (need 4 or more)")
        return speech, None
    speakers = (speech.column("speaker") if "speaker" in speech.meta.columns
                else np.zeros(n, dtype=object))
    n_speakers = len(set(speakers))
    why = ""
    if n_speakers >= 2:
        train, held = speech.split(test_size=share, by="speaker", random_state=seed)
        if len(held) <= 2 * share * n:
            k = len(set(held.column("speaker")))
            _note(f"held out for validation: {k} of {n_speakers} speakers, {len(held)} of {n} "
                  f"utterances ({len(held) / n:.0%}; --valid {share:g})")
            return train, held
        k = len(set(held.column("speaker")))
        why = (f": whole speakers would have been {k} of {n_speakers} speakers, "
               f"{len(held) / n:.0%} of the utterances, more than twice --valid, so single "
               "utterances are held out; their speakers also speak in training, which makes "
               "the held-out score optimistic")
    train, held = speech.split(test_size=share, random_state=seed)
    _note(f"held out for validation: {len(held)} of {n} utterances ({len(held) / n:.0%}; "
          f"--valid {share:g}){why}")
    if len(held) > 2 * share * n:
        _note(f"that is more than --valid {share:g} asks: at least one utterance is held out "
              "(--valid 0 holds out none)")
    return train, held


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _NoColour:
    """A text stream that drops ANSI colour codes (skorch's epoch table has them)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        return self.stream.write(_ANSI.sub("", text))

    def __getattr__(self, name):
        return getattr(self.stream, name)


def _plain_stdout():
    """Drop colour codes from stdout unless it is a terminal (a log file wants none)."""
    import contextlib

    isatty = getattr(sys.stdout, "isatty", None)
    if isatty is not None and isatty():
        return contextlib.nullcontext()
    return contextlib.redirect_stdout(_NoColour(sys.stdout))


def _run_train(args):
    import dataclasses

    from . import save
    from .comparison import FULL, QUICK, make_enhancer
    from .datasets import load_musan, load_timit, make_mixtures
    from .enhance import _front_end_of
    from .exceptions import AudioError
    from .metrics import stoi
    from .models import TrainingCheckpoint

    for name in ("mixtures", "epochs", "sr"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.max_files is not None and args.max_files < 1:
        raise UserError(f"--max-files must be >= 1, got {args.max_files}")
    if args.patience is not None and args.patience < 1:
        raise UserError(f"--patience must be at least 1, got {args.patience}")
    if not 0 <= args.valid < 1:
        raise UserError(f"--valid must be in [0, 1), got {args.valid}")
    device = _check_device(args.device)
    out = _check_output(args.out, "-o", folder=False)
    checkpoint = _checkpoint_dir(args.checkpoint, out)
    if checkpoint is not None:
        _check_output(checkpoint, "--checkpoint", folder=True)

    base = QUICK if args.quick else FULL
    settings = dataclasses.replace(base, sr=args.sr, snrs=tuple(args.snr),
                                   max_epochs=args.epochs, random_state=args.seed)
    if args.patience is not None:
        settings = dataclasses.replace(settings, patience=args.patience)
    enhancer = make_enhancer(_NETWORKS[args.network], args.features, settings)
    front_end = _front_end_of(enhancer.estimator)

    if args.speech:
        speech = _load_folder_audio(args.speech, args.sr, args.max_files, "speech")
    else:
        speech = load_timit(_existing_dir(args.timit, "TIMIT"), "train", sr=args.sr,
                            max_files=args.max_files)
    _check_lengths(speech, int(front_end._min_samples()), args.features)
    if args.noise:
        noise = _load_folder_audio(args.noise, args.sr, args.max_files, "noise")
    else:
        noise = load_musan(_existing_dir(args.musan, "MUSAN"), ("noise",), sr=args.sr,
                           max_files=args.max_files)

    valid = None
    if args.valid > 0:
        speech, valid = _hold_out(speech, args.valid, args.seed)
    train = make_mixtures(speech, noise, snr_db=args.snr, n_mixtures=args.mixtures * len(speech),
                          random_state=args.seed)
    net = enhancer.estimator.steps[-1][1]
    net.set_params(verbose=int(not args.quiet))  # skorch's epoch table: the progress display
    if device:
        net.set_params(device=device)
    if checkpoint is not None:
        net.set_params(callbacks=[("checkpoint", TrainingCheckpoint(checkpoint))])
    _note(f"training {_NETWORKS[args.network]} on {args.features} features: {len(train)} "
          f"mixtures ({sum(train.clean.durations) / 60:.1f} min) at {args.snr} dB")
    with _plain_stdout():
        enhancer.fit(train.noisy, train.clean)
    fitted = enhancer.estimator_.steps[-1][1]
    resumed = getattr(dict(fitted.callbacks_).get("checkpoint"), "resumed_epochs_", 0)
    if resumed:
        _note(f"resumed after epoch {resumed} from {checkpoint}")
    try:
        path = save(enhancer, out)
    except OSError as exc:
        kept = (f"; the training state is in {checkpoint}: run the command again with a "
                f"writable -o and --checkpoint {checkpoint} to resume from it"
                if checkpoint is not None else "")
        raise UserError(f"cannot write the model file {str(out)!r}: {exc}{kept}") from None
    if valid is not None and len(valid):
        test = make_mixtures(valid, noise, snr_db=args.snr, snr_mode="all",
                             random_state=args.seed + 1)
        enhanced = enhancer.predict(test.noisy)
        pairs = []
        for c, y, e in zip(test.clean, test.noisy, enhanced):
            try:
                pairs.append((stoi(c, y, test.sr), stoi(c, e, test.sr)))
            except AudioError:  # too short for STOI
                pass
        if len(pairs) < len(test):
            _note(f"{len(test) - len(pairs)} held-out mixture(s) too short for STOI, not "
                  "scored")
        if pairs:
            before, after = np.mean(pairs, axis=0)
            print(f"held-out STOI ({len(pairs)} mixtures): noisy {before:.3f} -> enhanced "
                  f"{after:.3f} ({after - before:+.3f})")
    print(f"saved {path}")
    if checkpoint is not None:
        _note(f"the training state stays in {checkpoint} (a larger --epochs trains on from it; "
              "delete it when done)")
    return EXIT_OK


# ---------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------
def _add_evaluate(sub):
    p = sub.add_parser(
        "evaluate",
        help="score enhanced files against clean references",
        description=(
            "Match files by their path inside the folders (extension aside), score each "
            "enhanced file against its clean reference (STOI, ESTOI, PESQ, SI-SDR; with "
            "--noisy also the unprocessed mixtures), write one row per file to a CSV table "
            "and print the means. A file that cannot be read or scored gets NaN and the "
            "reason in the table's error column; files without a counterpart are named on "
            "stderr and left out."
        ),
        epilog="Exit code 1 when some matched files could not be read (their rows hold NaN).",
    )
    p.add_argument("--clean", required=True, metavar="DIR", help="clean reference files")
    p.add_argument("--enhanced", required=True, metavar="DIR", help="enhanced files")
    p.add_argument("--noisy", metavar="DIR", default=None, help="unprocessed mixtures (optional)")
    p.add_argument("-o", "--out", default="metrics.csv", metavar="CSV",
                   help="table to write (default: metrics.csv)")
    p.add_argument("--metrics", nargs="+", default=["stoi", "estoi", "pesq", "si_sdr"],
                   metavar="NAME",
                   help="metrics (default: stoi estoi pesq si_sdr; also pesq_wb, pesq_raw, snr)")
    p.add_argument("--jobs", type=int, default=1,
                   help="parallel processes (default: 1; -1 all cores)")
    p.set_defaults(func=_run_evaluate)


def _by_id(folder, what):
    """{id: file} of the audio files under ``folder``; the id is the path without extension."""
    found = {}
    for f in _audio_files(folder):
        key = f.relative_to(folder).with_suffix("").as_posix()
        if key in found:
            raise UserError(f"two {what} files have the id {key!r}: {str(found[key])!r} and "
                            f"{str(f)!r} (files are matched by their path without the "
                            "extension); keep one")
        found[key] = f
    return found


def _note_unmatched(ids, files, what, other):
    if ids:
        _note(f"{len(ids)} {what} file(s) have no {other} counterpart, left out: "
              f"{_first_few(files[i] for i in ids)}")


def _score(refs, ests, sr, metrics, jobs, index):
    """evaluate() of the pairs, indexed by ``index`` (an empty table for no pairs)."""
    import pandas as pd

    from .metrics import evaluate

    if not refs:
        return pd.DataFrame(columns=[*metrics, "error"], index=pd.Index([], name="id"))
    table = evaluate(refs, ests, sr=sr, metrics=metrics, n_jobs=jobs)
    table.index = pd.Index(index, name="id")
    return table


def _run_evaluate(args):
    import pandas as pd

    from .exceptions import AudioError
    from .io import load
    from .metrics import METRICS

    unknown = [m for m in args.metrics if m not in METRICS]
    if unknown:
        raise UserError(f"unknown metric(s) {', '.join(unknown)}; choose from "
                        f"{', '.join(sorted(METRICS))}")
    if len(set(args.metrics)) != len(args.metrics):
        raise UserError(f"--metrics names a metric twice: {' '.join(args.metrics)}")
    if args.jobs == 0:
        raise UserError("--jobs must be a number of processes (1, 2, ...) or -1 for all "
                        "cores, got 0")
    out = _check_output(args.out, "-o", folder=False)
    clean = _by_id(_existing_dir(args.clean, "clean"), "clean")
    enhanced = _by_id(_existing_dir(args.enhanced, "enhanced"), "enhanced")
    noisy = _by_id(_existing_dir(args.noisy, "noisy"), "noisy") if args.noisy else None
    if not clean:
        raise UserError(f"no audio files in the clean folder {args.clean!r}")
    ids = [i for i in clean if i in enhanced and (noisy is None or i in noisy)]
    if not ids:
        raise UserError(f"no file names in common between {args.clean!r} and {args.enhanced!r}"
                        + (f" and {args.noisy!r}" if args.noisy else ""))
    _note_unmatched([i for i in clean if i not in enhanced], clean, "clean", "enhanced")
    if noisy is not None:
        _note_unmatched([i for i in clean if i in enhanced and i not in noisy], clean, "clean",
                        "noisy")
        _note_unmatched([i for i in noisy if i not in clean], noisy, "noisy", "clean")
    _note_unmatched([i for i in enhanced if i not in clean], enhanced, "enhanced", "clean")

    def read(files, i, sr):
        try:
            return load(files[i], sr=sr)
        except (AudioError, OSError) as exc:
            unreadable.append(i)
            reasons.setdefault(i, []).append(str(exc))
            _error("evaluate", str(exc))
            return None, None

    unreadable, reasons = [], {}
    pairs = {"enhanced": ([], [], []), "noisy": ([], [], [])}  # refs, estimates, ids
    sr = None
    for i in ids:
        c, c_sr = read(clean, i, sr)
        if c is None:
            continue
        sr = sr or c_sr
        for name, files in (("enhanced", enhanced), ("noisy", noisy)):
            if files is None:
                continue
            y = read(files, i, sr)[0]
            if y is None:
                continue
            n = min(len(c), len(y))
            if n != len(c) or n != len(y):
                _note(f"{i}: lengths differ ({len(c)} clean, {len(y)} {name} samples); "
                      f"{name} scored on the common start")
            refs, ests, kept = pairs[name]
            refs.append(c[:n])
            ests.append(y[:n])
            kept.append(i)
    if sr is None:
        raise UserError(f"none of the {len(ids)} matched clean files could be read")
    table = _score(*pairs["enhanced"][:2], sr, args.metrics, args.jobs, pairs["enhanced"][2])
    table = table.reindex(ids)
    if noisy is not None:
        scored = _score(*pairs["noisy"][:2], sr, args.metrics, args.jobs, pairs["noisy"][2])
        noisy_errors = scored.pop("error").dropna()
        scored = scored.reindex(ids)
        for m in args.metrics:
            table.insert(table.columns.get_loc("error"), f"{m}_noisy", scored[m])
        for i, reason in noisy_errors.items():
            reasons.setdefault(i, []).append("; ".join(f"noisy {r}" for r in reason.split("; ")))
    for i, extra in reasons.items():
        table.loc[i, "error"] = "; ".join(
            r for r in [*extra, table.loc[i, "error"]] if isinstance(r, str))
    table.index.name = "id"
    try:
        with atomic_path(out) as tmp:
            table.to_csv(tmp)
    except OSError as exc:
        raise UserError(f"cannot write {str(out)!r}: {exc}") from None
    numeric = table[[c for c in table.columns if c != "error"]].astype(float)
    problem = f" ({len(set(unreadable))} unreadable: NaN in the table)" if unreadable else ""
    print(f"{len(ids)} file(s) at {sr} Hz{problem}; means:")
    rows = []
    for col in numeric.columns:
        if col.endswith("_noisy"):
            continue
        row = {"metric": col, "enhanced": numeric[col].mean()}
        if f"{col}_noisy" in numeric:
            row["noisy"] = numeric[f"{col}_noisy"].mean()
            row["gain"] = row["enhanced"] - row["noisy"]
        rows.append(row)
    print(pd.DataFrame(rows).set_index("metric").round(3).to_string())
    print(f"table written to {str(out)!r}")
    return EXIT_PARTIAL if unreadable else EXIT_OK


# ---------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------
def build_parser():
    parser = argparse.ArgumentParser(
        prog="sksep",
        description="Deep-learning speech enhancement with scikit-learn estimators.",
        epilog="Run `sksep COMMAND --help` for the options of a command. Exit codes: 0 success, "
               "1 some inputs failed, 2 usage error or bad input, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"sksep {__version__}")
    # options and positionals of a subcommand may come in any order (see _Parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_enhance(sub)
    _add_train(sub)
    _add_evaluate(sub)
    _add_compare(sub)
    return parser


def main(argv=None):
    """Run the command line; returns the exit code."""
    from .exceptions import AudioError, CorpusLayoutError, ModelFileError, ParameterError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt as exc:
        # a TrainingCheckpoint says where the finished epochs are and how to resume
        print(f"sksep: interrupted{': ' + str(exc) if str(exc) else ''}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UserError, AudioError, CorpusLayoutError, ParameterError, ModelFileError,
            FileNotFoundError) as exc:
        print(f"sksep {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        if exc.filename is None:  # not about a path the caller gave: keep the traceback
            raise
        # a path the checks before the work did not foresee (permissions, a full disk, ...)
        print(f"sksep {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
