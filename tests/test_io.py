"""sksep.io: reading, writing, resampling real files on disk."""

import os

import librosa
import numpy as np
import pytest
import soundfile as sf

from sksep import io
from sksep.exceptions import AudioError, ParameterError

SR = 16000


def _tone(freq=440.0, seconds=0.25, sr=SR, level=0.3):
    t = np.arange(int(seconds * sr)) / sr
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize(
    ("name", "kwargs", "atol"),
    [
        ("a.wav", {}, 1 / 32768),
        ("a.wav", {"subtype": "FLOAT"}, 0.0),
        ("a.flac", {}, 1 / 32768),
        ("a.flac", {"subtype": "PCM_24"}, 1 / 2**23),
        ("a.sph", {}, 1 / 32768),
        ("a.wav", {"format": "NIST"}, 1 / 32768),
        ("a.ogg", {}, 0.02),
    ],
)
def test_round_trip_formats(tmp_path, name, kwargs, atol):
    y = _tone()
    path = tmp_path / name
    io.save(path, y, SR, **kwargs)
    back, sr = io.load(path)
    assert sr == SR
    assert back.dtype == np.float32
    assert back.shape == y.shape
    if atol == 0.0:
        np.testing.assert_array_equal(back, y)
    else:
        assert np.max(np.abs(back - y)) <= atol + 1e-7


def test_nist_sphere_written_by_libsndfile_has_sphere_header(tmp_path):
    path = tmp_path / "x.wav"
    io.save(path, _tone(), SR, format="NIST")
    assert path.read_bytes()[:8] == b"NIST_1A\n"
    assert io.info(path).format == "NIST"


def test_reads_timit_style_sphere_header(tmp_path):
    # a header in the style of the TIMIT distribution, written by hand
    pcm = (np.round(_tone() * 32767)).astype("<i2")
    fields = [
        "database_id -s5 TIMIT",
        "database_version -s3 1.0",
        "utterance_id -s8 aks0_sa1",
        "channel_count -i 1",
        f"sample_count -i {pcm.size}",
        "sample_rate -i 16000",
        f"sample_min -i {pcm.min()}",
        f"sample_max -i {pcm.max()}",
        "sample_n_bytes -i 2",
        "sample_byte_format -s2 01",
        "sample_sig_bits -i 16",
        "end_head",
    ]
    header = ("NIST_1A\n   1024\n" + "\n".join(fields) + "\n").encode("ascii")
    header = header.ljust(1024, b" ")
    path = tmp_path / "SA1.WAV"
    path.write_bytes(header + pcm.tobytes())
    y, sr = io.load(path)
    assert sr == 16000
    np.testing.assert_allclose(y, pcm / 32768.0, atol=1e-7)


def test_always_float32_even_from_int_and_float64_input(tmp_path):
    y64 = _tone().astype(np.float64)
    io.save(tmp_path / "f.wav", y64, SR, subtype="FLOAT")
    io.save(tmp_path / "i.wav", (y64 * 32767).astype(np.int16) / 32767, SR)
    for name in ("f.wav", "i.wav"):
        y, _ = io.load(tmp_path / name)
        assert y.dtype == np.float32
    assert io.resample(y64, SR, 8000).dtype == np.float32


def test_resample_matches_librosa_soxr_hq():
    y = _tone(seconds=0.5)
    ours = io.resample(y, SR, 8000)
    ref = librosa.resample(y, orig_sr=SR, target_sr=8000, res_type="soxr_hq")
    assert ours.shape == ref.shape == (4000,)
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    # the tone is still at 440 Hz
    spec = np.abs(np.fft.rfft(ours))
    assert abs(np.argmax(spec) * 8000 / len(ours) - 440) < 4


@pytest.mark.parametrize(("orig", "target"), [
    (44100, 16000), (16000, 44100), (44100, 8000), (22050, 16000), (48000, 44100), (16000, 8000),
])
@pytest.mark.parametrize("n", [3, 7, 100, 16001, 16003])
def test_resample_length_is_ceil_as_librosa(orig, target, n):
    """soxr alone rounds to nearest (16001 at 44100->16000 gives 5805, not 5806)."""
    y = np.random.default_rng(n).uniform(-0.5, 0.5, n).astype(np.float32)
    ours = io.resample(y, orig, target)
    assert ours.shape == (-(-n * target // orig),)
    ref = librosa.resample(y, orig_sr=orig, target_sr=target, res_type="soxr_hq")
    assert ref.shape == ours.shape
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    both = io.resample(np.stack([y, -y]), orig, target)
    assert both.shape == (2, ours.size)
    np.testing.assert_allclose(both[1], -ours, atol=1e-6)


def test_resample_refuses_input_too_short_to_leave_a_sample(tmp_path):
    """One or two samples at 44100 -> 8000 Hz used to come back as an empty array."""
    for n in (1, 2):
        with pytest.raises(AudioError,
                           match=rf"only {n} sample\(s\).*44100 Hz to 8000 Hz.*no sample"):
            io.resample(np.full(n, 0.1), 44100, 8000)
    assert io.resample(np.full(3, 0.1), 44100, 8000).shape == (1,)
    io.save(tmp_path / "blip.wav", np.full(2, 0.1), 44100)
    with pytest.raises(AudioError, match=r"blip\.wav.*8000 Hz"):
        io.load(tmp_path / "blip.wav", sr=8000)


def test_resample_multichannel_and_identity():
    y = np.stack([_tone(440), _tone(1000)])
    out = io.resample(y, SR, 8000)
    assert out.shape == (2, 2000)
    same = io.resample(y[0], SR, SR)
    np.testing.assert_array_equal(same, y[0])
    assert same is not y[0]


@pytest.mark.parametrize("bad", [0, -8000, 8000.5, float("nan"), "16k", None])
def test_resample_rejects_bad_rates(bad):
    with pytest.raises(ParameterError, match="target_sr"):
        io.resample(_tone(), SR, bad)


def test_resample_rejects_non_finite_and_empty():
    y = _tone()
    y[3] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        io.resample(y, SR, 8000)
    with pytest.raises(AudioError, match="non-empty"):
        io.resample(np.zeros(0), SR, 8000)


def test_load_resamples_when_sr_given(tmp_path):
    io.save(tmp_path / "a.wav", _tone(seconds=0.5), SR)
    y, sr = io.load(tmp_path / "a.wav", sr=8000)
    assert (sr, y.shape) == (8000, (4000,))
    y, sr = io.load(tmp_path / "a.wav", sr=22050)
    assert (sr, y.shape) == (22050, (11025,))


def test_mono_modes(tmp_path):
    left, right = _tone(440, level=0.2), _tone(1000, level=0.4)
    path = tmp_path / "st.wav"
    io.save(path, np.stack([left, right]), SR, subtype="FLOAT")

    mixed, _ = io.load(path)  # default: mix
    np.testing.assert_allclose(mixed, (left + right) / 2, atol=1e-7)
    np.testing.assert_array_equal(io.load(path, mono=True)[0], mixed)
    np.testing.assert_array_equal(io.load(path, mono="first")[0], left)
    kept, _ = io.load(path, mono="keep")
    assert kept.shape == (2, left.size)
    np.testing.assert_array_equal(kept[1], right)
    np.testing.assert_array_equal(io.load(path, mono=False)[0], kept)
    with pytest.raises(AudioError, match=r"st\.wav.*2 channels"):
        io.load(path, mono="refuse")
    with pytest.raises(ParameterError, match="mono"):
        io.load(path, mono="average")


def test_mono_file_is_1d_in_every_mode(tmp_path):
    io.save(tmp_path / "m.wav", _tone(), SR)
    for mode in ("mix", "first", "refuse", "keep"):
        assert io.load(tmp_path / "m.wav", mono=mode)[0].ndim == 1


def test_offset_and_duration(tmp_path):
    y = np.arange(1600, dtype=np.float32) / 2000
    io.save(tmp_path / "r.wav", y, SR, subtype="FLOAT")
    part, _ = io.load(tmp_path / "r.wav", offset=0.01, duration=0.02)
    np.testing.assert_array_equal(part, y[160:480])
    np.testing.assert_array_equal(io.load(tmp_path / "r.wav", offset=0.09)[0], y[1440:])
    with pytest.raises(ParameterError, match="offset"):
        io.load(tmp_path / "r.wav", offset=-1)
    with pytest.raises(ParameterError, match="duration"):
        io.load(tmp_path / "r.wav", duration=float("inf"))


def test_offset_past_the_end_and_empty_duration_are_refused(tmp_path):
    """They used to return an empty array as if the file had been read."""
    path = tmp_path / "r.wav"
    io.save(path, np.full(1600, 0.1), SR)  # 0.1 s
    for offset in (1.0, 0.1):  # beyond the end, and exactly at it
        with pytest.raises(ParameterError,
                           match=rf"offset={offset} s .*end of .*r\.wav.*0\.1 s long \(1600 "):
            io.load(path, offset=offset)
    for duration in (0, 0.0, -0.5):
        with pytest.raises(ParameterError, match=r"duration must be None or .* > 0"):
            io.load(path, duration=duration)
    with pytest.raises(ParameterError, match=r"duration=1e-06 s is shorter than one sample"):
        io.load(path, duration=1e-6)
    assert io.load(path, offset=0.0999)[0].shape == (2,)  # the last samples are still there


def test_missing_and_corrupt_files_are_named(tmp_path):
    missing = tmp_path / "nowhere.wav"
    with pytest.raises(FileNotFoundError, match="nowhere.wav"):
        io.load(missing)
    with pytest.raises(FileNotFoundError, match="nowhere.wav"):
        io.info(missing)
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF\x00\x00junk that is not audio" * 3)
    with pytest.raises(AudioError, match="garbage.wav"):
        io.load(garbage)
    with pytest.raises(AudioError, match="garbage.wav"):
        io.info(garbage)
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="empty.flac"):
        io.load(empty)
    with pytest.raises(IsADirectoryError):
        io.load(tmp_path)


def test_info(tmp_path):
    io.save(tmp_path / "s.flac", np.zeros((2, 8000)), SR)
    i = io.info(tmp_path / "s.flac")
    assert (i.sr, i.n_samples, i.n_channels, i.format, i.subtype) == (
        SR, 8000, 2, "FLAC", "PCM_16"
    )
    assert i.duration == 0.5
    assert i.path.endswith("s.flac")


def test_save_clipping_guard(tmp_path):
    y = np.array([0.0, 0.5, -1.5, 0.25], dtype=np.float32)
    with pytest.raises(AudioError, match=r"1\.5.*clip.*loud\.wav"):
        io.save(tmp_path / "loud.wav", y, SR)
    assert not (tmp_path / "loud.wav").exists()

    io.save(tmp_path / "c.wav", y, SR, clip="clip")
    np.testing.assert_allclose(io.load(tmp_path / "c.wav")[0], [0, 0.5, -1, 0.25], atol=1e-4)

    io.save(tmp_path / "n.wav", y, SR, clip="normalize")
    back = io.load(tmp_path / "n.wav")[0]
    np.testing.assert_allclose(back, y / 1.5, atol=1e-4)
    assert np.max(np.abs(back)) <= 1.0

    # float files hold any value: no guard needed, nothing changed
    io.save(tmp_path / "f.wav", y, SR, subtype="FLOAT")
    np.testing.assert_array_equal(io.load(tmp_path / "f.wav")[0], y)

    with pytest.raises(ParameterError, match="clip"):
        io.save(tmp_path / "x.wav", y, SR, clip="wrap")


def test_full_scale_is_not_refused(tmp_path):
    y = np.array([1.0, -1.0, 0.0], dtype=np.float32)
    io.save(tmp_path / "fs.wav", y, SR)
    back = io.load(tmp_path / "fs.wav")[0]
    assert back[0] > 0.9999 and back[1] == -1.0


def test_save_refuses_bad_data_and_formats(tmp_path):
    y = _tone()
    y[0] = np.inf
    with pytest.raises(AudioError, match="NaN or infinite"):
        io.save(tmp_path / "a.wav", y, SR)
    with pytest.raises(AudioError, match="non-empty"):
        io.save(tmp_path / "a.wav", np.zeros(0), SR)
    with pytest.raises(ParameterError, match="extension"):
        io.save(tmp_path / "a.xyz", _tone(), SR)
    with pytest.raises(ParameterError, match="FLOAT"):
        io.save(tmp_path / "a.flac", _tone(), SR, subtype="FLOAT")
    with pytest.raises(ParameterError, match="sr"):
        io.save(tmp_path / "a.wav", _tone(), 0)
    with pytest.raises(AudioError, match=r"\(n_channels, n_samples\).*y\.T"):
        io.save(tmp_path / "a.wav", np.zeros((100, 2)), SR)
    with pytest.raises(AudioError, match="more channels than samples"):
        io.resample(np.zeros((100, 2)), SR, 8000)
    assert list(tmp_path.iterdir()) == []


def test_save_is_atomic_and_creates_folders(tmp_path):
    path = tmp_path / "deep" / "er" / "a.wav"
    io.save(path, _tone(), SR)
    # overwrite in place: the reader sees either the old or the new file, never a temp file
    io.save(path, _tone(1000), SR)
    assert os.listdir(path.parent) == ["a.wav"]
    np.testing.assert_allclose(io.load(path)[0], _tone(1000), atol=1 / 32768)
    assert sf.info(str(path)).subtype == "PCM_16"


def test_vorbis_above_200_khz_is_refused_not_a_crash(tmp_path):
    # libsndfile hands such a rate to libvorbis, which crashes the whole process (SIGSEGV)
    with pytest.raises(ParameterError,
                       match=r"Vorbis \(OGG\) cannot store audio at 250000 Hz \(at most 200000"):
        io.save(tmp_path / "hi.ogg", np.zeros(1000, np.float32), 250000)
    assert not list(tmp_path.iterdir())
    io.save(tmp_path / "ok.ogg", np.zeros(1000, np.float32), 192000)
    assert io.info(tmp_path / "ok.ogg").sr == 192000
