"""Cross-validation that holds out whole speakers and whole noise kinds."""

import itertools

import numpy as np
import pandas as pd

from ..exceptions import ParameterError

_BY = ("both", "speaker", "kind")


def condition_groups(mixtures):
    """The ``(speaker, noise_kind)`` of mixtures as ``groups=`` for :class:`LeaveConditionsOut`.

    Parameters
    ----------
    mixtures : Mixtures or pandas.DataFrame
        Mixtures (from :func:`make_mixtures` or :func:`read_mixtures`), or a
        metadata table with ``speaker`` and ``noise_kind`` columns.

    Returns
    -------
    groups : ndarray of shape (n_mixtures, 2), dtype object
        Column 0 the speaker, column 1 the noise kind, as strings.

    Raises
    ------
    ParameterError
        If a column is missing.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.datasets import AudioCollection, condition_groups, make_mixtures
    >>> rng = np.random.default_rng(0)
    >>> speech = AudioCollection([rng.normal(0, 0.1, 800) for _ in range(2)], 8000,
    ...                          meta={"speaker": ["a", "b"]})
    >>> noise = AudioCollection([rng.normal(0, 0.1, 900)], 8000, meta={"kind": ["hiss"]})
    >>> condition_groups(make_mixtures(speech, noise, snr_db=0, random_state=0)).tolist()
    [['a', 'hiss'], ['b', 'hiss']]
    """
    meta = mixtures if isinstance(mixtures, pd.DataFrame) else getattr(mixtures, "meta", None)
    if not isinstance(meta, pd.DataFrame):
        raise ParameterError(
            f"mixtures must be a Mixtures or a DataFrame, got {type(mixtures).__name__}"
        )
    missing = [c for c in ("speaker", "noise_kind") if c not in meta.columns]
    if missing:
        raise ParameterError(f"mixtures has no column(s) {missing}; columns: {list(meta.columns)}")
    return meta[["speaker", "noise_kind"]].astype(str).to_numpy(dtype=object)


def _check_groups(groups):
    if groups is None:
        raise ParameterError(
            "groups is required: pass condition_groups(mixtures), an (n_samples, 2) array of "
            "(speaker, noise_kind)"
        )
    if isinstance(groups, pd.DataFrame):
        if {"speaker", "noise_kind"} <= set(groups.columns):
            groups = groups[["speaker", "noise_kind"]]
        elif groups.shape[1] >= 2:
            groups = groups.iloc[:, :2]  # as documented: its first two columns
        groups = groups.to_numpy(dtype=object)
    arr = np.asarray(groups, dtype=object)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ParameterError(
            f"groups must have shape (n_samples, 2) holding (speaker, noise_kind), "
            f"got shape {arr.shape}"
        )
    return arr[:, 0].astype(str), arr[:, 1].astype(str)


class LeaveConditionsOut:
    """Cross-validation folds that test on a speaker and a noise kind unseen in training.

    A scikit-learn splitter (use it as ``cv=`` in ``GridSearchCV``,
    ``cross_validate`` ...) for selecting models by how they generalise to new
    conditions rather than by how they fit matched ones. ``groups`` carries
    two labels per sample, the speaker and the noise kind (see
    :func:`condition_groups`).

    Parameters
    ----------
    by : {"both", "speaker", "kind"}, default="both"
        ``"both"``: one fold per (speaker, noise kind) pair; the test set is
        the samples with that speaker **and** that kind, training the samples
        with **neither**. ``"speaker"``: leave one speaker out (the kind is
        ignored). ``"kind"``: leave one noise kind out.
    max_splits : int or None, default=None
        With many speakers and kinds the pairs are many; keep this many folds,
        drawn without replacement with ``random_state``. None keeps them all.
    random_state : int or None, default=None
        Seed of the fold draw when ``max_splits`` is set.

    Notes
    -----
    With ``by="both"``, samples that share exactly one of the held-out labels
    (the held-out speaker in another noise, or another speaker in the held-out
    noise) are in **neither** set of that fold: using them for training would
    leak the condition, and testing on them would measure only half the
    mismatch. Folds whose training or test set would be empty are skipped, so
    ``get_n_splits`` needs ``groups``. The folds are deterministic (sorted
    labels) unless ``max_splits`` draws a subset.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.datasets import LeaveConditionsOut
    >>> groups = np.array([["a", "hiss"], ["a", "music"], ["b", "hiss"], ["b", "music"]])
    >>> cv = LeaveConditionsOut()
    >>> cv.get_n_splits(groups=groups)
    4
    >>> [(train.tolist(), test.tolist()) for train, test in cv.split(np.zeros(4), groups=groups)]
    [([3], [0]), ([2], [1]), ([1], [2]), ([0], [3])]
    """

    def __init__(self, by="both", *, max_splits=None, random_state=None):
        self.by = by
        self.max_splits = max_splits
        self.random_state = random_state

    def __repr__(self):
        return (f"LeaveConditionsOut(by={self.by!r}, max_splits={self.max_splits!r}, "
                f"random_state={self.random_state!r})")

    def _folds(self, groups):
        if self.by not in _BY:
            raise ParameterError(f"by must be one of {_BY}, got by={self.by!r}")
        if self.max_splits is not None and (
            isinstance(self.max_splits, bool) or not isinstance(self.max_splits, (int, np.integer))
            or self.max_splits < 1
        ):
            raise ParameterError(
                f"max_splits must be a positive integer or None, got {self.max_splits!r}"
            )
        speaker, kind = _check_groups(groups)
        speakers, kinds = np.unique(speaker), np.unique(kind)
        if self.by == "speaker":
            pairs = [(s, None) for s in speakers]
        elif self.by == "kind":
            pairs = [(None, k) for k in kinds]
        else:
            pairs = list(itertools.product(speakers, kinds))
        folds = []
        for s, k in pairs:
            same_s = np.ones(len(speaker), bool) if s is None else speaker == s
            same_k = np.ones(len(kind), bool) if k is None else kind == k
            test = same_s & same_k
            train = (~same_s if s is not None else True) & (~same_k if k is not None else True)
            train = np.broadcast_to(train, test.shape)
            if test.any() and train.any():
                folds.append((np.flatnonzero(train), np.flatnonzero(test)))
        if self.max_splits is not None and len(folds) > self.max_splits:
            rng = np.random.default_rng(self.random_state)
            keep = np.sort(rng.choice(len(folds), size=self.max_splits, replace=False))
            folds = [folds[i] for i in keep]
        return folds

    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` index arrays, one pair per fold.

        Parameters
        ----------
        X : sequence
            The samples (only their number is used; it must match ``groups``).
        y : ignored
        groups : array-like of shape (n_samples, 2) or pandas.DataFrame
            Speaker and noise kind per sample; a DataFrame may name them
            ``speaker`` and ``noise_kind`` (else its first two columns are
            used, whatever other columns follow).

        Yields
        ------
        train, test : ndarray of int
        """
        n_groups = len(_check_groups(groups)[0])
        if X is not None and len(X) != n_groups:
            raise ParameterError(f"X has {len(X)} samples but groups has {n_groups} rows")
        yield from self._folds(groups)

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of folds for these ``groups`` (pairs with empty train or test are skipped)."""
        return len(self._folds(groups))
