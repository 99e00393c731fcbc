"""make_mixtures, Mixtures, read_mixtures: exact SNR and additivity, no clipping, determinism."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import GroupKFold

from sksep.datasets import (
    AudioCollection,
    Mixture,
    Mixtures,
    make_mixtures,
    read_mixtures,
)
from sksep.exceptions import AudioError, CorpusLayoutError, ParameterError, SampleRateError

SR = 8000


def snr_of(clean, noise):
    c, n = clean.astype(np.float64), noise.astype(np.float64)
    return 10 * np.log10(np.dot(c, c) / np.dot(n, n))


@pytest.fixture
def speech(speech_like):
    waves = [speech_like(0.25 + 0.05 * i, SR, seed=i, f0=100 + 40 * i) for i in range(4)]
    return AudioCollection(
        waves, SR, meta={"id": ["u0", "u1", "u2", "u3"], "speaker": ["a", "a", "b", "c"]}
    )


@pytest.fixture
def noise(white_noise, speech_like):
    waves = [
        white_noise(SR // 10, seed=1),  # shorter than every utterance: looped
        white_noise(SR, seed=2, level=0.3),  # longer: cut
        speech_like(0.6, SR, seed=9, f0=210),  # babble-ish
    ]
    return AudioCollection(
        waves, SR, meta={"id": ["n0", "n1", "n2"], "kind": ["hiss", "hiss", "babble"]}
    )


def test_snr_exact_additive_and_float32(speech, noise):
    m = make_mixtures(speech, noise, [-5, 0, 5, 12.5], snr_mode="all", random_state=0)
    assert len(m) == 16
    for i, (noisy, clean, added) in enumerate(m):
        assert noisy.dtype == clean.dtype == added.dtype == np.float32
        assert abs(snr_of(clean, added) - m.snr_db[i]) < 0.01
        np.testing.assert_array_equal(noisy, clean + added)
        assert len(noisy) == len(speech[speech.column("id").tolist().index(
            m.meta["utterance_id"][i])])


@settings(max_examples=25, deadline=None)
@given(
    snr=st.floats(-30, 40),
    level=st.floats(1e-3, 0.95),
    noise_level=st.floats(1e-4, 3.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_snr_and_peak_properties(snr, level, noise_level, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 900))
    y = np.sin(np.arange(n) * 0.3) * level
    v = rng.standard_normal(int(rng.integers(20, 1200))) * noise_level
    m = make_mixtures([y], [v], snr, sr=SR, random_state=seed)
    noisy, clean, added = m[0]
    assert abs(snr_of(clean, added) - snr) < 0.01
    np.testing.assert_array_equal(noisy, clean + added)
    assert np.max(np.abs(noisy)) <= 0.99
    # one common gain: clean is the input scaled by the recorded gain
    np.testing.assert_allclose(clean, y * m.meta["gain"][0], rtol=1e-5, atol=1e-7)


def test_common_gain_prevents_clipping_and_keeps_snr(speech, noise):
    loud = AudioCollection([y / np.abs(y).max() * 0.95 for y in speech], SR, speech.meta)
    m = make_mixtures(loud, noise, -10, random_state=3)
    gains = m.meta["gain"].to_numpy()
    assert np.all(gains < 1)
    for i, (noisy, clean, added) in enumerate(m):
        assert np.max(np.abs(noisy)) <= 0.99
        assert abs(snr_of(clean, added) - (-10)) < 0.01
        np.testing.assert_allclose(clean, loud[i] * gains[i], rtol=1e-6, atol=1e-7)
    # quiet mixtures are left at their level
    quiet = make_mixtures(speech, noise, 20, random_state=3)
    assert np.all(quiet.meta["gain"] == 1.0)
    np.testing.assert_array_equal(quiet.clean[0], speech[0])
    # peak=None turns the gain off (and then the mixture may exceed 1)
    raw = make_mixtures(loud, noise, -10, peak=None, random_state=3)
    assert np.all(raw.meta["gain"] == 1.0) and max(np.abs(y).max() for y in raw.noisy) > 1


def test_noise_is_cut_or_looped_from_the_recorded_offset(speech, noise):
    m = make_mixtures(speech, noise, 0, n_mixtures=40, random_state=7)
    for i in range(len(m)):
        row = m.meta.iloc[i]
        source = noise[int(row["noise_id"][1])].astype(np.float64)
        n = len(m.clean[i])
        expected = np.take(source, row["offset"] + np.arange(n), mode="wrap")
        if len(source) >= n:
            assert row["offset"] + n <= len(source)  # cut, never wrapped
        else:
            assert row["offset"] < len(source)  # looped from a random start
        np.testing.assert_allclose(
            m.noise[i], expected * row["noise_scale"] * row["gain"], rtol=1e-5, atol=1e-7
        )
    # offsets vary, every noise gets used, utterances are cycled
    assert m.meta["offset"].nunique() > 20
    assert set(m.meta["noise_id"]) == {"n0", "n1", "n2"}
    assert m.meta["utterance_id"].tolist()[:8] == ["u0", "u1", "u2", "u3"] * 2


def test_reproducible_by_random_state(speech, noise):
    a = make_mixtures(speech, noise, [-5, 0, 5], n_mixtures=12, random_state=42)
    b = make_mixtures(speech, noise, [-5, 0, 5], n_mixtures=12, random_state=42)
    c = make_mixtures(speech, noise, [-5, 0, 5], n_mixtures=12, random_state=43)
    assert a.meta.equals(b.meta)
    assert all(np.array_equal(x, y) for x, y in zip(a.noisy, b.noisy, strict=True))
    assert not a.meta[["offset", "noise_id", "snr_db"]].equals(c.meta[["offset", "noise_id",
                                                                        "snr_db"]])
    rs = np.random.RandomState(5)
    d = make_mixtures(speech, noise, 0, random_state=rs)
    e = make_mixtures(speech, noise, 0, random_state=np.random.RandomState(5))
    assert d.meta.equals(e.meta)


def test_snr_modes(speech, noise):
    drawn = make_mixtures(speech, noise, [-2, 0], n_mixtures=200, random_state=0)
    counts = drawn.meta["snr_db"].value_counts()
    assert set(counts.index) == {-2.0, 0.0} and counts.min() > 70
    every = make_mixtures(speech, noise, [-2, 0], snr_mode="all", random_state=0)
    pairs = set(zip(every.meta["utterance_id"], every.snr_db, strict=True))
    assert len(every) == 8 and len(pairs) == 8
    with pytest.raises(ParameterError, match="n_mixtures"):
        make_mixtures(speech, noise, [-2, 0], snr_mode="all", n_mixtures=3)
    with pytest.raises(ParameterError, match="snr_mode"):
        make_mixtures(speech, noise, 0, snr_mode="grid")


def test_meta_and_mixtures_indexing(speech, noise):
    m = make_mixtures(speech, noise, [0, 5], random_state=0)
    assert list(m.meta.columns) == [
        "id", "speaker", "utterance_id", "noise_id", "noise_kind", "snr_db", "offset",
        "noise_scale", "gain",
    ]
    assert m.speaker.tolist() == ["a", "a", "b", "c"]
    assert set(m.noise_kind) <= {"hiss", "babble"}
    assert m.meta["id"].is_unique
    assert m.noisy.meta is m.clean.meta is m.noise.meta is m.meta
    assert m.sr == SR and m.noisy.sr == SR

    item = m[1]
    assert isinstance(item, Mixture)
    np.testing.assert_array_equal(item.clean, m.clean[1])
    sub = m[m.speaker == "a"]
    assert isinstance(sub, Mixtures) and len(sub) == 2
    np.testing.assert_array_equal(sub.noisy[1], m.noisy[1])
    assert sub.noisy.meta is sub.meta
    assert m[[3, 0]].meta["utterance_id"].tolist() == ["u3", "u0"]
    assert len(m[1:]) == 3
    assert len(m.where(speaker=["b", "c"])) == 2
    assert "Mixtures(n=4" in repr(m)

    # the collections are what scikit-learn sees; grouping by speaker keeps speakers apart
    groups = m.speaker
    for train, test in GroupKFold(2).split(m.noisy, m.clean, groups=groups):
        assert not set(groups[train]) & set(groups[test])


def test_speaker_falls_back_to_utterance_and_kind_to_noise_id(speech_like, white_noise):
    m = make_mixtures(
        [speech_like(0.2, SR, seed=1)], [white_noise(SR)], 0, sr=SR, random_state=0
    )
    assert m.speaker.tolist() == ["0"] and m.noise_kind.tolist() == ["0"]


def test_bad_inputs(speech, noise, speech_like, white_noise):
    y = speech_like(0.2, SR)
    v = white_noise(SR)
    with pytest.raises(ValueError, match=r"speech\[1\].*silent"):
        make_mixtures([y, np.zeros(800)], [v], 0, sr=SR)
    with pytest.raises(AudioError, match=r"noise\[0\].*silent"):
        make_mixtures([y], [np.zeros(800)], 0, sr=SR)
    bad = y.copy()
    bad[10] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        make_mixtures([bad], [v], 0, sr=SR)
    bad_noise = v.copy()
    bad_noise[0] = np.inf
    with pytest.raises(AudioError, match="infinite"):
        make_mixtures([y], [bad_noise], 0, sr=SR)
    for snr in (np.nan, np.inf, [0, -np.inf], []):
        with pytest.raises(ValueError, match="snr_db"):
            make_mixtures([y], [v], snr, sr=SR)
    with pytest.raises(ParameterError, match="peak"):
        make_mixtures([y], [v], 0, sr=SR, peak=1.5)
    with pytest.raises(ParameterError, match="n_mixtures"):
        make_mixtures([y], [v], 0, sr=SR, n_mixtures=0)
    with pytest.raises(AudioError, match="single waveform"):
        make_mixtures(y, [v], 0, sr=SR)
    # a long noise whose only sound is its first sample: (almost) every stretch is silent
    gappy = np.zeros(4 * len(y), dtype=np.float32)
    gappy[0] = 0.5
    with pytest.raises(AudioError, match="silent stretches"):
        make_mixtures([y], [gappy], 0, sr=SR, random_state=0)


def test_numerically_silent_speech_is_refused_not_mixed_at_a_wrong_snr(white_noise):
    """Denormal speech (1e-45) used to give a realised SNR 0.2-0.3 dB off the one asked for."""
    v = white_noise(900)
    y = np.sin(np.arange(800) * 0.3)
    with pytest.raises(AudioError, match=r"speech\[1\] \(id '1'\) mixed with noise\[0\] "
                       r"\(id '0'\) at 0 dB gives a realised SNR of -0\.\d+ dB once stored as "
                       r"float32.*numerically silent"):
        make_mixtures([0.1 * y, np.full(800, 1e-45)], [v], 0, sr=SR, random_state=0)
    # speech that is fine, but noise scaled down to denormal levels by a huge SNR
    with pytest.raises(AudioError, match=r"speech\[0\].*at 300 dB gives a realised SNR of 29"
                       r".*scaled noise \(RMS [0-9.]+e-4[5-6]\) is numerically silent"):
        make_mixtures([1e-30 * y], [v], 300, sr=SR, random_state=0)
    # tiny but normal float32 levels keep their SNR and are mixed
    for level, snr in ((1e-30, 0.0), (1e-36, -10.0), (1.0, 300.0)):
        m = make_mixtures([level * y], [v], snr, sr=SR, random_state=0)
        assert abs(snr_of(m.clean[0], m.noise[0]) - snr) < 0.01
    # denormal noise is scaled up exactly (its samples are exact float32 numbers)
    m = make_mixtures([0.1 * y], [np.full(900, 1e-45)], 0, sr=SR, random_state=0)
    assert abs(snr_of(m.clean[0], m.noise[0])) < 0.01


def test_sample_rate_mismatch(speech, noise):
    noise16 = noise.resample(16000)
    with pytest.raises(SampleRateError, match="8000 Hz but noise at 16000"):
        make_mixtures(speech, noise16, 0)
    m = make_mixtures(speech, noise16, 0, sr=SR, random_state=0)
    assert m.sr == SR
    m16 = make_mixtures(speech, noise16, 0, sr=16000, random_state=0)
    assert m16.sr == 16000 and len(m16.clean[0]) == 2 * len(speech[0])
    with pytest.raises(SampleRateError, match="pass sr="):
        make_mixtures([speech[0]], noise, 0)


def test_round_trip_to_folder_bit_exact(tmp_path, speech, noise):
    m = make_mixtures(speech, noise, [-5, 0], random_state=0)
    manifest = m.to_folder(tmp_path / "corpus")
    assert manifest.name == "mixtures.csv"
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == [
        "clean", "mixtures.csv", "noise", "noisy"]
    back = read_mixtures(tmp_path / "corpus")
    assert back.meta.equals(m.meta)
    assert back.sr == SR
    for part in ("noisy", "clean", "noise"):
        for a, b in zip(getattr(m, part), getattr(back, part), strict=True):
            np.testing.assert_array_equal(a, b)
    for noisy, clean, added in back:
        np.testing.assert_array_equal(noisy, clean + added)
    with pytest.raises(FileExistsError, match="overwrite"):
        m.to_folder(tmp_path / "corpus")
    m[:2].to_folder(tmp_path / "corpus", overwrite=True)
    assert len(read_mixtures(tmp_path / "corpus")) == 2
    assert read_mixtures(tmp_path / "corpus", sr=16000).sr == 16000


def test_round_trip_pcm16_within_quantisation(tmp_path, speech, noise):
    m = make_mixtures(speech, noise, 0, random_state=0)
    m.to_folder(tmp_path / "pcm", subtype="PCM_16")
    back = read_mixtures(tmp_path / "pcm")
    for a, b in zip(m.noisy, back.noisy, strict=True):
        assert np.max(np.abs(a - b)) <= 1 / 32768 + 1e-7
    noisy, clean, added = back[0]
    assert np.max(np.abs(noisy - (clean + added))) <= 3 / 32768


def test_read_mixtures_bad_layouts(tmp_path, speech, noise):
    with pytest.raises(CorpusLayoutError, match="mixtures.csv"):
        read_mixtures(tmp_path)
    m = make_mixtures(speech, noise, 0, random_state=0)
    m.to_folder(tmp_path / "c")
    (tmp_path / "c" / "clean" / "mix1.wav").unlink()
    with pytest.raises(FileNotFoundError, match=r"clean/mix1\.wav"):
        read_mixtures(tmp_path / "c")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "mixtures.csv").write_text("id,snr_db\nx,0\n")
    with pytest.raises(CorpusLayoutError, match="lacks columns"):
        read_mixtures(tmp_path / "d")


def test_mixtures_constructor_checks(speech):
    half = speech[:2]
    with pytest.raises(ParameterError, match="differ in length"):
        Mixtures(speech, speech, half)
    with pytest.raises(SampleRateError):
        Mixtures(speech, speech, speech.resample(16000))
    with pytest.raises(ParameterError, match="AudioCollection"):
        Mixtures(list(speech), speech, speech)
    shifted = AudioCollection([y[1:] for y in speech], SR)
    with pytest.raises(AudioError, match="samples"):
        Mixtures(speech, speech, shifted)


def test_mixtures_split_by_speaker(speech, noise):
    m = make_mixtures(speech, noise, [0, 5], snr_mode="all", random_state=0)
    train, test = m.split(test_size=1, random_state=0)
    assert isinstance(train, Mixtures) and len(train) + len(test) == len(m)
    assert not set(train.speaker) & set(test.speaker)
    for noisy, clean, added in test:
        np.testing.assert_array_equal(noisy, clean + added)
    free_train, free_test = m.split(test_size=2, by=None, random_state=0)
    assert (len(free_train), len(free_test)) == (6, 2)
