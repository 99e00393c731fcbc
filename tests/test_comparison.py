"""The model comparison's held-out noise kind and its matched / unseen report.

The full comparison takes minutes; these tests use the bundled sample with a
one-epoch DNN_0 on four test utterances at one SNR.
"""

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from sksep._report import summarise
from sksep.comparison import FULL, QUICK, ComparisonSettings, conditions, make_data, run_comparison
from sksep.exceptions import ParameterError

TINY = dataclasses.replace(
    QUICK, snrs=(0.0,), n_train_utterances=8, n_test_utterances=4, max_epochs=1, patience=1
)


def test_full_and_quick_hold_out_music():
    assert FULL.heldout_kinds == QUICK.heldout_kinds == ("music",)
    # the held-out kinds are part of the cache key: runs without them are not reused
    assert dataclasses.replace(FULL, heldout_kinds=()).key() != FULL.key()


def test_heldout_kinds_is_a_tuple_of_names():
    assert ComparisonSettings(heldout_kinds="music").heldout_kinds == ("music",)
    assert ComparisonSettings(heldout_kinds=["music", "babble"]).heldout_kinds == (
        "music", "babble")
    with pytest.raises(ParameterError, match="heldout_kinds"):
        ComparisonSettings(heldout_kinds=("music", 3))


def test_held_out_kind_never_in_the_training_mixtures():
    train, test = make_data(QUICK)
    train_kinds = set(train.meta["noise_kind"])
    assert "music" not in train_kinds
    assert len(train_kinds) >= 4  # the other kinds are still there
    cond = conditions(test.meta["noise_kind"], QUICK.heldout_kinds)
    # the test mixtures keep every kind: both conditions are there
    assert set(cond) == {"matched", "unseen"}
    assert set(test.meta["noise_kind"][cond == "unseen"]) == {"music"}
    assert not set(test.meta["noise_kind"][cond == "matched"]) - train_kinds


def test_unknown_or_all_kinds_held_out_are_refused():
    with pytest.raises(ParameterError, match="trumpet"):
        make_data(dataclasses.replace(TINY, heldout_kinds=("trumpet",)))
    every = ("ambience", "babble", "hiss", "machine", "music", "percussion")
    with pytest.raises(ParameterError, match="no training noise"):
        make_data(dataclasses.replace(TINY, heldout_kinds=every))


def test_summary_splits_the_means_by_condition():
    results = pd.DataFrame({
        "system": ["a"] * 3,
        "snr_db": [0.0] * 3,
        "condition": ["matched", "matched", "unseen"],
        **{f"{m}": [0.5, 0.7, 0.9] for m in ("stoi", "estoi", "pesq", "si_sdr")},
        **{f"{m}_noisy": [0.4, 0.4, 0.6] for m in ("stoi", "estoi", "pesq", "si_sdr")},
    })
    row = summarise(results).iloc[0]
    assert row.n == 3 and row.n_matched == 2 and row.n_unseen == 1
    assert row.stoi_gain == pytest.approx((0.1 + 0.3 + 0.3) / 3)
    assert row.stoi_gain_matched == pytest.approx(0.2)
    assert row.pesq_gain_unseen == pytest.approx(0.3)
    assert row.stoi_noisy_unseen == pytest.approx(0.6)
    # a condition without mixtures is NaN, not zero
    only = summarise(results[results.condition == "matched"]).iloc[0]
    assert only.n_unseen == 0 and np.isnan(only.stoi_gain_unseen)


@pytest.mark.slow
def test_report_puts_matched_and_unseen_side_by_side(tmp_path):
    out = tmp_path / "report"
    results = run_comparison(
        out, cache_dir=tmp_path / "cache", settings=TINY, networks=("DNN_0",),
        features=("stft",), n_jobs=1, verbose=False,
    )
    assert set(results["condition"]) == {"matched", "unseen"}
    assert (results["condition"] == "unseen").equals(results["noise_kind"] == "music")
    # results are cached per sksep version and settings
    from sksep import __version__

    assert any((tmp_path / "cache" / __version__ / TINY.key() / "results").iterdir())

    summary = pd.read_csv(out / "summary.csv")
    cols = [f"{m}_gain_{c}" for m in ("stoi", "pesq") for c in ("matched", "unseen")]
    assert np.isfinite(summary[cols].to_numpy()).all()
    # the per-condition means are those of the per-utterance rows
    net = results[results.system == "DNN_0, stft"]
    unseen = net[net.condition == "unseen"]
    row = summary[summary.system == "DNN_0, stft"].iloc[0]
    assert row.stoi_gain_unseen == pytest.approx((unseen.stoi - unseen.stoi_noisy).mean())
    # and the plain columns still average over every test mixture
    assert row.stoi_gain == pytest.approx((net.stoi - net.stoi_noisy).mean())

    readme = (out / "README.md").read_text()
    assert "| system | matched: STOI gain | matched: PESQ gain | unseen: STOI gain | " \
           "unseen: PESQ gain |" in readme
    assert "**music**" in readme and "music (unseen)" in readme
    table = readme.split("## Matched and unseen noise")[1].split("## All test mixtures")[0]
    rows = [line for line in table.splitlines() if line.startswith("| DNN_0, stft |")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("|").split("|")][1:]
    assert len(cells) == 4 and all(re.fullmatch(r"[+-]\d+\.\d+", c) for c in cells)
    assert "Held out of training (`heldout_kinds`): music." in readme


@pytest.mark.slow
def test_force_retrains_from_epoch_1_and_recomputes_the_features(tmp_path, capsys):
    """``--force`` is the remedy after code changes: nothing of the cache may be reused, not
    the networks' saved training state (a finished run would be restored) nor the features."""
    import json

    from sksep._report import slug

    kwargs = dict(cache_dir=tmp_path / "cache", settings=TINY, networks=("DNN_0",),
                  features=("stft",), n_jobs=1)
    run_comparison(tmp_path / "report", **kwargs)
    capsys.readouterr()
    cache = tmp_path / "cache"
    [meta] = cache.glob(f"*/*/results/{slug('DNN_0, stft')}.json")
    first = json.loads(meta.read_text())["history"]
    [features] = cache.glob("*/*/features")
    (features / "marker").write_text("features of older code")
    [training] = cache.glob("*/*/training")
    assert list(training.rglob("training_state.pt"))  # the finished run's state is there

    run_comparison(tmp_path / "report", force=True, **kwargs)
    log = capsys.readouterr().out
    assert "training DNN_0" in log and "resumed" not in log and ": cached" not in log
    again = json.loads(meta.read_text())["history"]
    assert [row["epoch"] for row in again] == [1]
    assert again[0]["dur"] != first[0]["dur"]  # trained anew, not restored from the state
    assert not (features / "marker").exists()
