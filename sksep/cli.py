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


def _note(msg):
    from tqdm.auto import tqdm

    tqdm.write(f"sksep: {msg}", file=sys.stderr)  # does not break a progress bar


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
    p.add_argument("--force", action="store_true", help="ignore cached results")
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
            "relative path) inside OUTDIR."
        ),
        epilog="Exit code 1 when some files failed (the others are still written).",
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
                   help="process long files in chunks of this length (default: 30)")
    p.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda")
    p.add_argument("--mask-exponent", type=float, default=None, metavar="X",
                   help="raise the estimated masks to this power: above 1 removes more noise "
                   "and distorts more speech (default: the model's own)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notes")
    p.set_defaults(func=_run_enhance)


def _enhance_inputs(inputs):
    """(source file, output path relative to OUTDIR) for every input."""
    items = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            files = _audio_files(path)
            if not files:
                raise UserError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) in {raw!r}")
            items += [(f, f.relative_to(path)) for f in files]
        elif path.exists():
            items.append((path, Path(path.name)))
        else:
            raise UserError(f"input not found: {raw!r}")
    return items


class _Chunker:
    """Enhance a stream segment by segment, cross-fading the overlaps.

    Segments are ``length`` samples long and start every ``length - overlap``
    samples; the ``overlap`` samples shared by two segments are blended with a
    raised-cosine fade (the two weights sum to one).
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


def _enhance_file(enhancer, src, dst, *, out_sr, fmt, chunk_s, quiet):
    """Enhance one file into ``dst`` (written atomically); raises AudioError on bad audio."""
    import soundfile as sf

    from .exceptions import AudioError
    from .io import info

    meta = info(src)
    if meta.n_samples == 0:
        raise AudioError(f"{str(src)!r} is empty")
    if meta.n_channels > 1 and not quiet:
        _note(f"{src}: {meta.n_channels} channels, mixed down to mono")
    in_sr, model_sr = meta.sr, int(enhancer.sr_)
    out_sr = out_sr or in_sr
    expected = meta.n_samples if out_sr == in_sr else math.ceil(meta.n_samples * out_sr / in_sr)
    length = max(int(round(chunk_s * model_sr)), 2 * int(enhancer.front_end_.hop_length) + 2)
    overlap = min(int(round(1.0 * model_sr)), length // 4)
    chunker = _Chunker(lambda seg: enhancer.predict([seg])[0], length, overlap)
    down, up = _Resampler(in_sr, model_sr), _Resampler(model_sr, out_sr)
    sf_format, subtype, _ = _OUT_FORMATS[fmt]
    block = max(int(round(chunk_s * in_sr)), 1024)

    written = 0
    n_clipped = 0
    try:
        with atomic_path(dst, suffix=".part") as tmp, sf.SoundFile(
            tmp, "w", samplerate=out_sr, channels=1, format=sf_format, subtype=subtype
        ) as out, sf.SoundFile(str(src)) as f:

            def emit(y):
                nonlocal written, n_clipped
                y = y[: max(expected - written, 0)]
                if len(y):
                    n_clipped += int(np.count_nonzero(np.abs(y) > 1.0))
                    out.write(np.clip(y, -1.0, 1.0))
                    written += len(y)

            while True:
                x = f.read(block, dtype="float32", always_2d=True)
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
                out.write(np.zeros(expected - written, np.float32))
    except RuntimeError as exc:  # libsndfile errors while reading a damaged file
        raise AudioError(f"cannot read audio file {str(src)!r}: {exc}") from None
    if n_clipped and not quiet:
        _note(f"{dst}: {n_clipped} samples beyond full scale were clipped")
    return dst


def _run_enhance(args):
    from tqdm.auto import tqdm

    from .exceptions import AudioError, ParameterError

    if args.sr is not None and args.sr <= 0:
        raise UserError(f"--sr must be a positive number of Hz, got {args.sr}")
    if not (args.chunk > 0):
        raise UserError(f"--chunk must be a positive number of seconds, got {args.chunk}")
    if args.mask_exponent is not None and not (0 < args.mask_exponent < math.inf):
        raise UserError(f"--mask-exponent must be a positive number, got {args.mask_exponent}")
    items = _enhance_inputs(args.inputs)
    outdir = Path(args.out)
    if outdir.exists() and not outdir.is_dir():
        raise UserError(f"-o must be a folder, got the file {args.out!r}")
    enhancer = _load_model(args.model, args.device)
    if args.mask_exponent is not None:
        enhancer.set_params(mask_exponent=args.mask_exponent)

    n_ok, failed, seen = 0, [], set()
    bar = tqdm(items, unit="file", file=sys.stderr, disable=args.quiet or len(items) < 2)
    for src, rel in bar:
        fmt = args.format or _EXT_FORMAT.get(src.suffix.lower(), "wav")
        dst = outdir / rel.with_suffix(_OUT_FORMATS[fmt][2])
        try:
            key = dst.resolve()
            if key == src.resolve():
                raise ParameterError(f"output {str(dst)!r} would overwrite its input")
            if key in seen:
                raise ParameterError(f"output {str(dst)!r} was already written by another input")
            if dst.exists() and not args.overwrite:
                raise ParameterError(f"output {str(dst)!r} exists (use --overwrite)")
            seen.add(key)
            _enhance_file(enhancer, src, dst, out_sr=args.sr, fmt=fmt, chunk_s=args.chunk,
                          quiet=args.quiet)
            n_ok += 1
        except (AudioError, ParameterError, OSError) as exc:
            failed.append(src)
            tqdm.write(f"sksep enhance: error: {src}: {exc}", file=sys.stderr)
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
            "from a folder (--noise) or a MUSAN copy (--musan). A share of the speakers "
            "(--valid) is held out and scored with STOI after training."
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
                   help="share of speakers (or utterances) held out for STOI (default: 0.1; "
                        "0 turns it off)")
    p.add_argument("--max-files", type=int, default=None, metavar="N",
                   help="read at most N speech and N noise files")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    p.add_argument("--checkpoint", metavar="DIR", default=None,
                   help="folder where training saves its state after every epoch; run an "
                        "interrupted command again and it resumes from the last finished epoch "
                        "(default: OUT.training next to the model file; 'none' saves nothing)")
    p.add_argument("--quick", action="store_true",
                   help="tiny network widths, for a smoke test")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no epoch table (by default skorch prints one row per epoch)")
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


def _run_train(args):
    import dataclasses

    from . import save
    from .comparison import FULL, QUICK, make_enhancer
    from .datasets import load_musan, load_timit, make_mixtures
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
    out = Path(args.out)
    if out.is_dir():
        raise UserError(f"-o must be a file name, got the folder {args.out!r}")

    if args.speech:
        speech = _load_folder_audio(args.speech, args.sr, args.max_files, "speech")
    else:
        speech = load_timit(_existing_dir(args.timit, "TIMIT"), "train", sr=args.sr,
                            max_files=args.max_files)
    if args.noise:
        noise = _load_folder_audio(args.noise, args.sr, args.max_files, "noise")
    else:
        noise = load_musan(_existing_dir(args.musan, "MUSAN"), ("noise",), sr=args.sr,
                           max_files=args.max_files)

    valid = None
    if args.valid > 0 and len(speech) >= 4:
        by = "speaker" if len(set(speech.column("speaker"))) >= 2 else None
        speech, valid = speech.split(test_size=args.valid, by=by, random_state=args.seed)
    train = make_mixtures(speech, noise, snr_db=args.snr, n_mixtures=args.mixtures * len(speech),
                          random_state=args.seed)
    base = QUICK if args.quick else FULL
    settings = dataclasses.replace(base, sr=args.sr, snrs=tuple(args.snr),
                                   max_epochs=args.epochs, random_state=args.seed)
    if args.patience is not None:
        settings = dataclasses.replace(settings, patience=args.patience)
    enhancer = make_enhancer(_NETWORKS[args.network], args.features, settings)
    net = enhancer.estimator.steps[-1][1]
    net.set_params(verbose=int(not args.quiet))  # skorch's epoch table: the progress display
    if args.device:
        net.set_params(device=args.device)
    checkpoint = _checkpoint_dir(args.checkpoint, out)
    if checkpoint is not None:
        net.set_params(callbacks=[("checkpoint", TrainingCheckpoint(checkpoint))])
    _note(f"training {_NETWORKS[args.network]} on {args.features} features: {len(train)} "
          f"mixtures ({sum(train.clean.durations) / 60:.1f} min) at {args.snr} dB")
    enhancer.fit(train.noisy, train.clean)
    fitted = enhancer.estimator_.steps[-1][1]
    resumed = getattr(dict(fitted.callbacks_).get("checkpoint"), "resumed_epochs_", 0)
    if resumed:
        _note(f"resumed after epoch {resumed} from {checkpoint}")
    path = save(enhancer, out)
    if valid is not None and len(valid):
        test = make_mixtures(valid, noise, snr_db=args.snr, snr_mode="all",
                             random_state=args.seed + 1)
        enhanced = enhancer.predict(test.noisy)
        before = np.mean([stoi(c, y, test.sr) for c, y in zip(test.clean, test.noisy)])
        after = np.mean([stoi(c, y, test.sr) for c, y in zip(test.clean, enhanced)])
        print(f"held-out STOI ({len(test)} mixtures): noisy {before:.3f} -> enhanced "
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
            "and print the means."
        ),
    )
    p.add_argument("--clean", required=True, metavar="DIR", help="clean reference files")
    p.add_argument("--enhanced", required=True, metavar="DIR", help="enhanced files")
    p.add_argument("--noisy", metavar="DIR", default=None, help="unprocessed mixtures (optional)")
    p.add_argument("-o", "--out", default="metrics.csv", metavar="CSV",
                   help="table to write (default: metrics.csv)")
    p.add_argument("--metrics", nargs="+", default=["stoi", "estoi", "pesq", "si_sdr"],
                   metavar="NAME",
                   help="metrics (default: stoi estoi pesq si_sdr; also pesq_wb, pesq_raw, snr)")
    p.add_argument("--jobs", type=int, default=1, help="parallel processes (default: 1)")
    p.set_defaults(func=_run_evaluate)


def _by_id(folder):
    root = folder
    return {f.relative_to(root).with_suffix("").as_posix(): f for f in _audio_files(root)}


def _run_evaluate(args):
    from .exceptions import AudioError
    from .io import load
    from .metrics import evaluate

    clean = _by_id(_existing_dir(args.clean, "clean"))
    enhanced = _by_id(_existing_dir(args.enhanced, "enhanced"))
    noisy = _by_id(_existing_dir(args.noisy, "noisy")) if args.noisy else None
    if not clean:
        raise UserError(f"no audio files in the clean folder {args.clean!r}")
    ids = [i for i in clean if i in enhanced and (noisy is None or i in noisy)]
    if not ids:
        raise UserError(f"no file names in common between {args.clean!r} and {args.enhanced!r}"
                        + (f" and {args.noisy!r}" if args.noisy else ""))
    missing = len(clean) - len(ids)
    if missing:
        _note(f"{missing} clean file(s) have no enhanced (or noisy) counterpart; left out")

    refs, ests, mixes, kept, failed = [], [], [], [], []
    sr = None
    for i in ids:
        try:
            c, c_sr = load(clean[i], sr=sr)
            sr = sr or c_sr
            e, _ = load(enhanced[i], sr=sr)
            m = load(noisy[i], sr=sr)[0] if noisy is not None else None
        except AudioError as exc:
            failed.append(i)
            _note(f"error: {exc}")
            continue
        n = min(len(c), len(e), *([len(m)] if m is not None else []))
        if n != len(c) or n != len(e):
            _note(f"{i}: lengths differ ({len(c)} clean, {len(e)} enhanced samples); "
                  "scored on the common start")
        refs.append(c[:n])
        ests.append(e[:n])
        mixes.append(None if m is None else m[:n])
        kept.append(i)
    if not kept:
        raise UserError("none of the matched files could be read")
    table = evaluate(refs, ests, sr=sr, metrics=args.metrics,
                     noisy=mixes if noisy is not None else None, n_jobs=args.jobs)
    table.index = kept
    table.index.name = "id"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out)
    numeric = table.select_dtypes("number")
    print(f"{len(kept)} file(s) at {sr} Hz; means:")
    rows = []
    for col in numeric.columns:
        if col.endswith("_noisy"):
            continue
        row = {"metric": col, "enhanced": numeric[col].mean()}
        if f"{col}_noisy" in numeric:
            row["noisy"] = numeric[f"{col}_noisy"].mean()
            row["gain"] = row["enhanced"] - row["noisy"]
        rows.append(row)
    import pandas as pd

    print(pd.DataFrame(rows).set_index("metric").round(3).to_string())
    print(f"table written to {str(out)!r}")
    return EXIT_PARTIAL if failed else EXIT_OK


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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
