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
    printed, noted = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(noted):
        code = cli.main(["train", "--speech", str(folders / "speech"), "--noise",
                         str(folders / "noise"), "--network", "dnn0", "--features", "stft",
                         "--snr", "-5", "0", "5", "--epochs", "1", "--quick", "-o", str(out)])
    assert code == 0
    assert "held-out STOI" in printed.getvalue() and str(out) in printed.getvalue()
    assert "train_loss" in printed.getvalue()  # the epoch table shows progress by default
    # not a terminal: skorch's epoch table comes without ANSI colour codes
    assert "\x1b[" not in printed.getvalue()
    # what was held out for validation is said (one folder: one speaker, so utterances)
    assert "held out for validation: 1 of 5 utterances (20%; --valid 0.1)" in noted.getvalue()
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


# ---------------------------------------------------------------------------
# enhance: inputs are never replaced, duplicates, argument order, output folder
# ---------------------------------------------------------------------------
def test_enhance_overwrite_never_replaces_another_input(folders, model, tmp_path, capsys):
    """x.aiff -> x.wav (and with --format wav x.flac -> x.wav) must not clobber the input x.wav."""
    y, _ = sf.read(folders / "noisy" / "t0.wav", dtype="float32")
    sf.write(tmp_path / "x.wav", y, SR)
    sf.write(tmp_path / "x.aiff", y[::-1].copy(), SR)
    sf.write(tmp_path / "x.flac", 0.5 * y, SR)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    code = cli.main(["enhance", str(tmp_path), "-o", str(tmp_path), "--overwrite", "--model",
                     str(model), "--format", "wav"])
    err = capsys.readouterr().err
    assert code == 1
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing replaced
    assert err.count("would replace another input") == 2  # x.aiff and x.flac
    assert "would replace its input" in err and "enhanced 0, failed 3" in err
    # without --format: x.aiff still maps onto the input x.wav (x.flac onto itself)
    assert cli.main(["enhance", str(tmp_path / "x.aiff"), str(tmp_path / "x.wav"), "-o",
                     str(tmp_path), "--overwrite", "--model", str(model), "-q"]) == 1
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_enhance_same_name_other_extension_and_duplicates(folders, model, tmp_path, capsys):
    y, _ = sf.read(folders / "noisy" / "t0.wav", dtype="float32")
    src = tmp_path / "in"
    src.mkdir()
    sf.write(src / "x.wav", y, SR)
    sf.write(src / "x.aiff", y, SR)
    # x.aiff and x.wav both map to out/x.wav: the first (sorted) is written, the second fails
    code = cli.main(["enhance", str(src), "-o", str(tmp_path / "out"), "--model", str(model)])
    err = capsys.readouterr().err
    assert code == 1 and "x.wav: output" in err and "was already written by another input" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x.wav"]
    # a file given twice, and again through its folder: enhanced once, with a note
    (src / "x.aiff").unlink()
    one = src / "x.wav"
    code = cli.main(["enhance", str(one), str(one), str(src), "-o", str(tmp_path / "dup"),
                     "--model", str(model)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert err.count(f"{one} was given more than once; enhanced once") == 2
    assert "enhanced 1, failed 0" in err
    assert sorted(p.name for p in (tmp_path / "dup").iterdir()) == ["x.wav"]


def test_enhance_inputs_may_follow_options(folders, model, tmp_path):
    noisy = folders / "noisy"
    code = cli.main(["enhance", str(noisy / "t0.wav"), "-o", str(tmp_path), "--model",
                     str(model), str(noisy / "t1.wav"), "-q"])
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t0.wav", "t1.wav"]


def test_output_paths_checked_before_any_work(folders, model, tmp_path, capsys):
    """-o under a file, an existing folder for a file, ...: exit 2, one line, nothing done."""
    somefile = tmp_path / "somefile"
    somefile.write_text("x")
    (tmp_path / "adir").mkdir()
    speech, noise = str(folders / "speech"), str(folders / "noise")
    train = ["train", "--speech", speech, "--noise", noise, "--quick", "--epochs", "1"]
    evaluate = ["evaluate", "--clean", str(folders / "clean"), "--enhanced",
                str(folders / "noisy"), "--metrics", "stoi"]
    cases = [
        (["enhance", str(folders / "noisy"), "-o", str(somefile / "sub"), "--model", str(model)],
         f"-o {str(somefile / 'sub')!r} cannot be made: {str(somefile)!r} is a file"),
        ([*evaluate, "-o", str(tmp_path / "adir")], "-o must be a file name, got the folder"),
        ([*evaluate, "-o", str(somefile / "m.csv")], "is a file, not a folder"),
        ([*evaluate, "-o", str(tmp_path / "j.csv"), "--jobs", "0"], "--jobs must be"),
        ([*evaluate, "-o", str(tmp_path / "j.csv"), "--metrics", "stoi", "nope"],
         "unknown metric(s) nope"),
        ([*train, "-o", str(somefile / "x.sksep"), "--checkpoint", "none"],
         "is a file, not a folder"),
        ([*train, "-o", str(tmp_path / "x.sksep"), "--checkpoint", str(somefile / "ck")],
         f"--checkpoint {str(somefile / 'ck')!r} cannot be made"),
        (["enhance", str(folders / "noisy"), "-o", str(tmp_path / "o"), "--chunk", "inf",
          "--model", str(model)], "--chunk must be a positive number of seconds, got inf"),
    ]
    for args, message in cases:
        assert cli.main(args) == 2, args
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (args, err)  # one line, no work done
    assert not (tmp_path / "o").exists() and not (tmp_path / "j.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "somefile"]


def test_device_checked_before_any_work(folders, model, tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a CPU-only machine
    enhance = ["enhance", str(folders / "noisy"), "-o", str(tmp_path / "o"), "--model",
               str(model), "--device"]
    train = ["train", "--speech", str(folders / "speech"), "--noise", str(folders / "noise"),
             "-o", str(tmp_path / "m.sksep"), "--quick", "--epochs", "1", "--device"]
    cases = [
        ([*enhance, "cuda"], "--device cuda: CUDA is not available here"),
        ([*train, "cuda:0"], "--device cuda:0: CUDA is not available here"),
        ([*enhance, "foo"], "--device 'foo' is not a torch device"),
        ([*enhance, "meta"], "--device meta: only cpu, cuda, cuda:N"),
    ]
    for args, message in cases:
        assert cli.main(args) == 2, args
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert cli.main([*enhance, "cpu", "-q"]) == 0


# ---------------------------------------------------------------------------
# enhance: chunks, short files, what failed
# ---------------------------------------------------------------------------
def test_tiny_chunks_are_raised_to_what_the_model_takes(folders, model, tmp_path, capsys):
    src = folders / "noisy_bad" / "good.wav"  # 1 s
    code = cli.main(["enhance", str(src), "-o", str(tmp_path), "--model", str(model),
                     "--chunk", "0.01"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "--chunk 0.01 s is shorter than the model takes; chunks of" in err
    assert sf.info(tmp_path / "good.wav").frames == sf.info(src).frames


def test_chunk_plan_never_gives_a_too_short_segment(model):
    enh = sksep.load(model)
    for chunk in (1e-4, 0.01, 0.05, 0.3, 1e9):
        plan = cli._ChunkPlan(enh, chunk)
        lengths = []

        def fn(seg, lengths=lengths):
            lengths.append(len(seg))
            return seg

        top = min(3 * plan.length + 2 * plan.overlap + 7, 40000)  # 1e9 s: one segment
        for n in range(plan.min_input, top, 97):
            lengths.clear()
            chunker = cli._Chunker(fn, plan.length, plan.overlap)
            x = np.ones(n, np.float32)
            out = np.concatenate([chunker.push(x[: n // 3]), chunker.push(x[n // 3:]),
                                  chunker.finish()])
            assert len(out) == n and min(lengths) >= plan.min_input, (chunk, n, lengths)


def test_too_short_files_are_named_with_durations(folders, model, tmp_path, capsys):
    save(tmp_path / "in" / "tiny.wav", 0.1 * np.ones(80, np.float32), SR)
    code = cli.main(["enhance", str(tmp_path / "in"), "-o", str(tmp_path / "o"), "--model",
                     str(model)])
    err = capsys.readouterr().err
    assert code == 1
    assert "tiny.wav: too short: 80 samples (0.005 s); the model needs at least 0.016 s" in err
    assert "X[0]" not in err
    # train: the file is named before any training, with its duration and the minimum
    speech = tmp_path / "speech"
    for i in range(4):
        (speech / f"u{i}.wav").parent.mkdir(exist_ok=True)
        (speech / f"u{i}.wav").write_bytes((folders / "speech" / f"u{i}.wav").read_bytes())
    save(speech / "tiny.wav", 0.1 * np.ones(80, np.float32), SR)
    code = cli.main(["train", "--speech", str(speech), "--noise", str(folders / "noise"),
                     "--quick", "--epochs", "1", "-o", str(tmp_path / "m.sksep")])
    err = capsys.readouterr().err
    assert code == 2 and "training" not in err
    assert ("1 speech file(s) shorter than the stft front end takes (at least 0.016 s): "
            f"{speech / 'tiny.wav'} (0.005 s)") in err


def test_enhance_errors_say_what_failed_and_the_run_goes_on(folders, model, tmp_path, capsys,
                                                            monkeypatch):
    from sksep.enhance import SpeechEnhancer

    # a write error is reported as one (it used to say "cannot read audio file <input>")
    monkeypatch.setattr(cli, "_check_rate", lambda fmt, sr: None)  # let libsndfile refuse
    code = cli.main(["enhance", str(folders / "noisy" / "t0.wav"), "-o", str(tmp_path / "w"),
                     "--model", str(model), "--sr", "1000000", "--format", "flac"])
    err = capsys.readouterr().err
    assert code == 1 and "cannot write" in err and "cannot read" not in err
    monkeypatch.undo()
    # the same mistake, checked up front: a usage error
    assert cli.main(["enhance", str(folders / "noisy" / "t0.wav"), "-o", str(tmp_path / "w"),
                     "--model", str(model), "--sr", "1000000", "--format", "flac"]) == 2
    assert "flac output cannot be at 1000000 Hz" in capsys.readouterr().err

    original = SpeechEnhancer.predict
    failures = iter([RuntimeError("out of memory"), KeyError("boom")])

    def predict(self, X):
        exc = next(failures, None)
        if exc is not None:
            raise exc
        return original(self, X)

    monkeypatch.setattr(SpeechEnhancer, "predict", predict)
    inputs = [folders / "noisy" / "t0.wav", folders / "noisy" / "t1.wav",
              folders / "noisy_bad" / "good.wav"]
    code = cli.main(["enhance", *map(str, inputs), "-o", str(tmp_path / "p"), "--model",
                     str(model)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "failed (RuntimeError): out of memory" in err and "cannot read" not in err
    assert "t1.wav: unexpected KeyError: 'boom'" in err
    assert "enhanced 1, failed 2" in err
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["good.wav"]


# ---------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------
def test_evaluate_a_short_noisy_file_does_not_cut_the_enhanced_scores(sample, tmp_path,
                                                                      capsys):
    speech, noise = sample
    c = speech.test[1][:32000]
    e = c + 0.05 * np.random.default_rng(0).standard_normal(32000).astype(np.float32)
    save(tmp_path / "clean" / "b.wav", c, SR)
    save(tmp_path / "enh" / "b.wav", e, SR)
    save(tmp_path / "noisy" / "b.wav", np.clip(c + 0.3 * noise.test[1][:32000], -1, 1)[:8000],
         SR, clip="clip")
    base = ["evaluate", "--clean", str(tmp_path / "clean"), "--enhanced",
            str(tmp_path / "enh"), "--metrics", "stoi", "si_sdr"]
    assert cli.main([*base, "-o", str(tmp_path / "a.csv")]) == 0
    assert cli.main([*base, "--noisy", str(tmp_path / "noisy"), "-o",
                     str(tmp_path / "b.csv")]) == 0
    err = capsys.readouterr().err
    assert "b: lengths differ (32000 clean, 8000 noisy samples); noisy scored" in err
    assert "enhanced samples" not in err  # clean and enhanced are of one length
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    np.testing.assert_allclose(b[["stoi", "si_sdr"]], a[["stoi", "si_sdr"]])
    assert b["stoi_noisy"].notna().all()


def test_evaluate_names_every_file_it_cannot_score_or_match(folders, tmp_path, capsys):
    clean, enh = tmp_path / "clean", tmp_path / "enh"
    for i in ("a", "b", "c", "d"):
        save(clean / f"{i}.wav", sf.read(folders / "clean" / "t0.wav", dtype="float32")[0], SR)
    for i in ("a", "d", "e"):
        save(enh / f"{i}.wav", sf.read(folders / "noisy" / "t0.wav", dtype="float32")[0], SR)
    (enh / "b.wav").write_bytes((folders / "noisy_bad" / "broken.wav").read_bytes())
    nan = np.full(SR, np.nan, np.float32)
    sf.write(enh / "d.wav", nan, SR, subtype="FLOAT")
    csv = tmp_path / "m.csv"
    code = cli.main(["evaluate", "--clean", str(clean), "--enhanced", str(enh), "--metrics",
                     "stoi", "-o", str(csv)])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    table = pd.read_csv(csv, index_col="id")
    assert list(table.index) == ["a", "b", "d"]  # the unreadable rows stay, with NaN
    assert table.loc["a", "stoi"] > 0 and table.loc[["b", "d"], "stoi"].isna().all()
    assert "b.wav" in table.loc["b", "error"] and "NaN" in table.loc["d", "error"]
    assert f"1 clean file(s) have no enhanced counterpart, left out: {clean / 'c.wav'}" in err
    assert f"1 enhanced file(s) have no clean counterpart, left out: {enh / 'e.wav'}" in err
    assert "3 file(s) at 16000 Hz (2 unreadable" in out
    # one id under two extensions: refused, naming both
    save(enh / "a.flac", sf.read(folders / "noisy" / "t0.wav", dtype="float32")[0], SR)
    assert cli.main(["evaluate", "--clean", str(clean), "--enhanced", str(enh), "-o",
                     str(csv)]) == 2
    err = capsys.readouterr().err
    assert "two enhanced files have the id 'a'" in err
    assert str(enh / "a.flac") in err and str(enh / "a.wav") in err


def test_hold_out_keeps_near_the_asked_share():
    from sksep.datasets import AudioCollection

    waves = [np.ones(800, np.float32)] * 20
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        two = AudioCollection(waves, SR, meta={"speaker": list("ab" * 10)})
        train, held = cli._hold_out(two, 0.1, 0)
        assert (len(train), len(held)) == (18, 2)  # not one of the two speakers (half)
        many = AudioCollection(waves, SR, meta={"speaker": [f"s{i // 2}" for i in range(20)]})
        train, held = cli._hold_out(many, 0.1, 0)
        assert set(train.column("speaker")).isdisjoint(held.column("speaker"))
    text = err.getvalue()
    assert "held out for validation: 2 of 20 utterances (10%; --valid 0.1): whole speakers " \
        "would have been 1 of 2 speakers, 50% of the utterances" in text
    assert "held out for validation: 1 of 10 speakers, 2 of 20 utterances" in text
