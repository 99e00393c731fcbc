"""The bundled sample: contents, splits, attribution, and the rebuild script's pure parts."""

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sksep.datasets import AudioCollection, load_sample
from sksep.exceptions import ParameterError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sksep" / "datasets" / "data" / "sample"


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def manifest():
    with open(SAMPLE / "manifest.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def build(load_script):
    return load_script("build_sample.py")


# -- contents ---------------------------------------------------------------------
def test_load_sample_returns_16k_collections(sample):
    speech, noise = sample
    for bunch in (speech, noise):
        assert set(bunch) == {"train", "test"}
        for coll in (bunch.train, bunch.test):
            assert isinstance(coll, AudioCollection)
            assert coll.sr == 16000
            assert len(coll) > 0
            assert all(y.dtype == np.float32 and y.ndim == 1 for y in coll)
            assert all(np.isfinite(y).all() and np.abs(y).max() <= 1.0 for y in coll)
    assert {"id", "speaker", "language", "source", "path", "split"} <= set(speech.train.meta)
    assert {"id", "kind", "source", "path", "split"} <= set(noise.train.meta)
    assert (speech.train.column("split") == "train").all()
    assert (noise.test.column("split") == "test").all()


def test_sample_meets_the_minima(sample):
    speech, noise = sample
    speech_s = speech.train.duration + speech.test.duration
    noise_s = noise.train.duration + noise.test.duration
    assert speech_s >= 6 * 60
    assert noise_s >= 3 * 60
    durations = np.concatenate([speech.train.durations, speech.test.durations])
    assert durations.min() >= 1.0 and durations.max() <= 10.0
    assert max(noise.train.durations.max(), noise.test.durations.max()) <= 20.0
    kinds = set(noise.train.column("kind")) | set(noise.test.column("kind"))
    assert {"music", "babble"} <= kinds
    assert len(kinds) >= 5
    # at least four distinct voices, counted by person: the English and Spanish
    # prompts are both Allison Smith's and carry one speaker label
    voices = set(speech.train.column("speaker")) | set(speech.test.column("speaker"))
    assert len(voices) >= 4
    assert len(set(speech.train.column("speaker"))) >= 3
    assert len(set(speech.train.column("language"))) >= 3


def test_speakers_are_labelled_by_person(manifest):
    # one label per recording person, whatever the language or package
    person = {}
    for row in manifest:
        if row["role"] == "speech":
            person.setdefault(row["speaker"], set()).add(row["author"])
    assert all(len(authors) == 1 for authors in person.values())
    people = {a for authors in person.values() for a in authors}
    assert len(people) == len(person) >= 4
    languages = {r["language"] for r in manifest if r["speaker"] == "allison"}
    assert languages == {"en", "es"}


def test_speech_split_is_speaker_disjoint(sample):
    speech, _ = sample
    train, test = set(speech.train.column("speaker")), set(speech.test.column("speaker"))
    assert train and test and not train & test
    assert speech.test.duration >= 90
    assert speech.train.duration + speech.test.duration >= 6.5 * 60
    assert not set(speech.train.column("id")) & set(speech.test.column("id"))


def test_noise_split_shares_no_recording(sample, manifest):
    _, noise = sample
    train_src = {p for s in noise.train.column("source_path") for p in s.split(";")}
    test_src = {p for s in noise.test.column("source_path") for p in s.split(";")}
    assert not train_src & test_src
    # most kinds occur in both splits, so matched-kind evaluation is possible
    shared = set(noise.train.column("kind")) & set(noise.test.column("kind"))
    assert len(shared) >= 4


def test_babble_is_made_of_training_speakers_only(sample, manifest):
    speech, noise = sample
    train_speakers = set(speech.train.column("speaker"))
    babble = [r for r in manifest if r["kind"] == "babble"]
    assert {r["split"] for r in babble} == {"train", "test"}
    speech_paths = {r["source_path"] for r in manifest if r["role"] == "speech"}
    for row in babble:
        assert set(row["speaker"].split(";")) <= train_speakers
        utterances = row["source_path"].split(";")
        assert len(utterances) >= 4
        # babble never reuses a clean utterance of the speech set
        assert not set(utterances) & speech_paths
    talkers = noise.train.where(kind="babble").column("talkers")
    assert all(set(t.split(";")) <= train_speakers for t in talkers)


def test_speech_is_clean_with_quiet_pauses(sample):
    speech, _ = sample
    for y in list(speech.train) + list(speech.test):
        frames = y[: len(y) // 160 * 160].reshape(-1, 160).astype(np.float64)
        db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
        assert np.percentile(db, 95) - np.percentile(db, 5) >= 25
        assert np.count_nonzero(np.abs(y) >= 0.999) == 0


# -- files and attribution ----------------------------------------------------------
def test_every_manifest_file_exists_and_is_attributed(manifest):
    attribution = (SAMPLE / "ATTRIBUTION.md").read_text(encoding="utf-8")
    on_disk = {str(p.relative_to(SAMPLE)) for p in SAMPLE.rglob("*.flac")}
    assert on_disk == {r["file"] for r in manifest}
    for row in manifest:
        info = sf.info(SAMPLE / row["file"])
        assert (info.samplerate, info.channels, info.format) == (16000, 1, "FLAC")
        assert info.subtype == "PCM_16"
        assert abs(info.duration - float(row["duration"])) < 1e-3
        assert row["licence"] and row["author"] and row["source_path"]
        assert row["split"] in {"train", "test"} and row["role"] in {"speech", "noise"}
        for pkg in row["source_package"].split(";"):
            assert f"## {pkg}" in attribution or f";{pkg}" in attribution
        assert f"`{row['file']}`" in attribution


def test_sample_size_stays_under_budget():
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert size <= 14 * 1024**2


# -- loader behaviour ----------------------------------------------------------------
def test_resample_to_8k():
    speech8, noise8 = load_sample(sr=8000)
    speech16, _ = load_sample()
    assert speech8.train.sr == noise8.test.sr == 8000
    np.testing.assert_allclose(speech8.train.lengths, np.ceil(speech16.train.lengths / 2))
    assert speech8.train[0].dtype == np.float32


def test_each_call_returns_fresh_arrays():
    first, _ = load_sample()
    first.train[0][:] = 0.0
    first.train.meta.loc[0, "speaker"] = "changed"
    again, _ = load_sample()
    assert np.any(again.train[0] != 0.0)
    assert again.train.meta.loc[0, "speaker"] != "changed"


@pytest.mark.parametrize("sr", [0, -8000, 8000.5, "8k"])
def test_bad_sr_is_refused(sr):
    with pytest.raises(ParameterError, match="sr"):
        load_sample(sr=sr)


# -- the rebuild script's pure functions (the full rebuild needs apt; not run here) ----------
def test_pick_until_is_seeded_and_reaches_target(build):
    durations = np.arange(1, 21, dtype=float)
    picked, rest = build.pick_until(durations, 30.0, np.random.default_rng(0))
    again, _ = build.pick_until(durations, 30.0, np.random.default_rng(0))
    assert picked == again
    assert durations[picked].sum() >= 30.0
    assert durations[picked[:-1]].sum() < 30.0
    assert sorted(picked + rest) == list(range(20))
    everything, none = build.pick_until(durations, 1e9, np.random.default_rng(0))
    assert len(everything) == 20 and none == []


def test_piece_helpers(build):
    starts = build.piece_starts(100, 10, 3, 5)
    assert starts[0] == 5 and starts[-1] == 85 and starts == sorted(starts)
    assert build.piece_starts(8, 10, 2, 5) == [0, 0]
    pieces = build.split_pieces(np.arange(45), 20)
    assert [len(p) for p in pieces] == [15, 15, 15]
    assert np.array_equal(np.concatenate(pieces), np.arange(45))


def test_normalise_and_trim(build):
    rng = np.random.default_rng(1)
    y = rng.standard_normal(16000) * 0.01
    out = build.normalise(y, -20.0)
    assert out.dtype == np.float32
    assert 20 * np.log10(np.sqrt(np.mean(out.astype(float) ** 2))) == pytest.approx(-20, abs=0.01)
    spiky = np.zeros(16000)
    spiky[100] = 1.0
    assert np.abs(build.normalise(spiky, -10.0)).max() == pytest.approx(build.PEAK_LIMIT)
    t = np.arange(16000) / 16000
    tone = np.concatenate([np.zeros(16000), 0.5 * np.sin(2 * np.pi * 200 * t), np.zeros(16000)])
    trimmed = build.trim_silence(tone, margin_s=0.1)
    assert 1.15 <= len(trimmed) / 16000 <= 1.3


def test_speech_problem_flags_bad_utterances(build):
    rng = np.random.default_rng(2)
    t = np.arange(32000) / 16000
    speech_like = np.sin(2 * np.pi * 150 * t) * (np.sin(2 * np.pi * 1.5 * t) > 0)
    ok_int = (speech_like * 8000).astype(np.int16)
    assert build.speech_problem(ok_int, speech_like * 0.25) == ""
    assert "shorter" in build.speech_problem(ok_int[:8000], speech_like[:8000])
    clipped = np.clip(speech_like * 40000, -32768, 32767).astype(np.int16)
    assert build.speech_problem(clipped, speech_like) == "clipped"
    bed = speech_like * 0.25 + 0.05 * rng.standard_normal(len(t))
    assert "background" in build.speech_problem(ok_int, bed)


def test_make_babble_sums_talkers(build):
    rng = np.random.default_rng(3)
    streams = [[rng.standard_normal(8000) for _ in range(2)] for _ in range(4)]
    out = build.make_babble(streams, 12000, np.random.default_rng(0))
    assert out.shape == (12000,)
    again = build.make_babble(streams, 12000, np.random.default_rng(0))
    assert np.array_equal(out, again)


def test_sonic_pi_licences_parse(build, tmp_path):
    text = (
        "Files: *\nCopyright: 2016 Samuel Aaron\nLicense: MIT\n\n"
        "Files: etc/samples/ambi_x.flac\nCopyright: 2013 someone\n"
        "Source: http://freesound.org/x\nLicense: CC0\n"
    )
    path = tmp_path / "copyright"
    path.write_text(text)
    assert build.sonic_pi_licences(path) == {
        "ambi_x": ("2013 someone", "CC0", "http://freesound.org/x")
    }


def test_build_script_help(build, capsys):
    with pytest.raises(SystemExit) as exc:
        build.main(["--help"])
    assert exc.value.code == 0
    assert "--out" in capsys.readouterr().out
