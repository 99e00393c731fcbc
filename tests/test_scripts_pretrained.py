"""scripts/train_pretrained.py end to end on the bundled sample, with a tiny network."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

import sksep

pytestmark = pytest.mark.usefixtures("single_torch_thread")


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("train_pretrained.py")


def test_trains_from_the_stream_scores_every_test_kind_and_saves(script, tmp_path, capsys):
    out, report = tmp_path / "m.sksep", tmp_path / "r.csv"
    argv = ["--corpus", "sample", "--network", "dnn0", "--features", "stft",
            "--sr", "8000", "--n-fft", "128", "--hop-length", "64",
            "--hidden", "16", "--layers", "1", "--context", "1", "--epochs", "2",
            "--items-per-epoch", "6", "--valid-utterances", "3", "--test-utterances", "2",
            "--augment", "all", "--reverb-prob", "0.5", "--weight-decay", "0",
            "-o", str(out), "--report", str(report)]
    status = script.main(argv)
    text = capsys.readouterr().out
    # the sample has no unseen kinds, so the card's checks cannot pass: exit status 1
    assert status == 1 and "held-out checks cannot be made" in text
    table = pd.read_csv(report)
    _, noise = sksep.datasets.load_sample()
    kinds = set(noise.test.meta["kind"])
    assert set(table["kind"]) == kinds
    assert set(table["snr_db"]) == {-5.0, 0.0, 5.0}
    # the sample's test kinds all occur in training: every row is "matched"
    assert set(table["condition"]) == {"matched"}
    assert (table["n"] == 2).all()
    assert np.isfinite(table[["stoi_gain", "pesq_gain", "oracle_stoi_gain"]].to_numpy()).all()
    assert (table["oracle_stoi_gain"] > 0).all()
    model = sksep.load(out)
    assert model.sr_ == 8000
    net = model.estimator_.steps[-1][1]
    assert len(net.history_) == 2 and "valid_loss" in net.history_[-1]
    assert net.optimizer_.param_groups[0]["weight_decay"] == 0
    # --evaluate rescoring the saved model reproduces the numbers; --trained-kinds relabels
    again, gap = tmp_path / "again.csv", tmp_path / "gap.csv"
    # (no --sr: the corpus is read at the saved model's 8 kHz)
    script.main(["--corpus", "sample", "--test-utterances", "2",
                 "--evaluate", str(out), "--report", str(again),
                 "--trained-kinds", "ambience,babble", "--gap", str(gap)])
    rescored = pd.read_csv(again)
    assert set(rescored.loc[rescored["condition"] == "matched", "kind"]) == {"ambience", "babble"}
    assert set(rescored.loc[rescored["condition"] == "unseen", "kind"]) == kinds - {
        "ambience", "babble"}
    key = ["kind", "snr_db"]
    pd.testing.assert_frame_equal(
        rescored.drop(columns="condition").sort_values(key).reset_index(drop=True),
        table.drop(columns="condition").sort_values(key).reset_index(drop=True))
    # --gap: {training, test} speakers x {training, test} recordings of the matched kinds
    cells = pd.read_csv(gap)
    assert len(cells) == 12 and (cells["n"] == 2).all()
    assert set(map(tuple, cells[["speakers", "noise_recordings"]].to_numpy())) == {
        ("train", "train"), ("train", "test"), ("test", "train"), ("test", "test")}
    assert (cells["oracle_stoi_gain"] > 0).all()
    # (the CSV is rounded to 3 decimals)
    assert np.allclose(cells["oracle_fraction"] * cells["oracle_stoi_gain"], cells["stoi_gain"],
                       atol=2e-3)


def test_verdict_flags_unimproved_unseen_kinds(script, capsys):
    rows = []
    for kind, gain in (("a", 0.10), ("b", -0.01)):
        for snr in (-5.0, 0.0, 5.0):
            rows.append({"condition": "unseen", "kind": kind, "snr_db": snr, "stoi_gain": gain,
                         "pesq_gain": 0.2, "oracle_stoi_gain": 0.2,
                         "oracle_fraction": gain / 0.2})
    summary = pd.DataFrame(rows)
    assert script.verdict(summary) is False
    text = capsys.readouterr().out
    assert "not improved: b at -5 dB" in text and "22.5%" in text
    summary.loc[summary["kind"] == "b", ["stoi_gain", "oracle_fraction"]] = [0.1, 0.5]
    assert script.verdict(summary) is True


def test_default_recipe_is_cnn1_on_noise_aware_cochleagram(script, tmp_path):
    out = tmp_path / "m.sksep"
    status = script.main(["--corpus", "sample", "--sr", "8000", "--hop-length", "64",
                          "--context", "4", "--epochs", "1", "--items-per-epoch", "3",
                          "--valid-utterances", "2", "--test-utterances", "1",
                          "-o", str(out), "--report", str(tmp_path / "r.csv")])
    assert status == 1  # no unseen kinds in the sample
    model = sksep.load(out)
    names = [name for name, _ in model.estimator_.steps]
    assert names == ["frontend", "noise_aware", "standardize", "network"]
    assert isinstance(model.front_end_, sksep.features.CochleagramTransformer)
    assert isinstance(model.estimator_[-1], sksep.models.CNN1Regressor)
    assert model.estimator_[-1].context == (4, 4)
    convs = [m for m in model.estimator_[-1].module_.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [24, 48, 96, 96, 96]


def test_exclude_speakers_drops_matching_training_speakers_and_refuses_typos(script):
    args = script.parse_args(["--corpus", "sample", "--sr", "8000",
                              "--exclude-speakers", "all*,carlo"])
    speech, _ = script.load_data(args)
    full, _ = sksep.datasets.load_sample(sr=8000)
    kept = set(speech.train.column("speaker"))
    before = set(full.train.column("speaker"))
    assert {"allison", "carlo"} <= before
    assert kept == before - {"allison", "carlo"}
    # every utterance of the kept speakers stays, and the test split is untouched
    assert len(speech.train) == int(np.isin(full.train.column("speaker"), list(kept)).sum())
    assert len(speech.test) == len(full.test)
    with pytest.raises(sksep.exceptions.ParameterError, match="'carl' matches none"):
        script.drop_speakers(full.train, ["carl"])
    with pytest.raises(sksep.exceptions.ParameterError, match="leaves no training speech"):
        script.drop_speakers(full.train, ["*"])


def test_augment_choices_build_the_named_chains(script):
    from sksep.datasets import Compose, NoiseMix, SpectralTilt, SpeedPerturb, SyntheticNoise

    assert script.build_augment(script.parse_args(["--augment", "none"])) is None
    default = script.build_augment(script.parse_args([]))  # the shipped model's
    assert isinstance(default, SpeedPerturb)
    assert (default.min_rate, default.max_rate, default.prob, default.target) == (
        0.8, 1.25, 0.5, "noise")
    speed = script.build_augment(script.parse_args(
        ["--augment", "speed", "--min-rate", "0.9", "--max-rate", "1.1", "--speed-prob", "0.3"]))
    assert (speed.min_rate, speed.max_rate, speed.prob, speed.sr) == (0.9, 1.1, 0.3, 16000)
    assert isinstance(script.build_augment(script.parse_args(["--augment", "all"])), Compose)
    pool = [np.ones(100, np.float32)]
    mix = script.build_augment(script.parse_args(
        ["--augment", "mix", "--mix-prob", "0.4", "--mix-min-db", "-3", "--mix-max-db", "2"]), pool)
    assert isinstance(mix, Compose)
    noise_mix, speed = mix.augmentations
    assert isinstance(noise_mix, NoiseMix) and isinstance(speed, SpeedPerturb)
    assert noise_mix.pool is pool
    assert (noise_mix.prob, noise_mix.min_db, noise_mix.max_db, speed.prob) == (0.4, -3, 2, 0.5)
    with pytest.raises(ValueError, match="needs the training noise"):
        script.build_augment(script.parse_args(["--augment", "mix"]))
    tilted = script.build_augment(script.parse_args(["--augment", "speed-tilt", "--tilt-db", "4"]))
    speed, tilt = tilted.augmentations
    assert isinstance(speed, SpeedPerturb) and isinstance(tilt, SpectralTilt)
    assert (tilt.max_db_per_octave, tilt.target, tilt.sr) == (4.0, "noise", 16000)
    # the speech is left alone, the noise changes colour
    rng = np.random.default_rng(0)
    clean, noise = rng.normal(size=(2, 16000)).astype(np.float32)
    out_clean, out_noise = tilted(clean, noise, 3)
    assert np.array_equal(out_clean, clean) and not np.allclose(out_noise, noise)
    synth = script.build_augment(script.parse_args(
        ["--augment", "speed-synth", "--synthetic-prob", "1"]))
    speed, synthetic = synth.augmentations
    assert isinstance(speed, SpeedPerturb) and isinstance(synthetic, SyntheticNoise)
    assert (synthetic.prob, synthetic.mode, synthetic.sr) == (1.0, "replace", 16000)
    out_clean, out_noise = synth(clean, noise, 3)
    assert np.array_equal(out_clean, clean)
    assert not np.allclose(out_noise, noise)
    assert np.isclose(np.std(out_noise), np.std(noise), rtol=0.05)


def test_filters_flag_sets_the_cnn_widths(script):
    args = script.parse_args(["--corpus", "sample", "--filters", "4", "8", "16", "16", "16"])
    net = script.build_enhancer(args).estimator[-1]
    assert net.get_params()["module__n_filters"] == (4, 8, 16, 16, 16)
    net.set_params(module__input_shape=(15, 32), module__output_dim=32).initialize()
    convs = [m for m in net.module_.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8, 16, 16, 16]
    # the shipped default doubles CNN_1's own widths; cnn0 keeps its own
    default = script.build_enhancer(script.parse_args(["--corpus", "sample"])).estimator[-1]
    assert default.get_params()["module__n_filters"] == (24, 48, 96, 96, 96)
    cnn0 = script.build_enhancer(script.parse_args(["--corpus", "sample", "--network", "cnn0"]))
    assert "module__n_filters" not in cnn0.estimator[-1].get_params()


@pytest.mark.parametrize(("argv", "message"), [
    (["--filters", "4", "8", "16", "16"], "needs 5 widths for --network cnn1, got 4"),
    (["--network", "cnn0", "--filters", "4", "8", "16", "16", "16"], "needs 4 widths"),
    (["--network", "dnn1", "--filters", "4"], "--network dnn1 has none"),
])
def test_filters_flag_refuses_a_wrong_count_or_network(script, argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        script.parse_args(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


_TINY = ["--corpus", "sample", "--network", "dnn0", "--features", "stft", "--sr", "8000",
         "--n-fft", "128", "--hop-length", "64", "--hidden", "16", "--layers", "1",
         "--context", "1", "--epochs", "3", "--items-per-epoch", "4", "--valid-utterances", "2",
         "--test-utterances", "1", "--dropout", "0.2"]


def test_interrupted_training_resumes_from_its_checkpoint(script, tmp_path, capsys, monkeypatch):
    """Ctrl-C mid-epoch 2 exits 130; the same command resumes and ends as an uninterrupted run."""
    from skorch.callbacks import Callback

    def run(name, *extra):
        out = tmp_path / f"{name}.sksep"
        status = script.main([*_TINY, "-o", str(out), "--report", str(tmp_path / f"{name}.csv"),
                              *extra])
        return status, out

    _, straight = run("straight")
    assert len(list((tmp_path / "straight.sksep.training").glob("*/training_state.pt"))) == 1

    class CtrlC(Callback):
        def on_batch_end(self, net, training=False, **kwargs):
            if training and len(net.history) == 2:
                raise KeyboardInterrupt

    build = script.build_enhancer

    def interrupted(args):
        enhancer = build(args)
        net = enhancer.estimator.steps[-1][1]
        net.set_params(callbacks=[*(net.callbacks or []), ("ctrl_c", CtrlC())])
        return enhancer

    monkeypatch.setattr(script, "build_enhancer", interrupted)
    capsys.readouterr()
    status, out = run("resumed")
    err = capsys.readouterr().err
    assert status == 130 and "run the same command again to resume" in err
    assert not out.exists()  # no half-trained model is saved
    monkeypatch.setattr(script, "build_enhancer", build)
    status, out = run("resumed")
    assert status == 1 and "resumed after epoch 1 from" in capsys.readouterr().out
    a, b = sksep.load(straight).estimator_[-1], sksep.load(out).estimator_[-1]
    assert len(b.history_) == 3 and b.history_[:, "train_loss"] == a.history_[:, "train_loss"]
    for name, tensor in a.module_.state_dict().items():
        assert torch.equal(tensor, b.module_.state_dict()[name]), name
    # another setting of the data is another run, trained afresh beside the first
    capsys.readouterr()
    run("resumed", "--snr-min", "-3")
    assert "resumed after" not in capsys.readouterr().out
    runs = list((tmp_path / "resumed.sksep.training").glob("*/run.json"))
    assert sorted(json.loads(r.read_text())["metadata"]["snr_min"] for r in runs) == ["-3", "-5"]
    # 'none' trains without a checkpoint; cut short, it saves no half-trained model either
    run("fresh", "--checkpoint", "none")
    assert not (tmp_path / "fresh.sksep.training").exists()
    monkeypatch.setattr(script, "build_enhancer", interrupted)
    status, out = run("cut", "--checkpoint", "none")
    assert status == 130 and not out.exists()
    assert "nothing was saved" in capsys.readouterr().err


def test_init_from_starts_from_a_model_files_weights(script, tmp_path, capsys):
    first, second = tmp_path / "first.sksep", tmp_path / "second.sksep"
    script.main([*_TINY, "-o", str(first), "--report", str(tmp_path / "a.csv")])
    # with lr 0 nothing moves: the trained network is the one it started from
    script.main([*_TINY, "--epochs", "1", "--lr", "0", "--init-from", str(first),
                 "-o", str(second), "--report", str(tmp_path / "b.csv")])
    a, b = sksep.load(first).estimator_[-1].module_, sksep.load(second).estimator_[-1].module_
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(p, q), name
    # without --init-from the same command starts elsewhere
    script.main([*_TINY, "--epochs", "1", "--lr", "0", "-o", str(tmp_path / "third.sksep"),
                 "--report", str(tmp_path / "c.csv")])
    c = sksep.load(tmp_path / "third.sksep").estimator_[-1].module_
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))
    capsys.readouterr()
    status = script.main([*_TINY, "--hidden", "8", "--init-from", str(first),
                          "-o", str(tmp_path / "x.sksep"), "--report", str(tmp_path / "x.csv")])
    assert status == 2
    err = capsys.readouterr().err
    assert f"--init-from {first}: its network does not match" in err


def test_mask_exponent_is_chosen_on_the_validation_mixtures(script, tmp_path, capsys):
    out = tmp_path / "m.sksep"
    script.main([*_TINY, "-o", str(out), "--report", str(tmp_path / "a.csv")])
    text = capsys.readouterr().out
    line = next(x for x in text.splitlines() if x.startswith("mask exponent on the validation"))
    scores = {float(k): float(v) for k, v in
              (pair.split(": ") for pair in line.split("(mean STOI): ")[1].split(" -> ")[0]
               .split(", "))}
    assert sorted(scores) == list(script.MASK_EXPONENTS)
    best = max(scores, key=scores.get)
    assert float(line.rsplit("-> ", 1)[1]) == best
    assert sksep.load(out).mask_exponent == best  # saved with the model
    # --evaluate keeps the file's exponent unless one is given
    script.main(["--corpus", "sample", "--test-utterances", "1", "--evaluate", str(out),
                 "--report", str(tmp_path / "b.csv")])
    assert f"mask exponent {best:g}\n" in capsys.readouterr().out
    script.main(["--corpus", "sample", "--test-utterances", "1", "--evaluate", str(out),
                 "--report", str(tmp_path / "c.csv"), "--mask-exponent", "3"])
    assert "mask exponent 3\n" in capsys.readouterr().out
    b, c = pd.read_csv(tmp_path / "b.csv"), pd.read_csv(tmp_path / "c.csv")
    assert not np.allclose(b["stoi_gain"], c["stoi_gain"])
    # 'validate' chooses again on the same validation mixtures; -o saves the model so tuned
    retuned = tmp_path / "retuned.sksep"
    script.main(["--corpus", "sample", "--test-utterances", "1", "--evaluate", str(out),
                 "--report", str(tmp_path / "d.csv"), "--mask-exponent", "validate",
                 "--valid-utterances", "2", "-o", str(retuned)])
    assert line in capsys.readouterr().out
    assert sksep.load(retuned).mask_exponent == best
    with pytest.raises(SystemExit):
        script.parse_args(["--mask-exponent", "-1"])
    assert "expected 'auto', 'validate' or a positive number" in capsys.readouterr().err
