"""Build sksep's larger training corpus from Debian packages into a local cache.

:func:`sksep.datasets.load_corpus` reads the result. The layout is the bundled
sample's (see ``scripts/build_sample.py``, whose helpers this script imports):
``speech/*.flac`` and ``noise/*.flac`` (16 kHz mono PCM_16 FLAC; speech at
-25 dBFS RMS, noise at -26 dBFS), ``manifest.csv`` with the sample's columns
and ``ATTRIBUTION.md`` (package, author and licence per group of files, read
from each package's copyright file).

The packages are fetched with ``apt-get download`` into ``--debs`` (files
already there are reused) and unpacked with ``dpkg-deb -x`` into a temporary
folder; nothing is installed. The build is deterministic (every source draws
from its own generator seeded from one fixed seed and the source's name, so
building a subset with ``--packages`` picks the same files for the sources it
keeps) and atomic: it writes ``<out>.partial`` and renames it to ``<out>`` at
the end. An existing ``<out>/manifest.csv`` is kept unless ``--force``.

Speech (speakers labelled by person; ``split`` column):

* ``nsh`` (``festvox-ru``, train, up to 20 min), ``allison`` (English and
  Spanish prompts of ``asterisk-core-sounds-{en,es}-g722``, train, 15 min),
  ``carlo`` (``-it-g722``, train, 12 min), ``june`` (``-fr-g722``, **test**,
  10 min), cleaned by ``build_sample``'s rules (word, letter and digit folders
  skipped, silence trimmed, 1-10 s, no clipping, quiet pauses present);
* ``fish-m`` (train, 20 min) and ``fish-v`` (**test**, 10 min): the small and
  the big fish of Fish Fillets NG (``fillets-ng-data-cs``, Czech voices,
  ``sound/<level>/cs/<prefix>-<m|v>-<name>.ogg``), same cleaning rules; the
  minor characters are left out;
* ``klettres-<lang>`` (``klettres-data``, train, 3 min per language): letters
  and syllables (< 1 s each) joined in a seeded order with 0.15 s of silence
  between them into 3-6 s utterances. Clips that clip, or whose quiet frames
  are less than 30 dB below the loud ones (a noise floor), are left out;
* only with ``--flite``: ``flite-<voice>`` (train, 8 min per voice), the
  ``flite`` binary (run from the unpacked ``flite`` and ``libflite1``
  packages, nothing installed) reading sentences of the package's
  public-domain text with its 16 kHz voices ``kal16``, ``awb``, ``rms`` and
  ``slt``, each voice in its own seeded order, same cleaning rules.

Noise (``kind`` column):

* trained kinds, split about 75/25 by source recording (a recording lands in
  one split only): ``ambience``, ``electronic``, ``hiss``, ``percussion``,
  ``loop`` and ``instrument`` from ``sonic-pi-samples`` (per kind and split,
  the samples are joined and cut into pieces of at most 20 s), ``music`` from
  ``asterisk-moh-opsound-g722`` (three 20 s pieces per track) and ``babble``
  (3-5 talkers; training babble from utterances of the training speakers that
  are not in the speech set, test babble from those of the test speakers);
* unseen kinds, **test only** (``notes`` says "unseen kind"), about 4 min each:
  ``game-music`` (``fillets-ng-data`` music, one 20 s piece per track),
  ``ringtone`` (``lomiri-sounds``, the first 20 s of each), ``alert``
  (``oxygen-sounds``, ``sound-theme-freedesktop`` and ``lomiri-sounds``
  notifications) and ``water`` (``fillets-ng-data`` bubbles and impacts); the
  short clips of the last two are strung together in a seeded order with
  0.2-1.0 s gaps into pieces of at most 20 s. The spoken channel names of
  ``sound-theme-freedesktop`` (``audio-channel-*``) and its test signal are
  left out, and so are files its copyright file does not list.

The bundled sample's test split stays unheard: every source file that the
sample's test split uses (its noise recordings and the utterances of its test
babble, read from the sample's ``manifest.csv``) is put in this corpus's test
split or left out of training (speech and babble), so a model trained here can
still be scored on the sample's test split.

Usage (the ``g722`` decoder comes with ``pip install -e ".[build-sample]"``)::

    python scripts/build_corpus.py                       # ~/.cache/sksep/corpus
    python scripts/build_corpus.py --out /data/corpus --force
    python scripts/build_corpus.py --packages festvox-ru sonic-pi-samples --scale 0.1
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_sample as bs  # noqa: E402  (the sample builder's helpers)
from build_sample import (  # noqa: E402
    NOISE_RMS_DB,
    SPEECH_RMS_DB,
    SR,
    Clip,
    frame_db,
    normalise,
    pick_until,
    piece_starts,
    read_audio,
    speech_problem,
    split_pieces,
    trim_silence,
)

SEED = 20240916
MIN = 60.0
MAX_PIECE_S = 20.0
TEST_SHARE = 0.25
SAMPLE_MANIFEST = (Path(__file__).resolve().parents[1] / "sksep" / "datasets" / "data"
                   / "sample" / "manifest.csv")

# (speaker, packages, target seconds, split); asterisk/festvox cleaned as in build_sample
SPEECH_SOURCES = [
    ("nsh", ["festvox-ru"], 20 * MIN, "train"),
    ("allison", ["asterisk-core-sounds-en-g722", "asterisk-core-sounds-es-g722"], 15 * MIN,
     "train"),
    ("carlo", ["asterisk-core-sounds-it-g722"], 12 * MIN, "train"),
    ("june", ["asterisk-core-sounds-fr-g722"], 10 * MIN, "test"),
]
LANGUAGES = {"festvox-ru": "ru", "asterisk-core-sounds-en-g722": "en",
             "asterisk-core-sounds-es-g722": "es", "asterisk-core-sounds-it-g722": "it",
             "asterisk-core-sounds-fr-g722": "fr"}
FISH = {"fish-m": (20 * MIN, "train"), "fish-v": (10 * MIN, "test")}
KLETTRES_CAP_S = 3 * MIN
KLETTRES_UTT_S = (3.0, 6.0)
KLETTRES_GAP_S = 0.15
# synthetic voices (--flite): flite's 16 kHz US English voices reading the package's
# own text (the first chapters of Alice's Adventures in Wonderland, public domain)
FLITE_PACKAGES = ["flite", "libflite1"]
FLITE_VOICES = ("kal16", "awb", "rms", "slt")
FLITE_CAP_S = 8 * MIN
FLITE_WORDS = (4, 25)
FLITE_TEXT = "usr/share/doc/flite/examples/alice"

MUSIC_PIECES_PER_TRACK = 3
BABBLE = {"train": 12, "test": 6}  # pieces per split
BABBLE_PIECE_S = 10.0
BABBLE_TALKERS = (3, 5)
UNSEEN_CAP_S = 4 * MIN
EVENT_GAP_S = (0.2, 1.0)

PACKAGES = [
    "festvox-ru", "asterisk-core-sounds-en-g722", "asterisk-core-sounds-es-g722",
    "asterisk-core-sounds-it-g722", "asterisk-core-sounds-fr-g722", "fillets-ng-data-cs",
    "klettres-data", "sonic-pi-samples", "asterisk-moh-opsound-g722", "fillets-ng-data",
    "lomiri-sounds", "oxygen-sounds", "sound-theme-freedesktop",
]
# the Fish Fillets copyright files are not machine-readable: authors and licence as they state
FILLETS = ("Ivo Danihelka, Pavel Danihelka, ALTAR interactive and others (Fish Fillets NG)",
           "GPL-2")
FISH_DIR = "usr/share/games/fillets-ng"
FREEDESKTOP_SKIP = re.compile(r"^(audio-channel-.*|audio-test-signal)\.oga$")


_T0 = time.monotonic()


def log(msg):
    """Print one progress line, prefixed with the seconds since the script started."""
    print(f"[{time.monotonic() - _T0:5.0f} s] {msg}" if msg else "", flush=True)


def rng_for(name):
    """A generator seeded from :data:`SEED` and ``name``: one stream per source."""
    return np.random.default_rng([SEED, zlib.crc32(name.encode("utf-8"))])


# -- pure helpers (tested offline) ----------------------------------------------------
def fillets_label(path):
    """``(role, label)`` of a Fish Fillets file from its path inside the packages, or None.

    ``.../sound/<level>/cs/<prefix>-<m|v>-<name>.ogg`` is speech of ``fish-m``
    (the small fish) or ``fish-v`` (the big fish); other characters give None.
    ``.../sound/share/sp-bubles_*.ogg`` and ``sp-impact_*.ogg`` are ``water``
    noise, ``.../music/*.ogg`` is ``game-music``.
    """
    parts = Path(path).parts
    name = parts[-1]
    if not name.endswith(".ogg") or len(parts) < 2:
        return None
    if parts[-2] == "music":
        return ("noise", "game-music")
    if parts[-2] == "share" and re.match(r"^sp-(bubles|impact)_.+\.ogg$", name):
        return ("noise", "water")
    m = re.match(r"^[^-]+-(?P<who>[^-]+)-.+\.ogg$", name)
    if len(parts) >= 4 and parts[-2] == "cs" and parts[-4] == "sound" and m:
        if m["who"] in ("m", "v"):
            return ("speech", f"fish-{m['who']}")
    return None


def sonic_pi_kind(name):
    """Noise kind of a sonic-pi sample from its name (``ambi_choir`` -> ``ambience``)."""
    prefix = name.split("_", 1)[0]
    kinds = {"ambi": "ambience", "elec": "electronic", "vinyl": "hiss", "loop": "loop",
             "drum": "percussion", "perc": "percussion", "bd": "percussion",
             "sn": "percussion", "tabla": "percussion"}
    return kinds.get(prefix, "instrument")


def sample_test_sources(manifest=SAMPLE_MANIFEST):
    """Source paths (inside their packages) that the bundled sample's test split uses."""
    import csv

    with open(manifest, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "test"]
    return {part.split(":")[-1] for r in rows for part in r["source_path"].split(";") if part}


def split_sources(names, rng, test_share=TEST_SHARE, force_test=()):
    """Assign each source recording to ``train`` or ``test``, about ``test_share`` to test.

    The names are sorted before a seeded shuffle, so the result depends on the
    set of names and ``rng`` only. One recording never lands in both splits; a
    single recording goes to train, two or more give at least one to each.
    Names in ``force_test`` go to test whatever the draw (and count towards
    the test share); if that would leave no training recording they are
    still all test.
    """
    names = sorted(set(names))
    forced = {n for n in names if n in set(force_test)}
    if len(names) < 2:
        return {n: ("test" if n in forced else "train") for n in names}
    n_test = min(max(1, int(round(test_share * len(names)))), len(names) - 1)
    order = [names[i] for i in rng.permutation(len(names)) if names[i] not in forced]
    test = forced | set(order[: max(0, n_test - len(forced))])
    return {n: ("test" if n in test else "train") for n in names}


def join_clips(clips, rng, min_s=KLETTRES_UTT_S[0], max_s=KLETTRES_UTT_S[1],
               gap_s=KLETTRES_GAP_S, sr=SR):
    """String short clips together, in a seeded order, into utterances of ``min_s``-``max_s``.

    Each utterance draws a target length uniformly from ``[min_s, max_s]`` and
    takes clips, separated by exactly ``gap_s`` seconds of silence, until it
    reaches the target; a clip that would push it beyond ``max_s`` starts the
    next utterance. Clips longer than ``max_s`` and a last utterance shorter
    than ``min_s`` are dropped. Returns a list of ``(y, indices)``.
    """
    gap = np.zeros(int(round(gap_s * sr)), dtype=np.float32)
    lo, hi = int(round(min_s * sr)), int(round(max_s * sr))
    out, cur, idx, length = [], [], [], 0
    target = int(rng.uniform(min_s, max_s) * sr)

    def close():
        nonlocal cur, idx, length, target
        if length >= lo:
            out.append((np.concatenate(cur).astype(np.float32), idx))
        cur, idx, length = [], [], 0
        target = int(rng.uniform(min_s, max_s) * sr)

    for i in rng.permutation(len(clips)):
        y = np.asarray(clips[i], dtype=np.float32)
        if len(y) > hi or len(y) == 0:
            continue
        if cur and length + len(gap) + len(y) > hi:
            close()
        if cur:
            cur.append(gap)
            length += len(gap)
        cur.append(y)
        idx.append(int(i))
        length += len(y)
        if length >= target:
            close()
    if cur:
        close()
    return out


def pack_events(events, rng, piece_s=MAX_PIECE_S, gap_s=EVENT_GAP_S, cap_s=None, sr=SR):
    """String short sound events, in a seeded order, into pieces of at most ``piece_s``.

    Every event is followed by a random silence of ``gap_s`` (low, high)
    seconds; an event that would overflow a piece starts the next one (an event
    longer than a piece is cut into pieces of its own). Events are never cut
    otherwise. Packing stops once ``cap_s`` seconds are reached. Returns a list
    of ``(y, indices)``.
    """
    n_piece = int(round(piece_s * sr))
    out, cur, idx, length, total = [], [], [], 0, 0

    def close():
        nonlocal cur, idx, length, total
        if cur:
            y = np.concatenate(cur)[:n_piece].astype(np.float32)
            out.append((y, idx))
            total += len(y)
        cur, idx, length = [], [], 0

    for i in rng.permutation(len(events)):
        if cap_s is not None and total >= cap_s * sr:
            break
        y = np.asarray(events[i], dtype=np.float32)
        gap = np.zeros(int(rng.uniform(*gap_s) * sr), dtype=np.float32)
        if len(y) > n_piece:
            close()
            for part in split_pieces(y, n_piece):
                out.append((part, [int(i)]))
                total += len(part)
            continue
        if cur and length + len(y) > n_piece:
            close()
        cur += [y, gap]
        idx.append(int(i))
        length += len(y) + len(gap)
    close()
    if cap_s is not None:  # whole pieces only, stop at the cap
        keep, total = [], 0
        for y, ix in out:
            if total >= cap_s * sr:
                break
            keep.append((y, ix))
            total += len(y)
        out = keep
    return out


def concat_pieces(ys, max_len):
    """Join ``ys`` and cut the result into equal pieces of at most ``max_len`` samples.

    Returns ``(piece, indices)`` pairs: the indices of the inputs each piece holds a part of.
    """
    ys = [np.asarray(y) for y in ys]
    bounds = np.cumsum([0] + [len(y) for y in ys])
    pieces = split_pieces(np.concatenate(ys), max_len)
    out, start = [], 0
    for p in pieces:
        stop = start + len(p)
        idx = [i for i in range(len(ys)) if bounds[i] < stop and bounds[i + 1] > start]
        out.append((p, idx))
        start = stop
    return out


def parse_dep5(text):
    """Stanzas of a machine-readable (DEP-5) copyright file.

    Returns ``[(patterns, copyright, licence)]``, one per ``Files:`` stanza, in file order.
    """
    stanzas = []
    for block in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in block.splitlines():
            m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
            if m:
                key = m[1]
                fields[key] = [m[2].strip()] if m[2].strip() else []
            elif key and line.startswith((" ", "\t")) and line.strip() != ".":
                fields[key].append(line.strip())
        if "Files" in fields:
            patterns = " ".join(fields["Files"]).split()
            stanzas.append((patterns, "; ".join(fields.get("Copyright", [])),
                            (fields.get("License") or [""])[0]))
    return stanzas


def dep5_lookup(stanzas, path):
    """``(copyright, licence)`` for ``path`` (inside the package) by the last matching stanza.

    A pattern matches the path or any of its tails (``share/...`` matches
    ``usr/share/...``; ``stereo/bell.oga`` matches ``.../stereo/bell.oga``).
    Returns None when no stanza lists the file.
    """
    parts = Path(path).parts
    tails = ["/".join(parts[k:]) for k in range(len(parts))]
    found = None
    for patterns, holder, licence in stanzas:
        if any(fnmatch.fnmatchcase(t, p) for p in patterns for t in tails):
            found = (holder, licence)
    return found


# -- package access ------------------------------------------------------------------
def unpack(packages, debs, root):
    """Download (unless a .deb is in ``debs``) and unpack each package; return their versions."""
    debs.mkdir(parents=True, exist_ok=True)
    versions = {}
    for pkg in packages:
        found = sorted(debs.glob(f"{pkg}_*.deb"))
        if not found:
            log(f"  apt-get download {pkg}")
            subprocess.run(["apt-get", "download", pkg], cwd=debs, check=True)
            found = sorted(debs.glob(f"{pkg}_*.deb"))
        deb = found[-1]
        (root / pkg).mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root / pkg)], check=True)
        out = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], check=True,
                             capture_output=True, text=True)
        versions[pkg] = out.stdout.strip()
    return versions


def read_int(path):
    """(raw samples scaled to int16 range at the file's rate, float mono at 16 kHz)."""
    import soundfile as sf

    raw, _ = sf.read(path, dtype="float64", always_2d=True)
    return raw * 32768.0, read_audio(path)


def dep5_file(root, pkg):
    path = root / pkg / "usr/share/doc" / pkg / "copyright"
    return parse_dep5(path.read_text(encoding="utf-8")) if path.is_file() else []


def safe(name):
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


# -- speech ---------------------------------------------------------------------------
def take(cands, target, rng):
    """Seeded picks up to ``target`` seconds (never beyond it); returns (picked, rest)."""
    idx, rest = pick_until([c.duration for c in cands], target, rng)
    total = sum(cands[i].duration for i in idx)
    if idx and total > target:
        rest.insert(0, idx.pop())
    return [cands[i] for i in idx], [cands[i] for i in rest]


def finish_speech(clips, split, author, licence):
    for c in clips:
        c.split, c.author, c.licence = split, author, licence
        c.y = normalise(c.y, SPEECH_RMS_DB)
    return clips


def prompt_speech(root, scale):
    """festvox-ru and asterisk voices; returns picked clips and left-over pools."""
    picked, pools = [], {}
    for speaker, pkgs, target, split in SPEECH_SOURCES:
        pkgs = [p for p in pkgs if (root / p).is_dir()]
        if not pkgs:
            continue
        cands, n_bad = [], 0
        for pkg in pkgs:
            keep, rejects = bs.speech_candidates(root, pkg, speaker, LANGUAGES[pkg])
            for c in keep:
                c.y = c.y.astype(np.float32)
                c.author, c.licence = bs.LICENCES[pkg]
            cands += keep
            n_bad += len(rejects)
        if split == "train":  # utterances inside the sample's test babble stay out of training
            held = sample_test_sources()
            cands = [c for c in cands if c.source_path not in held]
        chosen, rest = take(cands, target * scale, rng_for(speaker))
        for c in chosen:
            c.split = split
            c.y = normalise(c.y, SPEECH_RMS_DB)
        picked += chosen
        pools[speaker] = (split, rest)
        log(f"  {speaker:14s} {'+'.join(pkgs)}: {len(cands)} usable, {n_bad} rejected, "
            f"{len(chosen)} picked ({sum(c.duration for c in chosen) / MIN:.1f} min)")
    return picked, pools


def fish_speech(root, scale):
    pkg = "fillets-ng-data-cs"
    base = root / pkg
    if not base.is_dir():
        return [], {}
    cands = {s: [] for s in FISH}
    rejects = {s: {} for s in FISH}
    for f in sorted(base.glob(f"{FISH_DIR}/sound/*/cs/*.ogg")):
        rel = str(f.relative_to(base))
        label = fillets_label(rel)
        if not label or label[0] != "speech":
            continue
        speaker = label[1]
        y_int, y = read_int(f)
        y = trim_silence(y)
        why = speech_problem(y_int, y)
        if why:
            rejects[speaker][why] = rejects[speaker].get(why, 0) + 1
            continue
        name = safe(f"{f.parent.parent.name}-{f.stem}")
        cands[speaker].append(Clip(y=y.astype(np.float32), package=pkg, source_path=rel,
                                   speaker=speaker, language="cs", name=name,
                                   author=FILLETS[0], licence=FILLETS[1]))
    picked, pools = [], {}
    for speaker, (target, split) in FISH.items():
        chosen, rest = take(cands[speaker], target * scale, rng_for(speaker))
        picked += finish_speech(chosen, split, FILLETS[0], FILLETS[1])
        pools[speaker] = (split, rest)
        why = ", ".join(f"{n} {k}" for k, n in sorted(rejects[speaker].items())) or "none"
        log(f"  {speaker:14s} {pkg}: {len(cands[speaker])} usable, rejected: {why}; "
            f"{len(chosen)} picked ({sum(c.duration for c in chosen) / MIN:.1f} min)")
    return picked, pools


def klettres_clip_problem(y_int, y):
    """Why a letter/syllable clip is unfit, or ``""``: clipping, or no quiet frames."""
    if np.count_nonzero(np.abs(y_int) >= 32000) >= 3:
        return "clipped"
    db = frame_db(y)
    if np.percentile(db, 95) - np.percentile(db, 5) < 30.0:
        return "no quiet frames"
    return ""


def klettres_speech(root, scale):
    pkg = "klettres-data"
    base = root / pkg
    if not base.is_dir():
        return []
    stanzas = dep5_file(root, pkg)
    out = []
    for lang_dir in sorted(p for p in (base / "usr/share/klettres").iterdir() if p.is_dir()):
        files = sorted(lang_dir.glob("alpha/*.ogg")) + sorted(lang_dir.glob("syllab/*.ogg"))
        if not files:
            continue
        lang = lang_dir.name
        ys, rels, bad = [], [], {}
        for f in files:
            y_int, y = read_int(f)
            why = klettres_clip_problem(y_int, y)
            if why:
                bad[why] = bad.get(why, 0) + 1
                continue
            y = trim_silence(y, margin_s=0.02)
            if len(y) < 0.1 * SR:
                bad["too short"] = bad.get("too short", 0) + 1
                continue
            ys.append(normalise(y, SPEECH_RMS_DB))
            rels.append(str(f.relative_to(base)))
        speaker = f"klettres-{lang}"
        utts = join_clips(ys, rng_for(speaker))
        holder, licence = dep5_lookup(stanzas, rels[0] if rels else "x") or ("", "")
        total = 0.0
        for k, (y, idx) in enumerate(utts):
            if total >= KLETTRES_CAP_S * scale:
                break
            total += len(y) / SR
            out.append(Clip(y=normalise(y, SPEECH_RMS_DB), package=pkg,
                            source_path=";".join(rels[i] for i in idx), speaker=speaker,
                            language=lang, split="train", author=holder, licence=licence,
                            notes=f"{len(idx)} letter/syllable clips joined with "
                            f"{KLETTRES_GAP_S:g} s gaps", name=f"utt{k:03d}"))
        why = ", ".join(f"{n} {k}" for k, n in sorted(bad.items())) or "none"
        log(f"  {speaker:14s} {pkg}: {len(ys)} clips kept, rejected: {why}; "
            f"{sum(1 for c in out if c.speaker == speaker)} utterances ({total / MIN:.1f} min)")
    return out


def flite_sentences(text, min_words=FLITE_WORDS[0], max_words=FLITE_WORDS[1]):
    """Sentences of ``text`` with ``min_words`` to ``max_words`` words (no all-caps headings)."""
    flat = re.sub(r"[`\"_()*]|(?<![A-Za-z])'|'(?![A-Za-z])", " ", " ".join(text.split()))
    out = []
    for sent in re.split(r"(?<=[.!?;:])\s+", flat):
        sent = " ".join(sent.split()).strip(" -")
        words = sent.split()
        if min_words <= len(words) <= max_words and not sent.isupper():
            out.append(sent)
    return out


def flite_speech(root, scale):
    """Training speech synthesised by flite's voices, one speaker per voice (``--flite``)."""
    import os

    import soundfile as sf

    binary = root / "flite" / "usr/bin/flite"
    libs = sorted((root / "libflite1" / "usr/lib").glob("*/libflite.so*"))
    if not binary.is_file() or not libs:
        return []
    env = dict(os.environ, LD_LIBRARY_PATH=str(libs[0].parent))
    sentences = flite_sentences((root / "flite" / FLITE_TEXT).read_text(encoding="utf-8"))
    out = []
    with tempfile.TemporaryDirectory(prefix="sksep-flite-") as tmp:
        wav = Path(tmp) / "utt.wav"
        for voice in FLITE_VOICES:
            speaker = f"flite-{voice}"
            order = rng_for(speaker).permutation(len(sentences))
            total, bad = 0.0, {}
            for k in order:
                if total >= FLITE_CAP_S * scale:
                    break
                subprocess.run([str(binary), "-voice", voice, "-t", sentences[k], "-o", str(wav)],
                               check=True, env=env, capture_output=True)
                raw, sr = sf.read(wav, dtype="float64")
                if sr != SR:
                    raise RuntimeError(f"flite voice {voice} wrote {sr} Hz, expected {SR}")
                y = trim_silence(raw)
                why = speech_problem(raw * 32768.0, y)
                if why:
                    bad[why] = bad.get(why, 0) + 1
                    continue
                total += len(y) / SR
                out.append(Clip(y=normalise(y, SPEECH_RMS_DB), package="flite",
                                source_path=f"{FLITE_TEXT}#sentence{k}", speaker=speaker,
                                language="en", split="train",
                                author="Carnegie Mellon University (flite voice); text: Lewis "
                                "Carroll, Alice's Adventures in Wonderland",
                                licence="flite licence (BSD-like); text public domain",
                                notes=f"synthesised by flite -voice {voice}",
                                name=f"s{int(k):04d}"))
            why = ", ".join(f"{n} {k}" for k, n in sorted(bad.items())) or "none"
            log(f"  {speaker:14s} flite: {sum(1 for c in out if c.speaker == speaker)} "
                f"utterances ({total / MIN:.1f} min), rejected: {why}")
    return out


# -- noise ----------------------------------------------------------------------------
def noise_clip(y, pkg, paths, kind, split, author, licence, notes, name):
    return Clip(y=normalise(y, NOISE_RMS_DB), package=pkg, source_path=";".join(paths),
                kind=kind, split=split, author=author, licence=licence, notes=notes, name=name)


def sonic_pi_noise(root):
    pkg = "sonic-pi-samples"
    base = root / pkg
    if not base.is_dir():
        return []
    lic = bs.sonic_pi_licences(base / "usr/share/doc/sonic-pi-samples/copyright")
    by_kind = {}
    for f in sorted(base.glob("usr/share/sonic-pi/samples/*.flac")):
        by_kind.setdefault(sonic_pi_kind(f.stem), []).append(f)
    clips = []
    held = sample_test_sources()
    for kind, files in sorted(by_kind.items()):
        force = [f.stem for f in files if str(f.relative_to(base)) in held]
        splits = split_sources([f.stem for f in files], rng_for(f"sonic-pi-{kind}"),
                               force_test=force)
        for split in ("train", "test"):
            chosen = [f for f in files if splits[f.stem] == split]
            if not chosen:
                continue
            ys = [normalise(trim_silence(read_audio(f), top_db=60.0, margin_s=0.01),
                            NOISE_RMS_DB) for f in chosen]
            for k, (y, idx) in enumerate(concat_pieces(ys, int(MAX_PIECE_S * SR))):
                info = [lic.get(chosen[i].stem, ("2016 Samuel Aaron", "MIT", "")) for i in idx]
                clips.append(noise_clip(
                    y, pkg, [str(chosen[i].relative_to(base)) for i in idx], kind, split,
                    "; ".join(sorted({a for a, _, _ in info})),
                    "; ".join(sorted({lc for _, lc, _ in info})),
                    f"{len(idx)} samples joined", f"{kind}{k:02d}"))
        log(f"  {kind:14s} {pkg}: {len(files)} files, "
            f"{sum(v == 'test' for v in splits.values())} to test")
    return clips


def moh_noise(root):
    pkg = "asterisk-moh-opsound-g722"
    base = root / pkg
    if not base.is_dir():
        return []
    tracks = sorted(base.glob("usr/share/asterisk/moh/*.g722"))
    held = sample_test_sources()
    splits = split_sources([t.stem for t in tracks], rng_for("music"),
                           force_test=[t.stem for t in tracks if str(t.relative_to(base)) in held])
    piece = int(MAX_PIECE_S * SR)
    clips = []
    for t in tracks:
        y = bs.read_g722(t).astype(np.float64) / 32768.0
        author = bs.MOH_AUTHORS.get(t.stem.split("-")[0], "")
        for k, s in enumerate(piece_starts(len(y), piece, MUSIC_PIECES_PER_TRACK, 10 * SR)):
            clips.append(noise_clip(y[s : s + piece], pkg, [str(t.relative_to(base))], "music",
                                    splits[t.stem], author, "CC-BY-SA-3.0",
                                    f"{MAX_PIECE_S:g} s from {s / SR:.2f} s", f"{t.stem}_{k}"))
    log(f"  {'music':14s} {pkg}: {len(tracks)} tracks, "
        f"{sum(v == 'test' for v in splits.values())} to test")
    return clips


def babble_noise(pools, scale):
    """Babble per split from the left-over utterances of that split's speakers (each used once)."""
    clips = []
    n = int(BABBLE_PIECE_S * SR)
    held = sample_test_sources()  # utterances of the sample's test babble: never in training
    for split, count in BABBLE.items():
        rng = rng_for(f"babble-{split}")
        groups = {s: [c for c in rest if split == "test" or c.source_path not in held]
                  for s, (sp, rest) in sorted(pools.items()) if sp == split and rest}
        groups = {s: g for s, g in groups.items() if g}
        speakers = sorted(groups)
        made, n_pieces = 0, max(1, int(round(count * scale))) if speakers else 0
        for k in range(n_pieces):
            talkers = int(rng.integers(BABBLE_TALKERS[0], BABBLE_TALKERS[1] + 1))
            streams, used = [], []
            for t in range(talkers):
                g = speakers[(t + k) % len(speakers)]
                utts, dur = [], 0.0
                while dur < BABBLE_PIECE_S + 1.0 and groups[g]:
                    c = groups[g].pop(0)
                    utts.append(c.y)
                    used.append(c)
                    dur += c.duration
                if utts:
                    streams.append(utts)
            if len(streams) < BABBLE_TALKERS[0]:
                break
            y = bs.make_babble(streams, n, rng)
            pkgs = sorted({c.package for c in used})
            who = sorted({c.speaker for c in used})
            clips.append(Clip(
                y=normalise(y, NOISE_RMS_DB), package=";".join(pkgs),
                source_path=";".join(c.source_path for c in used), kind="babble", split=split,
                author="; ".join(sorted({c.author for c in used})),
                licence="mix of " + "; ".join(sorted({c.licence for c in used})),
                notes=f"babble of {len(streams)} talkers mixed from {split} speakers "
                f"{','.join(who)}; {len(used)} utterances not in the speech set",
                speaker=";".join(who), name=f"{k:02d}"))
            made += 1
        log(f"  {'babble ' + split:14s} {made} pieces of {BABBLE_PIECE_S:g} s from "
            f"{','.join(speakers) or 'no left-over utterances'}")
    return clips


UNSEEN = "unseen kind (test only)"


def game_music_noise(root, scale):
    pkg = "fillets-ng-data"
    base = root / pkg
    if not base.is_dir():
        return []
    tracks = [t for t in sorted(base.glob(f"{FISH_DIR}/music/*.ogg"))
              if fillets_label(str(t.relative_to(base))) == ("noise", "game-music")]
    rng = rng_for("game-music")
    piece = int(MAX_PIECE_S * SR)
    clips, total = [], 0.0
    for i in rng.permutation(len(tracks)):
        if total >= UNSEEN_CAP_S * scale:
            break
        y = read_audio(tracks[i])
        (s,) = piece_starts(len(y), piece, 1, 10 * SR)
        y = y[s : s + piece]
        total += len(y) / SR
        clips.append(noise_clip(y, pkg, [str(tracks[i].relative_to(base))], "game-music", "test",
                                FILLETS[0], FILLETS[1], f"{UNSEEN}; {len(y) / SR:.1f} s from "
                                f"{s / SR:.2f} s", tracks[i].stem))
    log(f"  {'game-music':14s} {pkg}: {len(clips)} of {len(tracks)} tracks ({total / MIN:.1f} min)")
    return clips


def ringtone_noise(root, scale):
    pkg = "lomiri-sounds"
    base = root / pkg
    if not base.is_dir():
        return []
    stanzas = dep5_file(root, pkg)
    files = sorted(base.glob("usr/share/sounds/lomiri/ringtones/*.ogg"))
    rng = rng_for("ringtone")
    clips, total, unlisted = [], 0.0, 0
    for i in rng.permutation(len(files)):
        if total >= UNSEEN_CAP_S * scale:
            break
        rel = str(files[i].relative_to(base))
        found = dep5_lookup(stanzas, rel)
        if not found:
            unlisted += 1
            continue
        y = trim_silence(read_audio(files[i]), top_db=60.0, margin_s=0.0)[: int(MAX_PIECE_S * SR)]
        total += len(y) / SR
        clips.append(noise_clip(y, pkg, [rel], "ringtone", "test", found[0], found[1],
                                f"{UNSEEN}; first {len(y) / SR:.1f} s", safe(files[i].stem)))
    log(f"  {'ringtone':14s} {pkg}: {len(clips)} of {len(files)} ringtones ({total / MIN:.1f} min)"
        + (f", {unlisted} not in the copyright file (left out)" if unlisted else ""))
    return clips


def event_noise(kind, events, scale, name_prefix):
    """Pack ``events`` (list of (y, package, rel, author, licence)) into test pieces of ``kind``."""
    packed = pack_events([e[0] for e in events], rng_for(kind), cap_s=UNSEEN_CAP_S * scale)
    clips = []
    for k, (y, idx) in enumerate(packed):
        sel = [events[i] for i in idx]
        clips.append(noise_clip(
            y, ";".join(sorted({e[1] for e in sel})), [f"{e[1]}:{e[2]}" for e in sel], kind,
            "test", "; ".join(sorted({e[3] for e in sel})),
            "; ".join(sorted({e[4] for e in sel})),
            f"{UNSEEN}; {len(idx)} sound events with "
            f"{EVENT_GAP_S[0]:g}-{EVENT_GAP_S[1]:g} s gaps", f"{name_prefix}{k:02d}"))
    total = sum(c.duration for c in clips)
    log(f"  {kind:14s} {len(events)} events -> {len(clips)} pieces ({total / MIN:.1f} min)")
    return clips


def alert_noise(root, scale):
    globs = {
        "oxygen-sounds": "usr/share/sounds/*.ogg",
        "sound-theme-freedesktop": "usr/share/sounds/freedesktop/stereo/*.oga",
        "lomiri-sounds": "usr/share/sounds/lomiri/notifications/*.ogg",
    }
    events, unlisted = [], []
    for pkg, pattern in globs.items():
        base = root / pkg
        if not base.is_dir():
            continue
        stanzas = dep5_file(root, pkg)
        for f in sorted(base.glob(pattern)):
            if FREEDESKTOP_SKIP.match(f.name):
                continue
            rel = str(f.relative_to(base))
            found = dep5_lookup(stanzas, rel)
            if not found:
                unlisted.append(f"{pkg}:{f.name}")
                continue
            y = trim_silence(read_audio(f), top_db=60.0, margin_s=0.01)
            events.append((normalise(y, NOISE_RMS_DB), pkg, rel, found[0], found[1]))
    if unlisted:
        log(f"  alert: left out (not in the copyright file): {', '.join(unlisted)}")
    return event_noise("alert", events, scale, "alert") if events else []


def water_noise(root, scale):
    pkg = "fillets-ng-data"
    base = root / pkg
    if not base.is_dir():
        return []
    events = []
    for f in sorted(base.glob(f"{FISH_DIR}/sound/share/*.ogg")):
        rel = str(f.relative_to(base))
        if fillets_label(rel) == ("noise", "water"):
            y = trim_silence(read_audio(f), top_db=60.0, margin_s=0.01)
            events.append((normalise(y, NOISE_RMS_DB), pkg, rel, FILLETS[0], FILLETS[1]))
    return event_noise("water", events, scale, "water") if events else []


# -- output ---------------------------------------------------------------------------
LICENCE_URLS = {
    "CC0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "CC-BY-3.0": "https://creativecommons.org/licenses/by/3.0/",
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-3.0": "https://creativecommons.org/licenses/by-sa/3.0/",
    "GPL-2": "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html",
    "LGPL-3": "https://www.gnu.org/licenses/lgpl-3.0.html",
}


def attribution(rows, versions):
    lines = [
        "# Attribution of the sksep corpus",
        "",
        "Every file here is derived from a Debian package by `scripts/build_corpus.py`",
        "of sksep. The files were modified: decoded, mixed to mono, resampled to 16 kHz,",
        "trimmed, joined or cut into pieces and level-normalised; babble files are mixes",
        "of several utterances. `manifest.csv` gives the source, licence and author of",
        "each file. Licences (full texts in each package's",
        "`/usr/share/doc/<package>/copyright`):",
        "",
        *(f"- {k}: <{v}>" for k, v in LICENCE_URLS.items()),
        "",
    ]
    groups = {}
    for r in rows:
        key = (r["source_package"], r["author"], r["licence"])
        groups.setdefault(key, []).append(r["file"])
    for (pkg, author, licence), files in sorted(groups.items()):
        ver = ";".join(versions[p] for p in pkg.split(";"))
        shown = ", ".join(f"`{f}`" for f in files[:8])
        more = f" and {len(files) - 8} more" if len(files) > 8 else ""
        lines += [f"## {pkg} ({ver})", "", f"- author: {author}", f"- licence: {licence}",
                  f"- files ({len(files)}): {shown}{more}", ""]
    return "\n".join(lines)


def summary(rows):
    """Minutes per (role, speaker or kind) and split, as printable lines."""
    table = {}
    for r in rows:
        label = r["speaker"] if r["role"] == "speech" else r["kind"]
        key = (r["role"], label)
        cell = table.setdefault(key, {"train": [0, 0.0], "test": [0, 0.0]})
        cell[r["split"]][0] += 1
        cell[r["split"]][1] += float(r["duration"]) / MIN
    lines = [f"{'role':6s} {'speaker/kind':16s} {'train files':>11s} {'train min':>9s} "
             f"{'test files':>10s} {'test min':>8s}"]
    totals = {}
    for (role, label), cell in sorted(table.items()):
        lines.append(f"{role:6s} {label:16s} {cell['train'][0]:11d} {cell['train'][1]:9.1f} "
                     f"{cell['test'][0]:10d} {cell['test'][1]:8.1f}")
        for split in ("train", "test"):
            t = totals.setdefault((role, split), [0, 0.0])
            t[0] += cell[split][0]
            t[1] += cell[split][1]
    for role in ("speech", "noise"):
        tr, te = totals.get((role, "train"), [0, 0.0]), totals.get((role, "test"), [0, 0.0])
        lines.append(f"{role:6s} {'TOTAL':16s} {tr[0]:11d} {tr[1]:9.1f} {te[0]:10d} {te[1]:8.1f}")
    return lines


def build(root, scale, flite=False):
    """All speech and noise clips from the packages unpacked under ``root``."""
    log("speech:")
    speech, pools = prompt_speech(root, scale)
    fish, fish_pools = fish_speech(root, scale)
    speech += fish
    pools.update(fish_pools)
    speech += klettres_speech(root, scale)
    if flite:
        speech += flite_speech(root, scale)
    log("noise:")
    noise = sonic_pi_noise(root) + moh_noise(root) + babble_noise(pools, scale)
    noise += game_music_noise(root, scale) + ringtone_noise(root, scale)
    noise += alert_noise(root, scale) + water_noise(root, scale)
    return speech, noise


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("~/.cache/sksep/corpus"),
                        help="output folder (default: %(default)s)")
    parser.add_argument("--debs", type=Path, default=Path("~/.cache/sksep/debs"),
                        help="folder of the downloaded .deb files, reused when present "
                        "(default: %(default)s)")
    parser.add_argument("--packages", nargs="+", choices=PACKAGES, default=PACKAGES,
                        metavar="PKG", help="build from these packages only (default: all)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every duration cap (e.g. 0.1 for a quick build)")
    parser.add_argument("--force", action="store_true", help="rebuild an existing corpus")
    parser.add_argument("--flite", action="store_true",
                        help="add training speech synthesised by flite's four 16 kHz voices "
                        f"({FLITE_CAP_S / MIN:.0f} min each; packages {', '.join(FLITE_PACKAGES)})")
    args = parser.parse_args(argv)
    out, debs = args.out.expanduser(), args.debs.expanduser()
    if (out / "manifest.csv").exists() and not args.force:
        log(f"{out} already holds a corpus (manifest.csv); pass --force to rebuild it")
        return 0
    if any(pkg.endswith("-g722") for pkg in args.packages):
        bs.require_g722()

    t0 = time.time()
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    with tempfile.TemporaryDirectory(prefix="sksep-corpus-") as tmp:
        root = Path(tmp)
        versions = {}
        for pkg in args.packages + (FLITE_PACKAGES if args.flite else []):
            versions.update(unpack([pkg], debs, root))
            log(f"unpacked {pkg} {versions[pkg]}")
        speech, noise = build(root, args.scale, flite=args.flite)
        names = [f"{c.speaker}_{c.language}_{c.name}" for c in speech]
        names += [f"{c.kind}_{c.split}_{c.name}" for c in noise]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise RuntimeError(f"file names collide: {dupes[:5]}")
        rows = bs.write_sample(partial, speech, noise, versions)
    (partial / "ATTRIBUTION.md").write_text(attribution(rows, versions), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)

    print()
    for line in summary(rows):
        print(line)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"total size {size / 1e6:.1f} MB in {out} ({len(rows)} files); "
        f"built in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
