"""load_corpus on folders in the sample's layout, and scripts/build_corpus.py on fake packages."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sksep.datasets import default_corpus_path, load_corpus, load_sample, sample_path
from sksep.exceptions import CorpusLayoutError

FIELDS = ["file", "role", "speaker", "language", "kind", "split", "duration", "source_package",
          "package_version", "source_path", "licence", "author", "notes"]


@pytest.fixture(scope="module")
def bc(load_script):
    return load_script("build_corpus.py")


def write_manifest(folder, rows):
    with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in FIELDS})


@pytest.fixture
def tiny(tmp_path, speech_like, white_noise):
    """A two-file corpus: one training utterance, one test babble."""
    root = tmp_path / "corpus"
    (root / "speech").mkdir(parents=True)
    (root / "noise").mkdir()
    y = speech_like(1.0, seed=1)
    n = white_noise(8000, seed=2)
    sf.write(root / "speech/ann_en_a.flac", y, 16000, subtype="PCM_16")
    sf.write(root / "noise/babble_test_0.flac", n, 16000, subtype="PCM_16")
    write_manifest(root, [
        dict(file="speech/ann_en_a.flac", role="speech", speaker="ann", language="en",
             split="train", duration="1.000", source_package="pkg-a", source_path="a.wav",
             licence="CC0"),
        dict(file="noise/babble_test_0.flac", role="noise", speaker="bob;eve", kind="babble",
             split="test", duration="0.500", source_package="pkg-b", source_path="b.wav;c.wav",
             licence="CC-BY-3.0"),
    ])
    return root, y, n


# -- load_corpus -------------------------------------------------------------------
def test_load_corpus_reads_a_folder_in_the_sample_layout(tiny):
    root, y, n = tiny
    speech, noise = load_corpus(root)
    assert len(speech.train) == 1 and len(speech.test) == 0
    assert len(noise.train) == 0 and len(noise.test) == 1
    assert speech.train.sr == noise.test.sr == 16000
    np.testing.assert_allclose(speech.train[0], y, atol=1 / 32768)
    np.testing.assert_allclose(noise.test[0], n, atol=1 / 32768)
    row = speech.train.meta.iloc[0]
    assert (row["id"], row["speaker"], row["language"], row["source"]) == (
        "ann_en_a", "ann", "en", "pkg-a")
    assert Path(row["path"]) == root / "speech/ann_en_a.flac"
    assert noise.test.meta.iloc[0]["talkers"] == "bob;eve"
    sample_speech, sample_noise = load_sample()
    assert list(speech.train.meta) == list(sample_speech.train.meta)
    assert list(noise.test.meta) == list(sample_noise.test.meta)


def test_load_corpus_resamples_and_returns_fresh_arrays(tiny):
    root, y, _ = tiny
    speech, _ = load_corpus(str(root), sr=8000)
    assert speech.train.sr == 8000
    assert abs(len(speech.train[0]) - len(y) // 2) <= 1
    first, _ = load_corpus(root)
    first.train[0][:] = 0
    again, _ = load_corpus(root)
    assert np.abs(again.train[0]).max() > 0


def test_load_corpus_on_the_bundled_sample_equals_load_sample():
    speech, noise = load_corpus(sample_path())
    ref_speech, ref_noise = load_sample()
    for got, ref in ((speech, ref_speech), (noise, ref_noise)):
        for split in ("train", "test"):
            assert got[split].meta.drop(columns="path").equals(ref[split].meta.drop(columns="path"))
            assert all(np.array_equal(a, b) for a, b in zip(got[split], ref[split], strict=True))


def test_default_corpus_path_follows_the_environment(tiny, monkeypatch):
    root, _, _ = tiny
    monkeypatch.delenv("SKSEP_CORPUS", raising=False)
    assert default_corpus_path() == Path.home() / ".cache" / "sksep" / "corpus"
    monkeypatch.setenv("SKSEP_CORPUS", str(root))
    assert default_corpus_path() == root
    speech, _ = load_corpus()
    assert list(speech.train.column("speaker")) == ["ann"]


def test_missing_folder_or_manifest_says_how_to_build_it(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(CorpusLayoutError, match="nowhere.*build_corpus.py"):
        load_corpus(missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorpusLayoutError, match=r"empty.*manifest\.csv.*build_corpus\.py"):
        load_corpus(empty)


def test_missing_file_column_or_wrong_rate_is_a_layout_error(tiny):
    root, _, _ = tiny
    (root / "noise/babble_test_0.flac").unlink()
    with pytest.raises(CorpusLayoutError, match="babble_test_0.flac"):
        load_corpus(root)
    sf.write(root / "noise/babble_test_0.flac", np.zeros(800), 8000, subtype="PCM_16")
    with pytest.raises(CorpusLayoutError, match="not 16 kHz mono"):
        load_corpus(root)
    (root / "manifest.csv").write_text("file,role\nspeech/ann_en_a.flac,speech\n")
    with pytest.raises(CorpusLayoutError, match="lacks the columns"):
        load_corpus(root)


# -- pure parts of the build script ----------------------------------------------------
def test_fillets_labels(bc):
    d = "usr/share/games/fillets-ng"
    assert bc.fillets_label(f"{d}/sound/city/cs/vit-m-hlava.ogg") == ("speech", "fish-m")
    assert bc.fillets_label(f"{d}/sound/city/cs/vit-v-pockej.ogg") == ("speech", "fish-v")
    assert bc.fillets_label(f"{d}/sound/city/cs/vit-hs-klid1.ogg") is None  # minor character
    assert bc.fillets_label(f"{d}/sound/fdto/cs/cely-m.ogg") is None  # no name part
    assert bc.fillets_label(f"{d}/sound/city/en/vit-m-hlava.ogg") is None  # not the cs voices
    assert bc.fillets_label(f"{d}/sound/share/sp-bubles_03.ogg") == ("noise", "water")
    assert bc.fillets_label(f"{d}/sound/share/sp-impact_heavy_00.ogg") == ("noise", "water")
    assert bc.fillets_label(f"{d}/sound/share/sp-dead_big.ogg") is None
    assert bc.fillets_label(f"{d}/music/rybky01.ogg") == ("noise", "game-music")
    assert bc.fillets_label(f"{d}/music/rybky01.ogg.meta") is None


def test_sonic_pi_kinds(bc):
    kinds = {n: bc.sonic_pi_kind(n) for n in
             ["ambi_drone", "elec_beep", "vinyl_hiss", "loop_amen", "drum_cowbell", "perc_bell",
              "bd_808", "sn_dub", "tabla_ghe1", "guit_em9", "bass_drop_c", "misc_crow",
              "glitch_perc1"]}
    assert kinds == {"ambi_drone": "ambience", "elec_beep": "electronic", "vinyl_hiss": "hiss",
                     "loop_amen": "loop", "drum_cowbell": "percussion", "perc_bell": "percussion",
                     "bd_808": "percussion", "sn_dub": "percussion", "tabla_ghe1": "percussion",
                     "guit_em9": "instrument", "bass_drop_c": "instrument",
                     "misc_crow": "instrument", "glitch_perc1": "instrument"}


def test_noise_split_is_recording_disjoint_and_seeded(bc):
    names = [f"rec{i:02d}" for i in range(20)]
    a = bc.split_sources(names, np.random.default_rng(0))
    assert set(a) == set(names) and set(a.values()) == {"train", "test"}
    assert sum(v == "test" for v in a.values()) == 5  # 25 %
    assert bc.split_sources(names[::-1], np.random.default_rng(0)) == a  # order-free
    assert bc.split_sources(names, np.random.default_rng(1)) != a
    assert bc.split_sources(["one"], np.random.default_rng(0)) == {"one": "train"}
    assert sorted(bc.split_sources(["a", "b"], np.random.default_rng(0)).values()) == [
        "test", "train"]
    # recordings the bundled sample tests on are forced to test, within the same share
    forced = bc.split_sources(names, np.random.default_rng(0), force_test=["rec03", "rec07"])
    assert forced["rec03"] == forced["rec07"] == "test"
    assert sum(v == "test" for v in forced.values()) == 5


def test_the_sample_test_sources_are_never_corpus_training_sources(bc):
    held = bc.sample_test_sources()
    assert "usr/share/sonic-pi/samples/ambi_dark_woosh.flac" in held
    assert all(":" not in p and ";" not in p for p in held)


def test_klettres_join_lengths_and_gaps(bc):
    sr = 16000
    rng = np.random.default_rng(3)
    clips = [np.full(int(rng.uniform(0.3, 0.9) * sr), 0.1 * (i + 1) / 60, dtype=np.float32)
             for i in range(60)]
    utts = bc.join_clips(clips, np.random.default_rng(0))
    assert len(utts) >= 4
    used = [i for _, idx in utts for i in idx]
    assert len(used) == len(set(used))  # every clip at most once
    for y, idx in utts:
        assert 3.0 * sr <= len(y) <= 6.0 * sr
        assert len(y) == sum(len(clips[i]) for i in idx) + (len(idx) - 1) * int(0.15 * sr)
        # the clips appear in order, separated by exactly 0.15 s of digital silence
        pos = 0
        for k, i in enumerate(idx):
            np.testing.assert_array_equal(y[pos : pos + len(clips[i])], clips[i])
            pos += len(clips[i])
            if k < len(idx) - 1:
                assert not y[pos : pos + 2400].any()
                pos += 2400
    again = bc.join_clips(clips, np.random.default_rng(0))
    assert [idx for _, idx in again] == [idx for _, idx in utts]
    assert bc.join_clips([np.ones(7 * sr, np.float32)], np.random.default_rng(0)) == []


def test_event_stream_pieces_gaps_and_cap(bc):
    sr = 16000
    events = [np.full(int((0.2 + 0.05 * i) * sr), 0.5, dtype=np.float32) for i in range(40)]
    pieces = bc.pack_events(events, np.random.default_rng(0))
    assert sorted(i for _, idx in pieces for i in idx) == list(range(40))  # all, once
    for y, idx in pieces:
        assert len(y) <= 20 * sr
        runs = np.diff(np.flatnonzero(np.diff(np.r_[0, (y != 0).astype(int), 0])))[::2]
        assert list(runs) == [len(events[i]) for i in idx]  # whole events, in order
        zero = np.diff(np.flatnonzero(np.diff(np.r_[0, (y == 0).astype(int), 0])))[::2]
        gaps = zero[: len(idx) - 1]  # between events (the last gap may be cut)
        assert (gaps >= 0.2 * sr - 1).all() and (gaps <= 1.0 * sr).all()
    capped = bc.pack_events(events, np.random.default_rng(0), cap_s=15.0)
    total = sum(len(y) for y, _ in capped)
    assert 15 * sr <= total < 15 * sr + 20 * sr and len(capped) < len(pieces)


def test_concat_pieces_tracks_sources(bc):
    ys = [np.full(10, i + 1.0) for i in range(3)]  # 30 samples -> two pieces of 15
    out = bc.concat_pieces(ys, 16)
    assert [len(p) for p, _ in out] == [15, 15]
    assert [idx for _, idx in out] == [[0, 1], [1, 2]]


def test_dep5_licence_lookup(bc):
    text = (
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: 2008, Someone <a@b>\nLicense: LGPL-3.0-or-later\n\n"
        "Files: share/sounds/x/ringtones/Wooden?Drive.ogg\n"
        "       share/sounds/x/notifications/Blip.ogg\n"
        "Copyright: 2018, Amber Forest\n           2019, Other\nLicense: CC-BY-3.0\n"
        " long licence text\n .\n more\n\nLicense: CC-BY-3.0\n text\n"
    )
    stanzas = bc.parse_dep5(text)
    assert len(stanzas) == 2
    assert bc.dep5_lookup(stanzas, "usr/share/sounds/x/ringtones/Wooden Drive.ogg") == (
        "2018, Amber Forest; 2019, Other", "CC-BY-3.0")
    assert bc.dep5_lookup(stanzas, "usr/share/sounds/x/notifications/Other.ogg") == (
        "2008, Someone <a@b>", "LGPL-3.0-or-later")
    assert bc.dep5_lookup(stanzas[1:], "usr/share/sounds/x/notifications/Other.ogg") is None


# -- the whole script on fake packages --------------------------------------------------
def _utterance(speech_like, seed, sr=22050):
    """About 2 s: speech bursts between stretches of silence (passes the cleaning rules)."""
    s = np.zeros(int(0.3 * sr), np.float32)
    return np.concatenate([s, speech_like(0.7, sr=sr, seed=seed), s,
                           speech_like(0.7, sr=sr, seed=seed + 50), s])


def _deb(tmp, debs, pkg, files, copyright_text):
    """Build ``debs/<pkg>_9.9_all.deb`` holding ``files`` ({path: (y, sr)}) with dpkg-deb."""
    tree = tmp / f"tree-{pkg}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN/control").write_text(
        f"Package: {pkg}\nVersion: 9.9\nArchitecture: all\nMaintainer: test <t@e.st>\n"
        "Description: fake package for tests\n")
    doc = tree / "usr/share/doc" / pkg
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(copyright_text)
    for rel, (y, sr) in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(tree / rel, y, sr, format="OGG", subtype="VORBIS")
    debs.mkdir(exist_ok=True)
    subprocess.run(["dpkg-deb", "-Zgzip", "--root-owner-group", "--build", str(tree),
                    str(debs / f"{pkg}_9.9_all.deb")], check=True, capture_output=True)


def test_build_script_end_to_end_on_fake_packages(bc, tmp_path, speech_like, capsys):
    debs, out = tmp_path / "debs", tmp_path / "corpus"
    d = "usr/share/games/fillets-ng/sound"
    loud = np.clip(_utterance(speech_like, 9) * 30, -1, 1)  # clipped: must be rejected
    _deb(tmp_path, debs, "fillets-ng-data-cs", {
        f"{d}/city/cs/vit-m-hlava.ogg": (_utterance(speech_like, 1), 22050),
        f"{d}/city/cs/vit-m-nebo.ogg": (_utterance(speech_like, 2), 22050),
        f"{d}/wreck/cs/wr-v-proc.ogg": (_utterance(speech_like, 3, 44100), 44100),
        f"{d}/wreck/cs/wr-v-kde.ogg": (_utterance(speech_like, 4), 22050),
        f"{d}/wreck/cs/wr-v-hlasite.ogg": (loud, 22050),
        f"{d}/city/cs/vit-hs-klid1.ogg": (_utterance(speech_like, 5), 22050),  # minor voice
    }, "Fish Fillets NG, GPL-2\n")
    rng = np.random.default_rng(0)
    tone = np.sin(2 * np.pi * 880 * np.arange(int(0.4 * 44100)) / 44100) * 0.3
    _deb(tmp_path, debs, "lomiri-sounds", {
        "usr/share/sounds/lomiri/ringtones/Bliss.ogg": (0.2 * rng.standard_normal(44100 * 25),
                                                        44100),
        "usr/share/sounds/lomiri/ringtones/Soul.ogg": (0.1 * rng.standard_normal(44100 * 6),
                                                       44100),
        "usr/share/sounds/lomiri/notifications/Blip.ogg": (tone, 44100),
        "usr/share/sounds/lomiri/notifications/Xylo.ogg": (tone[::-1] * 0.5, 44100),
    }, "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
       "Files: share/sounds/lomiri/ringtones/*\nCopyright: 2013, Canonical Ltd.\n"
       "License: CC-BY-SA-3.0\n\nFiles: share/sounds/lomiri/notifications/*\n"
       "Copyright: 2018, Anonymous\nLicense: CC0-1.0\n")

    args = ["--out", str(out), "--debs", str(debs), "--packages", "fillets-ng-data-cs",
            "lomiri-sounds"]
    assert bc.main(args) == 0
    log = capsys.readouterr().out
    assert "unpacked fillets-ng-data-cs 9.9" in log and "unpacked lomiri-sounds 9.9" in log
    assert "1 clipped" in log and "TOTAL" in log
    assert not (tmp_path / "corpus.partial").exists()

    with open(out / "manifest.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    sample_fields = (sample_path() / "manifest.csv").read_text().splitlines()[0].split(",")
    assert reader.fieldnames == sample_fields == FIELDS
    speech = {r["source_path"].rsplit("/", 1)[-1]: r for r in rows if r["role"] == "speech"}
    assert set(speech) == {"vit-m-hlava.ogg", "vit-m-nebo.ogg", "wr-v-proc.ogg", "wr-v-kde.ogg"}
    assert {r["speaker"] for r in speech.values() if r["split"] == "train"} == {"fish-m"}
    assert {r["speaker"] for r in speech.values() if r["split"] == "test"} == {"fish-v"}
    noise = [r for r in rows if r["role"] == "noise"]
    assert {r["kind"] for r in noise} == {"ringtone", "alert"}
    assert all(r["split"] == "test" and "unseen kind" in r["notes"] for r in noise)
    ring = {r["source_path"]: r for r in noise if r["kind"] == "ringtone"}
    bliss = ring["usr/share/sounds/lomiri/ringtones/Bliss.ogg"]
    assert float(bliss["duration"]) == pytest.approx(20.0, abs=0.01)  # first 20 s only
    assert (bliss["licence"], bliss["author"]) == ("CC-BY-SA-3.0", "2013, Canonical Ltd.")
    assert all(r["package_version"] == "9.9" for r in rows)
    for r in rows:
        info = sf.info(out / r["file"])
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert info.duration == pytest.approx(float(r["duration"]), abs=1e-3)
    y, _ = sf.read(out / speech["wr-v-proc.ogg"]["file"])
    assert 20 * np.log10(np.sqrt(np.mean(y**2))) == pytest.approx(-25.0, abs=0.2)
    attribution = (out / "ATTRIBUTION.md").read_text()
    assert "CC0-1.0" in attribution and "GPL-2" in attribution

    sp, no = load_corpus(out)
    assert sorted(set(sp.train.column("speaker"))) == ["fish-m"]
    assert len(no.train) == 0 and sorted(set(no.test.column("kind"))) == ["alert", "ringtone"]

    # an existing corpus is kept unless --force
    stamp = (out / "manifest.csv").stat().st_mtime_ns
    assert bc.main(args) == 0
    assert "already holds a corpus" in capsys.readouterr().out
    assert (out / "manifest.csv").stat().st_mtime_ns == stamp


def test_flite_sentences_keep_apostrophes_and_drop_headings(bc):
    text = ("  DOWN THE RABBIT HOLE AGAIN.\n\n  `Oh dear!  I shall be late!'  said\n"
            "the Rabbit, `and the Queen's croquet-ground is far.'  Too short.  "
            + "word " * 30 + ".")
    assert bc.flite_sentences(text) == [
        "I shall be late!",
        "said the Rabbit, and the Queen's croquet-ground is far.",
    ]
    # the all-caps heading, "Oh dear!" and "Too short." (fewer than 4 words) and the
    # 30-word run-on (more than 25) are left out; quotes go, apostrophes stay


def test_flite_voices_become_capped_training_speakers(bc, tmp_path, speech_like):
    """flite_speech on a fake flite binary: one speaker per voice, cleaned, capped."""
    import sys

    good, loud = tmp_path / "good.wav", tmp_path / "loud.wav"
    y = _utterance(speech_like, 3, sr=16000)
    sf.write(good, y, 16000, subtype="PCM_16")
    sf.write(loud, np.clip(y * 30, -1, 1), 16000, subtype="PCM_16")
    root = tmp_path / "root"
    libdir = root / "libflite1/usr/lib/x86_64-linux-gnu"
    libdir.mkdir(parents=True)
    (libdir / "libflite.so.1").write_bytes(b"")
    binary = root / "flite/usr/bin/flite"
    binary.parent.mkdir(parents=True)
    binary.write_text(
        f"#!{sys.executable}\n"
        "import os, shutil, sys\n"
        "a = sys.argv\n"
        f"assert os.environ['LD_LIBRARY_PATH'] == {str(libdir)!r}\n"
        "text = a[a.index('-t') + 1]\n"
        f"shutil.copy({str(loud)!r} if 'LOUD' in text else {str(good)!r}, a[a.index('-o') + 1])\n")
    binary.chmod(0o755)
    text = root / "flite" / bc.FLITE_TEXT
    text.parent.mkdir(parents=True)
    text.write_text(" ".join(f"This is sentence number {k} of the text." for k in range(12))
                    + " A LOUD one, clipped by the synthesiser.")
    utt = len(y) / 16000
    scale = 2.5 * utt / bc.FLITE_CAP_S  # a cap of 2.5 utterances: three per voice
    clips = bc.flite_speech(root, scale)
    speakers = [c.speaker for c in clips]
    assert sorted(set(speakers)) == sorted(f"flite-{v}" for v in bc.FLITE_VOICES)
    assert all(speakers.count(s) == 3 for s in set(speakers))
    assert all(c.split == "train" and c.language == "en" and c.package == "flite"
               for c in clips)
    assert all("loud" not in c.notes.lower() for c in clips)
    assert {c.notes for c in clips} == {f"synthesised by flite -voice {v}"
                                        for v in bc.FLITE_VOICES}
    for c in clips:  # trimmed, normalised to the corpus's speech level, never clipped
        assert 20 * np.log10(np.sqrt(np.mean(c.y.astype(float) ** 2))) == pytest.approx(
            bc.SPEECH_RMS_DB, abs=0.2)
        assert len(c.y) <= len(y)
    # every voice reads its own seeded order of the sentences
    orders = {s: [c.name for c in clips if c.speaker == s] for s in set(speakers)}
    assert len({tuple(o) for o in orders.values()}) > 1
    assert bc.flite_speech(root, scale)[0].name == clips[0].name
    # no flite unpacked: no synthetic speech
    assert bc.flite_speech(tmp_path / "empty", 1.0) == []


def test_build_script_names_the_missing_g722_extra_before_fetching(bc, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "G722", None)  # import G722 -> ImportError
    fetched = []
    monkeypatch.setattr(bc.subprocess, "run", lambda *a, **k: fetched.append(a))
    with pytest.raises(SystemExit, match=r"g722.*\[build-sample\]"):
        bc.main(["--out", str(tmp_path / "c"), "--debs", str(tmp_path / "d"),
                 "--packages", "asterisk-core-sounds-fr-g722"])
    assert not fetched  # nothing downloaded before the check
