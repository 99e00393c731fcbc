"""The sksep command line: enhance, train, evaluate, compare --help; exit codes and errors."""

from __future__ import annotations

import contextlib
import io
import math
import os
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import sksep
from sksep import cli
from sksep.datasets import load_sample
from sksep.io import resample, save

SR = 16000


def _run(*args, cwd=None):
    """``python -m sksep ARGS`` in a fresh process."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "sksep", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def folders(sample, tmp_path_factory):
    """Small speech / noise / test trees of real recordings."""
    root = tmp_path_factory.mktemp("cli")
    speech, noise = sample
    for i in range(5):
        save(root / "speech" / f"u{i}.wav", speech.train[i][: SR * 2], SR)
    for i in range(2):
        save(root / "noise" / f"n{i}.flac", noise.train[i][: SR * 3], SR)
    rng = np.random.default_rng(0)
    for i in range(2):
        clean = speech.test[i][: SR * 2]
        noisy = clean + 0.3 * noise.test[i][: len(clean)]
        save(root / "clean" / f"t{i}.wav", clean, SR)
        save(root / "noisy" / f"t{i}.wav", np.clip(noisy, -1, 1), SR, clip="clip")
    (root / "noisy_bad").mkdir()
    save(root / "noisy_bad" / "good.wav", speech.test[0][: SR], SR)
    (root / "noisy_bad" / "broken.wav").write_bytes(b"RIFF\x00\x00" + rng.bytes(300))
    return root


@pytest.fixture(scope="module")
def model(folders):
    """`sksep train` on two folders (tiny network, one epoch) writes a model file."""
    out = folders / "model.sksep"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
            code = cli.main(["train", "--speech", str(folders / "speech"), "--noise",
                         str(folders / "noise"), "--network", "dnn0", "--features", "stft",
                         "--snr", "-5", "0", "5", "--epochs", "1", "--quick", "-o", str(out)])
    assert code == 0
    assert "held-out STOI" in printed.getvalue() and str(out) in printed.getvalue()
    assert "train_loss" in printed.getvalue()  # the epoch table shows progress by default
    return out


def test_train_writes_a_model_that_enhance_uses(model, folders, tmp_path):
    enh = sksep.load(model)
    assert enh.sr_ == SR and enh.estimator_.steps[-1][1].history_[-1, "epoch"] == 1
    code = cli.main(["enhance", str(folders / "noisy" / "t0.wav"), "-o", str(tmp_path),
                     "--model", str(model), "-q"])
    assert code == 0
    y, sr = sf.read(tmp_path / "t0.wav")
    assert sr == SR and len(y) == sf.info(folders / "noisy" / "t0.wav").frames


def test_train_interrupted_by_ctrl_c_resumes(folders, tmp_path, capsys):
    """SIGINT mid-training: exit 130 naming the checkpoint; the same command resumes from it."""
    import json
    import signal
    import time

    import torch

    out = tmp_path / "m.sksep"
    runs = tmp_path / "m.sksep.training"
    argv = ["train", "--speech", folders / "speech", "--noise", folders / "noise", "--network",
            "dnn0", "--features", "stft", "--quick", "-o", out]
    env = dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")
    # no early stop: the run must still be training when the signal comes
    # a shell without job control starts background jobs with SIGINT ignored, and a child
    # inherits that: give the command the default Ctrl-C a terminal user has
    proc = subprocess.Popen([sys.executable, "-m", "sksep", *map(str, argv), "--epochs", "500",
                             "--patience", "500"],
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 240
        while not list(runs.glob("*/training_state.pt")):  # epoch 1 saved: interrupt later
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "no epoch was saved"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted: training interrupted" in err and "to resume" in err
    assert not out.exists()  # no half-trained model file
    [state] = runs.glob("*/training_state.pt")
    saved = len(json.loads(torch.load(state, weights_only=True)["history"]))
    assert 1 <= saved < 500
    capsys.readouterr()
    assert cli.main([*map(str, argv), "--epochs", str(saved + 1), "--patience", "500",
                     "-q"]) == 0
    out_text, err = capsys.readouterr()
    assert "train_loss" not in out_text  # -q: no epoch table
    assert f"resumed after epoch {saved} from" in err and "the training state stays in" in err
    net = sksep.load(out).estimator_.steps[-1][1]
    assert [row["epoch"] for row in net.history_] == list(range(1, saved + 2))
    assert dict(net.callbacks_)["early_stopping"].patience == 500  # --patience


def test_enhance_default_model_any_rate_and_channels(folders, sample, tmp_path):
    """No --model: the bundled default; 16 kHz mono and 44.1 kHz stereo keep rate and length."""
    y = sample[0].test[2][: int(1.5 * SR)]
    y44 = resample(y, SR, 44100)
    save(tmp_path / "in" / "a.wav", y, SR)
    save(tmp_path / "in" / "b.wav", np.stack([y44, 0.5 * y44]), 44100)
    r = _run("enhance", tmp_path / "in" / "a.wav", tmp_path / "in" / "b.wav",
             "-o", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "2 channels, mixed down to mono" in r.stderr and "enhanced 2, failed 0" in r.stderr
    for name, rate, n in (("a.wav", SR, len(y)), ("b.wav", 44100, len(y44))):
        info = sf.info(tmp_path / "out" / name)
        assert (info.samplerate, info.frames, info.channels) == (rate, n, 1)
    out, _ = sf.read(tmp_path / "out" / "a.wav", dtype="float32")
    assert np.abs(out).max() > 0.01 and not np.array_equal(out, y)


def test_enhance_folder_with_a_corrupt_file(folders, model, tmp_path, capsys):
    code = cli.main(["enhance", str(folders / "noisy_bad"), "-o", str(tmp_path),
                     "--model", str(model)])
    err = capsys.readouterr().err
    assert code == 1
    assert (tmp_path / "good.wav").is_file() and not (tmp_path / "broken.wav").exists()
    assert "broken.wav" in err and "enhanced 1, failed 1" in err and "Traceback" not in err
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_chunks_match_whole_file_enhancement(folders, model, tmp_path):
    enh = sksep.load(model)
    src = folders / "noisy" / "t1.wav"
    y, _ = sf.read(src, dtype="float32")
    whole = enh.predict([y])[0]
    assert cli.main(["enhance", str(src), "-o", str(tmp_path / "a"), "--model", str(model),
                     "-q"]) == 0
    one, _ = sf.read(tmp_path / "a" / "t1.wav", dtype="float32")
    assert np.abs(one - np.clip(whole, -1, 1)).max() <= 1.0 / 32768 + 1e-6  # PCM_16 rounding
    assert cli.main(["enhance", str(src), "-o", str(tmp_path / "b"), "--model", str(model),
                     "--chunk", "1", "-q"]) == 0
    chunked, _ = sf.read(tmp_path / "b" / "t1.wav", dtype="float32")
    assert len(chunked) == len(y)
    # each chunk is level-normalised on its own, so the masks differ a little; no seams
    assert np.corrcoef(chunked, whole)[0, 1] > 0.9


def test_enhance_mask_exponent_overrides_the_models(folders, model, tmp_path, capsys):
    src = folders / "noisy" / "t1.wav"
    y, _ = sf.read(src, dtype="float32")
    enh = sksep.load(model).set_params(mask_exponent=2.0)
    expected = np.clip(enh.predict([y])[0], -1, 1)
    assert cli.main(["enhance", str(src), "-o", str(tmp_path), "--model", str(model),
                     "--mask-exponent", "2", "-q"]) == 0
    out, _ = sf.read(tmp_path / "t1.wav", dtype="float32")
    assert np.abs(out - expected).max() <= 1.0 / 32768 + 1e-6
    code = cli.main(["enhance", str(src), "-o", str(tmp_path / "x"), "--model", str(model),
                     "--mask-exponent", "0"])
    assert code == 2 and "--mask-exponent must be a positive number" in capsys.readouterr().err


def test_chunker_cross_fades_exactly():
    chunker = cli._Chunker(lambda seg: seg * 2, length=100, overlap=20)
    x = np.arange(1000, dtype=np.float32)
    out = np.concatenate([chunker.push(x[:333]), chunker.push(x[333:]), chunker.finish()])
    np.testing.assert_allclose(out, 2 * x, rtol=1e-6)


def test_enhance_output_rate_and_format(folders, model, tmp_path):
    src = folders / "noisy" / "t0.wav"
    code = cli.main(["enhance", str(src), "-o", str(tmp_path), "--model", str(model),
                     "--sr", "8000", "--format", "flac", "-q"])
    assert code == 0
    info = sf.info(tmp_path / "t0.flac")
    assert info.samplerate == 8000 and info.format == "FLAC"
    assert info.frames == math.ceil(sf.info(src).frames * 8000 / SR)
    # an existing output is not replaced without --overwrite
    assert cli.main(["enhance", str(src), "-o", str(tmp_path), "--model", str(model),
                     "--sr", "8000", "--format", "flac", "-q"]) == 1


def test_evaluate_writes_csv_and_summary(folders, model, tmp_path, capsys):
    enhanced = tmp_path / "enh"
    assert cli.main(["enhance", str(folders / "noisy"), "-o", str(enhanced), "--model",
                     str(model), "-q"]) == 0
    csv = tmp_path / "m.csv"
    code = cli.main(["evaluate", "--clean", str(folders / "clean"), "--enhanced", str(enhanced),
                     "--noisy", str(folders / "noisy"), "--metrics", "stoi", "si_sdr",
                     "-o", str(csv)])
    out = capsys.readouterr().out
    assert code == 0
    table = pd.read_csv(csv, index_col="id")
    assert sorted(table.index) == ["t0", "t1"]
    assert {"stoi", "stoi_noisy", "si_sdr", "si_sdr_noisy"} <= set(table.columns)
    assert table["stoi"].between(0, 1).all()
    assert "stoi" in out and "gain" in out and str(csv) in out


@pytest.mark.parametrize("command", [[], ["enhance"], ["train"], ["evaluate"], ["compare"]])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([*command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: sksep") and len(text) > 200


def test_user_errors_exit_2_without_traceback(folders, model, tmp_path, capsys):
    evil = tmp_path / "evil.sksep"
    with zipfile.ZipFile(model) as src, zipfile.ZipFile(evil, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, data.replace(b"sksep.models.DNN0Regressor", b"os.system")
                         if name == "config.json" else data)
    cases = [
        (["enhance", tmp_path / "missing.wav", "-o", tmp_path], "input not found"),
        (["enhance", folders / "noisy", "-o", tmp_path, "--model", evil], "refused"),
        (["enhance", folders / "noisy", "-o", tmp_path, "--model", folders / "noisy" / "t0.wav"],
         "bad model file"),
        (["train", "--speech", tmp_path / "nope", "--noise", folders / "noise", "-o",
          tmp_path / "m.sksep"], "speech folder not found"),
        (["evaluate", "--clean", folders / "clean", "--enhanced", folders / "speech"],
         "no file names in common"),
    ]
    for args, message in cases[:2]:  # two in fresh processes: the real console entry
        r = _run(*args)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    for args, message in cases[2:]:
        assert cli.main([str(a) for a in args]) == 2
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # argparse usage error
        cli.main(["enhance"])
    assert exc.value.code == 2 and "usage:" in capsys.readouterr().err


def test_user_error_messages(folders, tmp_path, capsys):
    assert cli.main(["train", "--speech", str(tmp_path / "nope"), "--noise",
                     str(folders / "noise"), "-o", str(tmp_path / "m.sksep")]) == 2
    assert "speech folder not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["enhance", str(tmp_path / "empty"), "-o", str(tmp_path / "o")]) == 2
    assert "no audio files" in capsys.readouterr().err
