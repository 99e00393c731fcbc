"""Rebuild the bundled real-audio sample of sksep from Debian packages.

The sample that :func:`sksep.datasets.load_sample` reads lives in
``sksep/datasets/data/sample``. This script and
``scripts/build_corpus.py`` are the only code in the project that fetch
anything: it runs ``apt-get download`` for the packages below, unpacks
them with ``dpkg-deb -x`` (nothing is installed), selects and cleans the
recordings by fixed rules and a fixed seed, and writes

* ``speech/*.flac`` and ``noise/*.flac``: 16 kHz mono FLAC (PCM_16);
* ``manifest.csv``: one row per file (role, speaker or noise kind, split,
  duration, source package and version, path inside the package, licence,
  author, notes);
* ``ATTRIBUTION.md``: package, upstream author and licence per group of files.

Run with the same package versions, it rewrites exactly the committed data.
It needs ``apt-get``, ``dpkg-deb`` and the ``g722`` PyPI package (import name
``G722``), so it is not run in CI; the tests only exercise its pure selection
and splitting functions.

Sources (all Debian ``main``):

* speech, four speakers: ``festvox-ru`` (``nsh``, one male Russian speaker,
  studio sentences) and ``asterisk-core-sounds-{en,es,fr,it}-g722`` (G.722
  telephone prompts). The English and the Spanish prompts are both recorded by
  Allison Smith (folders ``en_US_f_Allison`` and ``es_MX_f_Allison``, speaker
  ``allison``), the French ones by June Wallack (``june``), the Italian ones by
  Carlo Flora (``it_IT_m_Carlo``, ``carlo``, male; CC-BY-3.0 by the ``it-*``
  stanza of the package's copyright file). Without the Italian package the
  speech packages would hold only three distinct voices, since English and
  Spanish are one person; ``asterisk-core-sounds-it-g722`` was added to reach
  four. Speakers are labelled by person, not by language, so that the
  speaker-disjoint split is real: ``nsh``, ``allison`` and ``carlo`` are
  training speakers, ``june`` is the test speaker. The Italian package comes
  last in ``SPEECH_SOURCES`` so that the seeded picks of the other three stay
  as they were.
* noise: ``sonic-pi-samples`` (ambiences, machine loops, hiss, percussion loops)
  and ``asterisk-moh-opsound-g722`` (music on hold); babble is mixed from
  utterances of the training speakers that are not in the speech set.

Usage::

    python scripts/build_sample.py --out sksep/datasets/data/sample
    python scripts/build_sample.py --debs /tmp/debs --out /tmp/sample  # reuse downloads
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SR = 16000
SEED = 20240607
MIN_SPEECH_S = 1.0
MAX_SPEECH_S = 10.0
MAX_PIECE_S = 20.0
SPEECH_RMS_DB = -25.0
NOISE_RMS_DB = -26.0
PEAK_LIMIT = 0.95

# -- speech --------------------------------------------------------------------
# (package, speaker, language, target seconds, split)
SPEECH_SOURCES = [
    ("festvox-ru", "nsh", "ru", 150.0, "train"),
    ("asterisk-core-sounds-en-g722", "allison", "en", 80.0, "train"),
    ("asterisk-core-sounds-es-g722", "allison", "es", 80.0, "train"),
    ("asterisk-core-sounds-fr-g722", "june", "fr", 125.0, "test"),
    # last, so that adding it left the picks above unchanged (one seeded rng)
    ("asterisk-core-sounds-it-g722", "carlo", "it", 100.0, "train"),
]
# prompt folders that hold single words, letters, digits or silence
ASTERISK_SKIP_DIRS = {"digits", "letters", "phonetic", "silence"}
# prompts that are not clean speech (tt-monkeys is monkey screeching)
ASTERISK_SKIP_NAMES = re.compile(r"^(tt-monkeys|beep|beeperr|.*-tone.*|.*music.*)$")

# -- noise ---------------------------------------------------------------------
# sonic-pi-samples files by kind and split: different source files per split
SONIC_PI_NOISE = {
    "ambience": {
        "train": ["ambi_glass_hum", "ambi_haunted_hum", "ambi_sauna", "ambi_drone"],
        "test": ["ambi_lunar_land", "ambi_dark_woosh"],
    },
    "machine": {"train": ["loop_3d_printer"], "test": ["loop_electric"]},
    "hiss": {"train": ["vinyl_hiss"], "test": []},
    "percussion": {
        "train": ["loop_tabla", "loop_safari", "loop_garzul"],
        "test": ["loop_amen_full", "loop_mika"],
    },
}
MOH_TRACKS = {
    "train": ["macroform-cold_day", "macroform-robot_dity", "reno_project-system"],
    "test": ["macroform-the_simplicity", "manolo_camp-morning_coffee"],
}
MUSIC_PIECES_PER_TRACK = 2
MUSIC_PIECE_S = 8.0
BABBLE = {"train": 4, "test": 2}  # number of pieces per split
BABBLE_TALKERS = 6
BABBLE_PIECE_S = 8.0

PACKAGES = [p for p, *_ in SPEECH_SOURCES] + ["sonic-pi-samples", "asterisk-moh-opsound-g722"]

LICENCES = {
    "festvox-ru": ("Nickolay V. Shmyrev (voice msu_ru_nsh)", "BSD-like (festvox-ru licence)"),
    "asterisk-core-sounds-en-g722": ("Allison Smith, for Digium, Inc.", "CC-BY-SA-3.0"),
    "asterisk-core-sounds-es-g722": ("Allison Smith, for Digium, Inc.", "CC-BY-SA-3.0"),
    "asterisk-core-sounds-fr-g722": ("June Wallack, for Digium, Inc.", "CC-BY-SA-3.0"),
    # copyright file, stanza "Files: it-*": 2012 Carlo Flora, License: CC-BY-3.0
    "asterisk-core-sounds-it-g722": (
        "Carlo Flora (voice), Silvia Petrin (Italian translation)", "CC-BY-3.0"
    ),
    "asterisk-moh-opsound-g722": (None, "CC-BY-SA-3.0"),
    "sonic-pi-samples": (None, None),  # per file, read from the copyright file
}
MOH_AUTHORS = {
    "macroform": "Paul Shuler (Macroform)",
    "manolo_camp": "Manolo Camp",
    "reno_project": "Reno Project",
}


@dataclass
class Clip:
    """One candidate recording (speech utterance or noise piece)."""

    y: np.ndarray
    package: str
    source_path: str
    speaker: str = ""
    language: str = ""
    kind: str = ""
    split: str = ""
    author: str = ""
    licence: str = ""
    notes: str = ""
    name: str = ""

    @property
    def duration(self):
        return len(self.y) / SR


# -- pure helpers (tested offline) -------------------------------------------------
def pick_until(durations, target, rng):
    """Indices of items, in a random order fixed by ``rng``, until ``target`` seconds.

    Returns ``(picked, rest)``: the chosen indices (whose durations add up to at
    least ``target``, or all of them) and the remaining indices in the same
    shuffled order (used later for babble).
    """
    durations = np.asarray(durations, dtype=float)
    order = rng.permutation(len(durations))
    total = np.cumsum(durations[order])
    n = int(np.searchsorted(total, target) + 1) if len(order) else 0
    n = min(n, len(order))
    return [int(i) for i in order[:n]], [int(i) for i in order[n:]]


def piece_starts(n_samples, piece, n_pieces, margin):
    """Evenly spaced start samples of ``n_pieces`` pieces of ``piece`` samples.

    The pieces stay ``margin`` samples away from both ends when the file is long
    enough; they never overlap while the file is long enough to hold them apart.
    """
    lo = min(margin, max(n_samples - piece, 0))
    hi = max(n_samples - piece - margin, lo)
    if n_pieces == 1:
        return [lo + (hi - lo) // 2]
    return [int(round(lo + k * (hi - lo) / (n_pieces - 1))) for k in range(n_pieces)]


def split_pieces(y, max_len):
    """Cut ``y`` into consecutive pieces of at most ``max_len`` samples, of equal length."""
    n = int(np.ceil(len(y) / max_len))
    bounds = np.linspace(0, len(y), n + 1).round().astype(int)
    return [y[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def normalise(y, rms_db, peak=PEAK_LIMIT):
    """Scale ``y`` to an RMS of ``rms_db`` dBFS, then down if its peak exceeds ``peak``."""
    y = np.asarray(y, dtype=np.float64)
    rms = np.sqrt(np.mean(y**2))
    if rms > 0:
        y = y * (10 ** (rms_db / 20) / rms)
    top = np.max(np.abs(y)) if len(y) else 0.0
    if top > peak:
        y = y * (peak / top)
    return y.astype(np.float32)


def frame_db(y, frame=400, hop=160):
    """Frame energies in dB (25 ms frames, 10 ms hop at 16 kHz)."""
    if len(y) < frame:
        y = np.pad(y, (0, frame - len(y)))
    n = 1 + (len(y) - frame) // hop
    idx = np.arange(frame)[None, :] + hop * np.arange(n)[:, None]
    return 10 * np.log10(np.mean(np.asarray(y, dtype=np.float64)[idx] ** 2, axis=1) + 1e-12)


def trim_silence(y, top_db=35.0, margin_s=0.15):
    """Cut leading and trailing silence quieter than ``top_db`` below the loudest frame.

    Keeps ``margin_s`` seconds of the original signal on each side.
    """
    db = frame_db(y)
    active = np.flatnonzero(db > db.max() - top_db)
    if active.size == 0:
        return y[:0]
    margin = int(margin_s * SR)
    start = max(active[0] * 160 - margin, 0)
    stop = min(active[-1] * 160 + 400 + margin, len(y))
    return y[start:stop]


def speech_problem(y_int, y):
    """Why a trimmed utterance is unfit as clean speech, or ``""`` when it is fine.

    ``y_int`` is the raw integer signal (clipping check), ``y`` the trimmed float one.
    """
    d = len(y) / SR
    if d < MIN_SPEECH_S:
        return f"shorter than {MIN_SPEECH_S} s"
    if d > MAX_SPEECH_S:
        return f"longer than {MAX_SPEECH_S} s"
    if np.count_nonzero(np.abs(y_int) >= 32000) >= 3:
        return "clipped"
    db = frame_db(y)
    # speech has pauses: its quiet frames are far below its loud ones; a music bed
    # or a steady background keeps the floor up
    if np.percentile(db, 95) - np.percentile(db, 5) < 30.0:
        return "no quiet frames (background or music bed)"
    return ""


def make_babble(streams, n_samples, rng):
    """Sum talker streams into one babble of ``n_samples`` samples.

    Each stream (a list of utterances) is joined with short random gaps, a random
    window of ``n_samples`` is taken from it, and every talker is brought to the
    same RMS before summing.
    """
    out = np.zeros(n_samples)
    for utts in streams:
        parts = []
        for u in utts:
            parts.append(u)
            parts.append(np.zeros(int(rng.uniform(0.05, 0.3) * SR)))
        s = np.concatenate(parts)
        if len(s) < n_samples:
            s = np.tile(s, int(np.ceil(n_samples / len(s))))
        start = int(rng.integers(0, len(s) - n_samples + 1))
        out += normalise(s[start : start + n_samples], -30.0, peak=np.inf)
    return out


# -- package access -------------------------------------------------------------
def fetch_packages(debs, root):
    """Download (unless present in ``debs``) and unpack every package; return versions."""
    debs.mkdir(parents=True, exist_ok=True)
    versions = {}
    for pkg in PACKAGES:
        found = sorted(debs.glob(f"{pkg}_*.deb"))
        if not found:
            subprocess.run(["apt-get", "download", pkg], cwd=debs, check=True)
            found = sorted(debs.glob(f"{pkg}_*.deb"))
        deb = found[-1]
        (root / pkg).mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root / pkg)], check=True)
        out = subprocess.run(
            ["dpkg-deb", "-f", str(deb), "Version"], check=True, capture_output=True, text=True
        )
        versions[pkg] = out.stdout.strip()
    return versions


def require_g722():
    """Exit with a clear message, before anything is fetched, if ``g722`` is missing."""
    try:
        import G722  # noqa: F401
    except ImportError:
        sys.exit("error: decoding the G.722 prompts of the asterisk packages needs the g722 "
                 "package: pip install -e '.[build-sample]'")


def read_g722(path):
    """Decode a raw 64 kbit/s G.722 file to int16 samples at 16 kHz."""
    import G722

    return np.asarray(G722.G722(SR, 64000).decode(Path(path).read_bytes()), dtype=np.int16)


def read_audio(path):
    """Read a WAV/FLAC file as float64 mono at 16 kHz (stereo is averaged)."""
    import soundfile as sf
    import soxr

    y, sr = sf.read(path, dtype="float64", always_2d=True)
    y = y.mean(axis=1)
    if sr != SR:
        y = soxr.resample(y, sr, SR, quality="HQ")
    return y


def sonic_pi_licences(copyright_file):
    """Per-sample (author, licence, source URL) from sonic-pi-samples' copyright file."""
    text = Path(copyright_file).read_text(encoding="utf-8")
    out = {}
    for block in text.split("\n\n"):
        m = re.search(r"^Files: etc/samples/(\S+)\.flac", block, re.M)
        if not m:
            continue
        fields = dict(re.findall(r"^(Copyright|Source|License): (.*)$", block, re.M))
        out[m.group(1)] = (
            fields.get("Copyright", "").strip(),
            fields.get("License", "").strip(),
            fields.get("Source", "").strip(),
        )
    return out


# -- selection ---------------------------------------------------------------------
def speech_candidates(root, pkg, speaker, language):
    """All usable utterances of one package, sorted by source path, plus rejects."""
    base = root / pkg
    keep, rejects = [], []
    if pkg == "festvox-ru":
        files = sorted(base.glob("usr/share/festival/voices/russian/*/wav/*.wav"))
    else:
        files = sorted(base.glob("usr/share/asterisk/sounds/*/**/*.g722"))
    for f in files:
        rel = str(f.relative_to(base))
        if pkg != "festvox-ru":
            sub = f.parent.name
            if sub in ASTERISK_SKIP_DIRS or ASTERISK_SKIP_NAMES.match(f.stem):
                continue
            y_int = read_g722(f)
        else:
            import soundfile as sf

            y_int, _ = sf.read(f, dtype="int16")
        y = trim_silence(y_int.astype(np.float64) / 32768.0)
        why = speech_problem(y_int, y)
        if why:
            rejects.append((rel, why))
            continue
        # asterisk prompts in sub-folders (dictate/, followme/) keep the folder in the name
        if pkg == "festvox-ru":
            stem = f.stem
        else:  # usr/share/asterisk/sounds/<voice>/[dictate/]<name>.g722
            stem = "-".join(Path(rel).with_suffix("").parts[5:])
        keep.append(
            Clip(y=y, package=pkg, source_path=rel, speaker=speaker, language=language,
                 name=re.sub(r"[^A-Za-z0-9_-]", "_", stem))
        )
    return keep, rejects


def select_speech(root, rng):
    """Pick utterances per (speaker, language) up to the target; return picked and babble pools."""
    picked, pools, report = [], {}, []
    for pkg, speaker, language, target, split in SPEECH_SOURCES:
        cands, rejects = speech_candidates(root, pkg, speaker, language)
        idx, rest = pick_until([c.duration for c in cands], target, rng)
        author, licence = LICENCES[pkg]
        for i in idx:
            c = cands[i]
            c.split, c.author, c.licence = split, author, licence
            c.y = normalise(c.y, SPEECH_RMS_DB)
            picked.append(c)
        pools[(speaker, language)] = [cands[i] for i in rest]
        seconds = sum(cands[i].duration for i in idx)
        report.append((pkg, len(cands), len(rejects), len(idx), seconds))
    return picked, pools, report


def sonic_pi_noise(root):
    base = root / "sonic-pi-samples"
    lic = sonic_pi_licences(base / "usr/share/doc/sonic-pi-samples/copyright")
    clips = []
    for kind, splits in SONIC_PI_NOISE.items():
        for split, names in splits.items():
            for name in names:
                path = base / f"usr/share/sonic-pi/samples/{name}.flac"
                author, licence, url = lic.get(
                    name, ("2016 Samuel Aaron", "MIT", "")
                )
                note = f"upstream {url}" if url else "no per-file entry; 'Files: *' stanza"
                y = read_audio(path)
                for k, piece in enumerate(split_pieces(y, int(MAX_PIECE_S * SR))):
                    clips.append(
                        Clip(y=normalise(piece, NOISE_RMS_DB), package="sonic-pi-samples",
                             source_path=str(path.relative_to(base)), kind=kind, split=split,
                             author=author, licence=licence, notes=note, name=f"{name}_{k}")
                    )
    return clips


def moh_noise(root):
    base = root / "asterisk-moh-opsound-g722"
    clips = []
    piece = int(MUSIC_PIECE_S * SR)
    for split, tracks in MOH_TRACKS.items():
        for track in tracks:
            path = base / f"usr/share/asterisk/moh/{track}.g722"
            y = read_g722(path).astype(np.float64) / 32768.0
            author = MOH_AUTHORS[track.split("-")[0]]
            starts = piece_starts(len(y), piece, MUSIC_PIECES_PER_TRACK, 10 * SR)
            for k, s in enumerate(starts):
                clips.append(
                    Clip(y=normalise(y[s : s + piece], NOISE_RMS_DB),
                         package="asterisk-moh-opsound-g722",
                         source_path=str(path.relative_to(base)), kind="music", split=split,
                         author=author, licence="CC-BY-SA-3.0",
                         notes=f"{MUSIC_PIECE_S:g} s from {s / SR:.2f} s", name=f"{track}_{k}")
                )
    return clips


def babble_noise(pools, train_groups, rng):
    """Babble pieces from the left-over utterances of the training speakers.

    Every utterance is used once at most, so train and test babble never share one.
    """
    groups = [g for g in pools if g in train_groups]
    cursor = {g: 0 for g in groups}
    n_samples = int(BABBLE_PIECE_S * SR)
    clips = []
    for split, count in BABBLE.items():
        for k in range(count):
            streams, used = [], []
            for t in range(BABBLE_TALKERS):
                g = groups[(t + k) % len(groups)]
                utts, dur = [], 0.0
                while dur < BABBLE_PIECE_S + 1.0:
                    c = pools[g][cursor[g]]
                    cursor[g] += 1
                    utts.append(c.y)
                    used.append(c)
                    dur += c.duration
                streams.append(utts)
            y = normalise(make_babble(streams, n_samples, rng), NOISE_RMS_DB)
            speakers = sorted({f"{c.speaker}({c.language})" for c in used})
            pkgs = sorted({c.package for c in used})
            authors = sorted({LICENCES[p][0] for p in pkgs})
            licences = sorted({LICENCES[p][1] for p in pkgs})
            clips.append(
                Clip(y=y, package=";".join(pkgs), source_path=";".join(c.source_path for c in used),
                     kind="babble", split=split, author="; ".join(authors),
                     licence="mix of " + "; ".join(licences),
                     notes=f"babble of {BABBLE_TALKERS} talkers mixed from training speakers "
                     f"{','.join(speakers)}; {len(used)} utterances not in the speech set",
                     speaker=";".join(sorted({c.speaker for c in used})), name=str(k))
            )
    return clips


# -- output ------------------------------------------------------------------------
FIELDS = [
    "file", "role", "speaker", "language", "kind", "split", "duration",
    "source_package", "package_version", "source_path", "licence", "author", "notes",
]


def write_sample(out, speech, noise, versions):
    import soundfile as sf

    for sub in ("speech", "noise"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
        (out / sub).mkdir(parents=True)
    rows = []
    for role, clips in (("speech", speech), ("noise", noise)):
        for c in clips:
            if role == "speech":
                fname = f"speech/{c.speaker}_{c.language}_{c.name}.flac"
            else:
                fname = f"noise/{c.kind}_{c.split}_{c.name}.flac"
            sf.write(out / fname, c.y, SR, format="FLAC", subtype="PCM_16")
            rows.append({
                "file": fname, "role": role, "speaker": c.speaker, "language": c.language,
                "kind": c.kind, "split": c.split, "duration": f"{c.duration:.3f}",
                "source_package": c.package,
                "package_version": ";".join(versions[p] for p in c.package.split(";")),
                "source_path": c.source_path, "licence": c.licence, "author": c.author,
                "notes": c.notes,
            })
    rows.sort(key=lambda r: r["file"])
    with open(out / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    (out / "ATTRIBUTION.md").write_text(attribution(rows, versions), encoding="utf-8")
    return rows


def attribution(rows, versions):
    lines = [
        "# Attribution of the bundled sample",
        "",
        "Every file here is derived from a Debian package (see `scripts/build_sample.py`,",
        "which rebuilds them). The files were modified: decoded, mixed to mono, resampled",
        "to 16 kHz, trimmed, cut into pieces and level-normalised; the babble files are",
        "mixes of several utterances. `manifest.csv` gives the source, licence and author",
        "of each file. Licence texts: CC-BY-SA-3.0 <https://creativecommons.org/licenses/by-sa/3.0/>,",
        "CC-BY-3.0 <https://creativecommons.org/licenses/by/3.0/>,",
        "CC0 <https://creativecommons.org/publicdomain/zero/1.0/>, and the full texts in each",
        "package's `/usr/share/doc/<package>/copyright`.",
        "",
    ]
    groups = {}
    for r in rows:
        groups.setdefault((r["source_package"], r["author"], r["licence"]), []).append(r["file"])
    for (pkg, author, licence), files in sorted(groups.items()):
        ver = ";".join(versions[p] for p in pkg.split(";"))
        lines += [
            f"## {pkg} ({ver})",
            "",
            f"- author: {author}",
            f"- licence: {licence}",
            "- files: " + ", ".join(f"`{f}`" for f in files),
            "",
        ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("sksep/datasets/data/sample"),
                        help="output folder (default: %(default)s)")
    parser.add_argument("--debs", type=Path, default=None,
                        help="folder for the downloaded .deb files; reused when present "
                        "(default: a temporary folder)")
    args = parser.parse_args(argv)
    require_g722()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        versions = fetch_packages(args.debs or tmp / "debs", tmp / "root")
        rng = np.random.default_rng(SEED)
        speech, pools, report = select_speech(tmp / "root", rng)
        train_groups = {(s, lang) for _, s, lang, _, split in SPEECH_SOURCES if split == "train"}
        noise = sonic_pi_noise(tmp / "root") + moh_noise(tmp / "root")
        noise += babble_noise(pools, train_groups, rng)
        rows = write_sample(args.out, speech, noise, versions)

    for pkg, n_ok, n_bad, n_pick, dur in report:
        print(f"{pkg:32s} usable={n_ok:4d} rejected={n_bad:3d} picked={n_pick:3d} ({dur:.1f} s)")
    for role in ("speech", "noise"):
        for split in ("train", "test"):
            sel = [r for r in rows if r["role"] == role and r["split"] == split]
            print(f"{role:6s} {split:5s} files={len(sel):3d} "
                  f"duration={sum(float(r['duration']) for r in sel):6.1f} s")
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"total size {size / 1e6:.2f} MB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
