"""scripts/calibrate_stationary.py end to end with the comparison's QUICK settings."""


import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("single_torch_thread")


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("calibrate_stationary.py")


def test_mixtures_hit_their_snr_and_share_one_clipping_gain(script):
    rng = np.random.default_rng(0)
    y = 0.5 * np.sin(np.arange(4000) / 7.0)
    noisy, clean, snrs = script.mix_with_synthetic([y, y], "white", [-5.0, 10.0], rng,
                                                   draw_snr=False)
    assert snrs == [-5.0, 10.0]
    for x, c, snr in zip(noisy, clean, snrs):
        n = x.astype(np.float64) - c
        measured = 10 * np.log10(np.sum(c.astype(np.float64) ** 2) / np.sum(n ** 2))
        assert measured == pytest.approx(snr, abs=0.01)
        assert np.max(np.abs(x)) <= 0.99 + 1e-6
    # the -5 dB mixture clipped: clean and noisy were scaled together
    assert np.max(np.abs(clean[0])) < 0.5


def test_quick_run_prints_gains_against_the_oracle(script, capsys):
    summary = script.main(["--quick", "--n-jobs", "1"])
    out = capsys.readouterr().out
    assert "DNN_0 on stft: trained on 24 mixtures with white noise" in out
    assert summary["snr_db"].tolist() == [-5.0, 0.0, 5.0]
    assert (summary["n"] == 3).all()
    assert (summary["oracle_stoi_gain"] > 0.1).all()
    fraction = summary["stoi_gain"] / summary["oracle_stoi_gain"]
    np.testing.assert_allclose(summary["oracle_fraction"], fraction, atol=0.02)
