"""scripts/calibrate_stationary.py end to end with the comparison's QUICK settings."""


import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("single_torch_thread")


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("calibrate_stationary.py")


def test_noise_draws_are_independent_unit_rms_draws(script):
    draws = script.noise_draws("pink", 3, 4000, np.random.default_rng(0))
    assert [d.shape for d in draws] == [(4000,)] * 3
    np.testing.assert_allclose([np.sqrt(np.mean(d.astype(float) ** 2)) for d in draws], 1.0,
                               rtol=1e-3)
    assert abs(np.corrcoef(draws[0], draws[1])[0, 1]) < 0.2


def test_quick_run_prints_gains_against_the_oracle(script, capsys):
    summary = script.main(["--quick", "--n-jobs", "1"])
    out = capsys.readouterr().out
    assert "DNN_0 on stft: trained on 24 mixtures with white noise" in out
    assert summary["snr_db"].tolist() == [-5.0, 0.0, 5.0]
    assert (summary["n"] == 3).all()
    assert (summary["oracle_stoi_gain"] > 0.1).all()
    fraction = summary["stoi_gain"] / summary["oracle_stoi_gain"]
    np.testing.assert_allclose(summary["oracle_fraction"], fraction, atol=0.02)


def test_recordings_option_mixes_the_samples_test_noise_in_training_and_test(script, capsys,
                                                                            monkeypatch):
    from sksep import datasets

    used = []
    real = datasets.make_mixtures

    def spy(speech, noise, **kw):
        used.append([len(y) for y in noise])
        return real(speech, noise, **kw)

    monkeypatch.setattr(datasets, "make_mixtures", spy)
    summary = script.main(["--quick", "--n-jobs", "1", "--noise", "recordings"])
    test_noise = [len(y) for y in datasets.load_sample(sr=8000)[1].test]
    assert used == [test_noise, test_noise]  # training and test mixtures: the test recordings
    assert "with recordings noise" in capsys.readouterr().out
    assert {"pesq_noisy", "pesq_gain"} <= set(summary.columns)
    assert summary["pesq_noisy"].between(1.0, 4.6).all()
