"""Corpus loaders on small TIMIT, MUSAN and plain trees built here in the true layouts."""

import warnings

import numpy as np
import pytest
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.utils import _safe_indexing

from sksep import io
from sksep.datasets import (
    TIMIT_CORE_TEST_SPEAKERS,
    AudioCollection,
    load_folder,
    load_musan,
    load_timit,
)
from sksep.exceptions import AudioError, CorpusLayoutError, ParameterError, SampleRateError

SR = 16000

# speaker folders: (split, dialect, speaker); mdab0 and fdhc0 are core-test speakers
TIMIT_SPEAKERS = [
    ("TRAIN", "DR1", "FCJF0"),
    ("TRAIN", "DR1", "MDPK0"),
    ("TRAIN", "DR4", "FALR0"),
    ("TEST", "DR1", "MDAB0"),
    ("TEST", "DR1", "FAKS0"),
    ("TEST", "DR7", "FDHC0"),
]
SENTENCES = ["SA1", "SA2", "SI1027", "SX37"]


def _write_sphere(path, y, sr=SR):
    io.save(path, y, sr, format="NIST")


def build_timit(root, speech_like, lower=False):
    """A TIMIT tree: SPHERE .WAV files plus the .PHN/.TXT/.WRD files the corpus ships."""
    for n, (split, dr, spk) in enumerate(TIMIT_SPEAKERS):
        for k, sent in enumerate(SENTENCES):
            parts = [split, dr, spk]
            name = sent
            if lower:
                parts = [p.lower() for p in parts]
                name = name.lower()
            folder = root.joinpath(*parts)
            folder.mkdir(parents=True, exist_ok=True)
            y = speech_like(seconds=0.1 + 0.01 * k, seed=10 * n + k)
            _write_sphere(folder / f"{name}{'.wav' if lower else '.WAV'}", y)
            for ext in ("PHN", "TXT", "WRD"):
                (folder / f"{name}.{ext.lower() if lower else ext}").write_text("0 100 h#\n")
    return root


@pytest.fixture
def timit_root(tmp_path, speech_like):
    return build_timit(tmp_path / "timit_copy", speech_like)


def test_core_test_speakers_constant():
    assert len(TIMIT_CORE_TEST_SPEAKERS) == len(set(TIMIT_CORE_TEST_SPEAKERS)) == 24
    sexes = [s[0] for s in TIMIT_CORE_TEST_SPEAKERS]
    assert sexes.count("m") == 16 and sexes.count("f") == 8


def test_timit_train_meta(timit_root):
    c = load_timit(timit_root)
    assert isinstance(c, AudioCollection) and c.sr == SR
    assert len(c) == 3 * 2  # SA excluded by default
    assert set(c.column("sentence_type")) == {"SI", "SX"}
    row = c.meta.set_index("id").loc["fcjf0_si1027"]
    assert row["speaker"] == "fcjf0"
    assert row["sex"] == "F"
    assert row["dialect"] == "DR1"
    assert row["sentence_id"] == "si1027"
    assert row["subset"] == "train"
    assert row["path"].endswith("FCJF0/SI1027.WAV")
    assert c.meta.set_index("id").loc["mdpk0_sx37", "sex"] == "M"
    assert all(y.dtype == np.float32 and y.ndim == 1 for y in c)
    # audio is what was written (16-bit SPHERE)
    assert np.all(c.lengths == [int(SR * (0.1 + 0.01 * k)) for k in (2, 3)] * 3)


def test_timit_splits_do_not_share_speakers(timit_root):
    train = load_timit(timit_root, "train", exclude_sa=False)
    test = load_timit(timit_root, "test", exclude_sa=False)
    core = load_timit(timit_root, "core-test")
    assert len(train) == 12 and len(test) == 12
    assert not set(train.column("speaker")) & set(test.column("speaker"))
    assert set(core.column("speaker")) == {"mdab0", "fdhc0"}
    assert set(core.column("speaker")) <= set(TIMIT_CORE_TEST_SPEAKERS)
    assert set(core.column("sentence_type")) == {"SI", "SX"}
    assert "SA" in set(train.column("sentence_type"))


def test_timit_lower_case_tree_and_parent_folder(tmp_path, speech_like):
    build_timit(tmp_path / "TIMIT", speech_like, lower=True)
    c = load_timit(tmp_path, "test")  # root holds TIMIT/test/...
    assert len(c) == 6
    assert set(c.column("dialect")) == {"DR1", "DR7"}
    assert set(c.column("sex")) == {"F", "M"}


def test_timit_filters_and_resampling(timit_root):
    c = load_timit(timit_root, speakers=["FCJF0"], sr=8000)
    assert set(c.column("speaker")) == {"fcjf0"} and c.sr == 8000
    assert c.lengths[0] == int(SR * 0.12) // 2
    assert set(load_timit(timit_root, dialects=[4]).column("speaker")) == {"falr0"}
    assert set(load_timit(timit_root, dialects="DR1").column("dialect")) == {"DR1"}
    assert len(load_timit(timit_root, max_files=2)) == 2
    with pytest.raises(ParameterError, match="no TIMIT"):
        load_timit(timit_root, "core-test", speakers=["fcjf0"])
    with pytest.raises(ParameterError, match="dialects"):
        load_timit(timit_root, dialects=["DR9"])
    with pytest.raises(ParameterError, match="subset"):
        load_timit(timit_root, "dev")


def test_timit_bad_layouts(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"TRAIN\|TEST/DR1\.\.DR8"):
        load_timit(tmp_path / "missing")
    (tmp_path / "wrong" / "wavs").mkdir(parents=True)
    with pytest.raises(CorpusLayoutError, match=r"no TRAIN folder.*TRAIN\|TEST/DR1"):
        load_timit(tmp_path / "wrong")
    (tmp_path / "empty" / "TRAIN" / "DR1").mkdir(parents=True)
    with pytest.raises(CorpusLayoutError, match="no TIMIT utterance files"):
        load_timit(tmp_path / "empty")


def test_timit_corrupt_file_raises_or_is_skipped_with_a_warning(timit_root):
    bad = timit_root / "TRAIN" / "DR4" / "FALR0" / "SX37.WAV"
    bad.write_bytes(b"NIST_1A\n   1024\nthis header is cut short")
    with pytest.raises(AudioError, match=r"FALR0/SX37\.WAV"):
        load_timit(timit_root)
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable TIMIT file\(s\) of 6"):
        c = load_timit(timit_root, on_error="skip")
    assert len(c) == 5 and "falr0_sx37" not in set(c.column("id"))
    with pytest.raises(ParameterError, match="on_error"):
        load_timit(timit_root, on_error="ignore")


def build_musan(root, speech_like, white_noise, sr=SR):
    files = {
        ("noise", "free-sound"): ["noise-free-sound-0000", "noise-free-sound-0001"],
        ("noise", "sound-bible"): ["noise-sound-bible-0000"],
        ("music", "fma"): ["music-fma-0000"],
        ("speech", "librivox"): ["speech-librivox-0000"],
    }
    for i, ((subset, source), names) in enumerate(files.items()):
        folder = root / "musan" / subset / source
        folder.mkdir(parents=True)
        (folder / "ANNOTATIONS").write_text("name\n")
        (folder / "LICENSE").write_text("CC\n")
        for j, name in enumerate(names):
            y = speech_like(0.2, sr, seed=i) if subset == "speech" else white_noise(
                int(0.3 * sr), seed=10 * i + j
            )
            io.save(folder / f"{name}.wav", y, sr)
    return root


@pytest.fixture
def musan_root(tmp_path, speech_like, white_noise):
    return build_musan(tmp_path / "corpora", speech_like, white_noise)


def test_musan_subsets_sources_and_meta(musan_root):
    noise = load_musan(musan_root)
    assert len(noise) == 3 and noise.sr == SR
    assert set(noise.column("source")) == {"free-sound", "sound-bible"}
    assert set(noise.column("kind")) == {"noise"}
    assert noise.meta["id"].tolist()[0] == "noise-free-sound-0000"
    both = load_musan(musan_root / "musan", subsets=["music", "speech"])
    assert set(both.column("subset")) == {"music", "speech"}
    assert both.column("kind").tolist() == both.column("subset").tolist()
    bible = load_musan(musan_root, sources="sound-bible", sr=8000)
    assert bible.column("id").tolist() == ["noise-sound-bible-0000"] and bible.sr == 8000
    assert bible.lengths.tolist() == [int(0.3 * 8000)]
    short = load_musan(musan_root, duration=0.1, max_files=2)
    assert short.lengths.tolist() == [1600, 1600]


def test_musan_bad_layouts_and_arguments(tmp_path, musan_root):
    with pytest.raises(FileNotFoundError, match=r"noise,music,speech"):
        load_musan(tmp_path / "none")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.wav").write_bytes(b"")
    with pytest.raises(CorpusLayoutError, match="no MUSAN subset folder"):
        load_musan(tmp_path / "flat")
    (musan_root / "musan" / "music" / "fma" / "music-fma-0000.wav").unlink()
    with pytest.raises(CorpusLayoutError, match="no .wav files in MUSAN subset"):
        load_musan(musan_root, subsets="music")
    with pytest.raises(ParameterError, match="subsets"):
        load_musan(musan_root, subsets=("babble",))
    with pytest.raises(ParameterError, match="match no MUSAN source"):
        load_musan(musan_root, sources=["jamendo"])


def test_musan_unknown_source_among_known_ones_is_refused(musan_root):
    """It used to be ignored whenever another name matched."""
    with pytest.raises(ParameterError, match=r"\['typo'\] match no MUSAN source.*available: "
                       r"\['free-sound', 'sound-bible'\]"):
        load_musan(musan_root, sources=["free-sound", "typo"])
    with pytest.raises(ParameterError, match=r"\['fma'\].*available: \['free-sound', 'sound"):
        load_musan(musan_root, sources=["free-sound", "fma"])  # fma is music, not noise
    both = load_musan(musan_root, subsets=["noise", "music"], sources=["free-sound", "fma"])
    assert both.column("source").tolist() == ["free-sound", "free-sound", "fma"]
    with pytest.raises(ParameterError, match="sources must be"):
        load_musan(musan_root, sources=[1])


def test_musan_subset_named_twice_is_read_once(musan_root):
    once = load_musan(musan_root)
    twice = load_musan(musan_root, subsets=("noise", "noise"))
    assert len(twice) == len(once) == 3
    assert twice.column("id").tolist() == once.column("id").tolist()
    assert twice.column("id").tolist() == sorted(set(twice.column("id")))
    mixed = load_musan(musan_root, subsets=["speech", "noise", "speech"])
    assert mixed.column("subset").tolist() == ["speech", "noise", "noise", "noise"]


def test_sample_rate_mismatch_needs_sr(musan_root, white_noise):
    io.save(
        musan_root / "musan" / "noise" / "sound-bible" / "noise-sound-bible-0001.wav",
        white_noise(4410),
        44100,
    )
    with pytest.raises(SampleRateError, match="44100 Hz.*pass sr="):
        load_musan(musan_root)
    c = load_musan(musan_root, sr=SR)
    assert c.sr == SR and sorted(c.lengths.tolist()) == [1600, 4800, 4800, 4800]


def test_load_folder(tmp_path, speech_like):
    for spk in ("ann", "bob"):
        for k in range(2):
            io.save(tmp_path / "c" / spk / f"u{k}.wav", speech_like(0.1, seed=k), SR)
    io.save(tmp_path / "c" / "bob" / "LOUD.WAV", speech_like(0.1), SR)
    io.save(tmp_path / "c" / "bob" / "x.flac", speech_like(0.1), SR)
    (tmp_path / "c" / "notes.txt").write_text("not audio")

    c = load_folder(tmp_path / "c", speaker="parent")
    assert c.column("id").tolist() == ["ann/u0", "ann/u1", "bob/LOUD", "bob/u0", "bob/u1"]
    assert c.column("speaker").tolist() == ["ann", "ann", "bob", "bob", "bob"]
    assert c.column("folder").tolist()[0] == "ann"
    assert len(load_folder(tmp_path / "c", case_sensitive=True)) == 4
    assert load_folder(tmp_path / "c", "**/*.flac").column("id").tolist() == ["bob/x"]
    assert len(load_folder(tmp_path / "c", max_files=1, sr=8000)) == 1
    named = load_folder(tmp_path / "c", speaker=lambda p: p.stem[0])
    assert set(named.column("speaker")) == {"u", "L"}
    with pytest.raises(CorpusLayoutError, match=r"no files match '\*\*/\*\.mp3'"):
        load_folder(tmp_path / "c", "**/*.mp3")
    with pytest.raises(CorpusLayoutError, match="does not exist"):
        load_folder(tmp_path / "nothing")
    with pytest.raises(ParameterError, match="speaker"):
        load_folder(tmp_path / "c", speaker="grandparent")


def test_load_folder_follows_symlinked_folders_without_looping(tmp_path, speech_like):
    """Path.glob('**') of Python 3.11 skipped symlinked folders (load_timit follows them)."""
    elsewhere = tmp_path / "disk2" / "carl"
    io.save(elsewhere / "u0.wav", speech_like(0.1, seed=3), SR)
    io.save(elsewhere / "deep" / "u1.wav", speech_like(0.1, seed=4), SR)
    root = tmp_path / "c"
    io.save(root / "ann" / "u0.wav", speech_like(0.1, seed=1), SR)
    io.save(root / "zed" / "u0.wav", speech_like(0.1, seed=2), SR)
    (root / "carl").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "back").symlink_to(root, target_is_directory=True)  # a cycle through carl
    (root / "ann" / "self").symlink_to(root / "ann", target_is_directory=True)  # a self-loop
    c = load_folder(root, speaker="parent")
    # carl/back and ann/self lead back to their own parents: not entered again
    assert c.column("id").tolist() == ["ann/u0", "carl/deep/u1", "carl/u0", "zed/u0"]
    assert c.column("speaker").tolist() == ["ann", "deep", "carl", "zed"]
    assert c.column("path").tolist()[2] == str((elsewhere / "u0.wav").resolve())
    np.testing.assert_array_equal(c[2], io.load(elsewhere / "u0.wav")[0])
    assert load_folder(root, "carl/*.wav").column("id").tolist() == ["carl/u0"]
    assert load_folder(root, "*/u0.wav").column("id").tolist() == ["ann/u0", "carl/u0", "zed/u0"]
    again = load_folder(root, speaker="parent")
    assert again.column("id").tolist() == c.column("id").tolist()  # deterministic
    with pytest.raises(ParameterError, match="pattern must stay inside root"):
        load_folder(root, "../disk2/**/*.wav")


def test_load_folder_refuses_two_files_with_one_id(tmp_path, speech_like):
    """bob/u1.wav and bob/u1.flac both used to come out as id 'bob/u1'."""
    io.save(tmp_path / "bob" / "u1.wav", speech_like(0.1, seed=1), SR)
    io.save(tmp_path / "bob" / "u1.flac", speech_like(0.1, seed=2), SR)
    io.save(tmp_path / "bob" / "u2.wav", speech_like(0.1, seed=3), SR)
    with pytest.raises(CorpusLayoutError, match=r"u1\.flac.*and.*u1\.wav.*the id 'bob/u1'"):
        load_folder(tmp_path, "**/*")
    assert load_folder(tmp_path).column("id").tolist() == ["bob/u1", "bob/u2"]
    (tmp_path / "bob" / "u1.flac").unlink()
    # a transcript next to its recording (as in TIMIT) is skipped, so no clash remains
    (tmp_path / "bob" / "u1.txt").write_text("she had your dark suit\n")
    with pytest.warns(UserWarning, match=r"skipped 1 .*u1\.txt"):
        c = load_folder(tmp_path, "**/*", on_error="skip")
    assert c.column("id").tolist() == ["bob/u1", "bob/u2"]


def test_load_folder_multichannel_and_bad_files(tmp_path, speech_like):
    stereo = np.stack([speech_like(0.1, seed=1), speech_like(0.1, seed=2)])
    io.save(tmp_path / "s.wav", stereo, SR, subtype="FLOAT")
    c = load_folder(tmp_path)
    np.testing.assert_allclose(c[0], stereo.mean(axis=0), atol=1e-7)
    with pytest.raises(AudioError, match=r"s\.wav.*2 channels"):
        load_folder(tmp_path, mono="refuse")
    for i in range(7):
        (tmp_path / f"broken{i}.wav").write_bytes(b"broken")
    with pytest.raises(AudioError, match=r"broken0\.wav"):
        load_folder(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = load_folder(tmp_path, on_error="skip")
    assert len(c) == 1
    (message,) = [str(w.message) for w in caught]
    assert "skipped 7 unreadable audio file(s) of 8" in message and "and 2 more" in message
    (tmp_path / "s.wav").unlink()
    with pytest.warns(UserWarning, match="skipped 7"), pytest.raises(AudioError, match="all 7"):
        load_folder(tmp_path, on_error="skip")


def test_collection_is_a_clean_sklearn_X(timit_root):
    c = load_timit(timit_root, "test", exclude_sa=False)
    # indexes and splits: slices, masks and index arrays keep the meta rows aligned
    sub = c[c.column("sex") == "F"]
    assert set(sub.column("speaker")) == {"faks0", "fdhc0"}
    assert all(np.array_equal(a, c[i]) for a, i in zip(sub, np.flatnonzero(c.column("sex") == "F"),
                                                         strict=True))
    assert c[2:4].column("id").tolist() == c.column("id")[2:4].tolist()
    assert c.where(speaker="mdab0", sentence_type=["SI", "SX"]).column("sentence_id").tolist() == [
        "si1027", "sx37"]
    # scikit-learn indexes it into plain lists of waveforms
    part = _safe_indexing(c, [0, 3])
    assert isinstance(part, list) and np.array_equal(part[1], c[3])
    # grouped CV never puts a speaker on both sides
    groups = c.column("speaker")
    for train, test in GroupKFold(3).split(c, groups=groups):
        assert not set(groups[train]) & set(groups[test])


def test_collection_through_cross_val_score(timit_root):
    from sklearn.base import BaseEstimator, RegressorMixin

    class MeanLevel(RegressorMixin, BaseEstimator):
        """Predicts each utterance's RMS from the training mean: enough to run sklearn's CV."""

        def fit(self, X, y):
            self.mean_ = float(np.mean(y))
            return self

        def predict(self, X):
            return np.full(len(X), self.mean_)

    c = load_timit(timit_root, "train")
    rms = np.array([np.sqrt(np.mean(y**2)) for y in c])
    scores = cross_val_score(MeanLevel(), c, rms, groups=c.column("speaker"), cv=GroupKFold(3))
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


def test_collection_split_keeps_groups_whole(timit_root):
    c = load_timit(timit_root, "train", exclude_sa=False)
    train, test = c.split(test_size=1, by="speaker", random_state=0)
    assert len(train) + len(test) == len(c)
    assert len(set(test.column("speaker"))) == 1
    assert not set(train.column("speaker")) & set(test.column("speaker"))
    # items keep their order and meta rows
    kept = set(train.column("id"))
    assert train.column("id").tolist() == [i for i in c.column("id") if i in kept]
    assert np.array_equal(test[0], c[c.column("id").tolist().index(test.column("id")[0])])
    again = c.split(test_size=1, by="speaker", random_state=0)[1]
    assert again.column("id").tolist() == test.column("id").tolist()
    a, b = c.split(test_size=0.25, random_state=1)
    assert (len(a), len(b)) == (9, 3)
    with pytest.raises(ParameterError, match="test_size"):
        c.split(test_size=0)
    with pytest.raises(KeyError, match="no metadata column 'gender'"):
        c.split(by="gender")
