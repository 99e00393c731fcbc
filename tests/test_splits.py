"""LeaveConditionsOut: folds that hold out a speaker and a noise kind together."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, cross_validate

from sksep.baselines import SpectralSubtraction
from sksep.datasets import (
    AudioCollection,
    LeaveConditionsOut,
    Mixtures,
    condition_groups,
    load_sample,
    make_mixtures,
)
from sksep.exceptions import ParameterError
from sksep.metrics import stoi_scorer


@pytest.fixture(scope="module")
def mixtures():
    """Two utterances per training speaker of the bundled sample, on every training noise kind."""
    speech, noise = load_sample(sr=8000)
    train = speech.train
    keep = np.concatenate([np.flatnonzero(train.column("speaker") == s)[:2]
                           for s in np.unique(train.column("speaker"))])
    short = AudioCollection([y[:8000] for y in train[keep]], 8000, train.meta.iloc[keep])
    kinds = noise.train.column("kind")
    first = [int(np.flatnonzero(kinds == k)[0]) for k in np.unique(kinds)]
    parts = [make_mixtures(short, noise.train[[i]], snr_db=0, random_state=i) for i in first]
    return Mixtures(*(AudioCollection.concat([getattr(p, part) for p in parts])
                      for part in ("noisy", "clean", "noise")))


def test_folds_share_neither_speaker_nor_kind(mixtures):
    groups = condition_groups(mixtures)
    assert groups.shape == (len(mixtures), 2)
    n_speakers, n_kinds = len(set(groups[:, 0])), len(set(groups[:, 1]))
    assert n_speakers == 3 and n_kinds >= 5
    cv = LeaveConditionsOut()
    folds = list(cv.split(mixtures.noisy, groups=groups))
    assert len(folds) == cv.get_n_splits(groups=groups) == n_speakers * n_kinds
    for train, test in folds:
        assert len(train) and len(test)
        assert not set(train) & set(test)
        test_s, test_k = set(groups[test, 0]), set(groups[test, 1])
        assert len(test_s) == 1 and len(test_k) == 1
        assert not test_s & set(groups[train, 0])
        assert not test_k & set(groups[train, 1])
        # everything not in train or test shares exactly one held-out label
        dropped = np.setdiff1d(np.arange(len(groups)), np.concatenate([train, test]))
        same_s = np.isin(groups[dropped, 0], list(test_s))
        shares = same_s ^ np.isin(groups[dropped, 1], list(test_k))
        assert shares.all()
    # every sample is tested exactly once across the folds
    tested = np.sort(np.concatenate([test for _, test in folds]))
    np.testing.assert_array_equal(tested, np.arange(len(groups)))


def test_by_speaker_and_kind_and_dataframe(mixtures):
    frame = mixtures.meta[["noise_kind", "speaker"]]  # named columns, any order
    by_s = list(LeaveConditionsOut(by="speaker").split(mixtures.noisy, groups=frame))
    assert len(by_s) == 3
    for train, test in by_s:
        assert len(train) + len(test) == len(mixtures)
    by_k = LeaveConditionsOut(by="kind").get_n_splits(groups=frame)
    assert by_k == len(set(mixtures.noise_kind))


def test_unnamed_dataframe_uses_its_first_two_columns():
    """As split's docstring says; a third column used to raise 'got shape (n, 3)'."""
    rows = [["a", "hiss"], ["a", "music"], ["b", "hiss"], ["b", "music"]]
    frame = pd.DataFrame([[s, k, f"extra{i}"] for i, (s, k) in enumerate(rows)],
                         columns=["who", "what", "note"])
    cv = LeaveConditionsOut()
    expected = [(t.tolist(), v.tolist()) for t, v in cv.split(np.zeros(4), groups=np.array(rows))]
    got = [(t.tolist(), v.tolist()) for t, v in cv.split(np.zeros(4), groups=frame)]
    assert got == expected == [([3], [0]), ([2], [1]), ([1], [2]), ([0], [3])]
    assert cv.get_n_splits(groups=frame) == 4
    assert LeaveConditionsOut(by="kind").get_n_splits(groups=frame) == 2  # "what", not "note"
    with pytest.raises(ParameterError, match=r"shape \(4, 1\)"):
        cv.get_n_splits(groups=frame[["who"]])


def test_max_splits_is_seeded(mixtures):
    groups = condition_groups(mixtures)
    a = [t.tolist() for _, t in LeaveConditionsOut(max_splits=4, random_state=1).split(
        None, groups=groups)]
    b = [t.tolist() for _, t in LeaveConditionsOut(max_splits=4, random_state=1).split(
        None, groups=groups)]
    assert len(a) == 4 and a == b


def test_bad_arguments():
    with pytest.raises(ParameterError, match="groups is required"):
        LeaveConditionsOut().get_n_splits()
    with pytest.raises(ParameterError, match="shape"):
        LeaveConditionsOut().get_n_splits(groups=np.array(["a", "b"]))
    with pytest.raises(ParameterError, match="by must be"):
        LeaveConditionsOut(by="snr").get_n_splits(groups=[["a", "x"]])
    with pytest.raises(ParameterError, match="X has 3"):
        list(LeaveConditionsOut().split([1, 2, 3], groups=[["a", "x"], ["b", "y"]]))
    with pytest.raises(ParameterError, match="noise_kind"):
        condition_groups(pd.DataFrame({"speaker": ["a"]}))


def test_cross_validate_and_grid_search(mixtures):
    groups = condition_groups(mixtures)
    cv = LeaveConditionsOut(max_splits=2, random_state=0)
    res = cross_validate(SpectralSubtraction(sr=8000, n_fft=256), mixtures.noisy, mixtures.clean,
                         groups=groups, cv=cv, scoring=stoi_scorer)
    assert res["test_score"].shape == (2,)
    assert np.isfinite(res["test_score"]).all() and (res["test_score"] > 0).all()
    search = GridSearchCV(SpectralSubtraction(sr=8000, n_fft=256), {"db_reduc": [5, 25]},
                          cv=cv, scoring=stoi_scorer).fit(mixtures.noisy, mixtures.clean,
                                                          groups=groups)
    assert search.best_params_["db_reduc"] in (5, 25)
    assert len(search.cv_results_["split1_test_score"]) == 2
