"""AudioCollection: waveforms of one sample rate plus one metadata row each.

This is what scikit-learn sees as ``X``: a sequence of 1-D float32 arrays.
Integer indexing gives a waveform; slices, index arrays and boolean masks give
a smaller collection with the matching metadata rows.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validation import check_sr, check_waveform
from ..exceptions import ParameterError

__all__ = ["AudioCollection"]


def _where_mask(column, n, equals):
    """Boolean mask of the ``n`` items whose ``column(key)`` equals each value (or is in a list)."""
    mask = np.ones(n, dtype=bool)
    for key, value in equals.items():
        col = column(key)
        if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
            mask &= np.isin(col, list(value))
        else:
            mask &= col == value
    return mask


class AudioCollection(Sequence):
    """Waveforms at one sample rate, each with a row of metadata.

    Parameters
    ----------
    waveforms : sequence of array-like
        Mono waveforms; each is stored as a float32 1-D array.
    sr : int
        Sample rate of every waveform, in Hz.
    meta : pandas.DataFrame or dict of sequences, optional
        One row per waveform. An ``id`` column is added (``"0"``, ``"1"`` ...)
        when missing.

    Attributes
    ----------
    sr : int
        Sample rate in Hz.
    meta : pandas.DataFrame
        Metadata, one row per waveform, with a fresh ``RangeIndex``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksep.datasets import AudioCollection
    >>> c = AudioCollection([np.zeros(160), np.ones(320)], sr=16000,
    ...                     meta={"speaker": ["a", "b"]})
    >>> len(c), c[1].shape, c.durations
    (2, (320,), array([0.01, 0.02]))
    >>> c[c.column("speaker") == "b"].meta["id"].tolist()
    ['1']
    """

    def __init__(self, waveforms, sr, meta=None):
        self.sr = check_sr(sr)
        self._y = [
            check_waveform(w, name=f"waveforms[{i}]")
            for i, w in enumerate(waveforms)
        ]
        if meta is None:
            meta = pd.DataFrame(index=range(len(self._y)))
        else:
            meta = pd.DataFrame(meta).reset_index(drop=True)
        if len(meta) != len(self._y):
            raise ParameterError(
                f"meta has {len(meta)} rows but there are {len(self._y)} waveforms"
            )
        if "id" not in meta.columns:
            meta.insert(0, "id", [str(i) for i in range(len(self._y))])
        self.meta = meta

    # -- sequence protocol -------------------------------------------------
    def __len__(self):
        return len(self._y)

    def __getitem__(self, index):
        if isinstance(index, numbers.Integral) and not isinstance(index, bool):
            return self._y[index]
        return self.take(self._positions(index))

    def __iter__(self):
        return iter(self._y)

    def __repr__(self):
        return (
            f"AudioCollection(n={len(self)}, sr={self.sr}, "
            f"duration={self.duration:.1f} s, columns={list(self.meta.columns)})"
        )

    def _positions(self, index):
        if isinstance(index, slice):
            return np.arange(len(self))[index]
        idx = np.asarray(index)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise IndexError(
                    f"boolean index has shape {idx.shape}, expected ({len(self)},)"
                )
            return np.flatnonzero(idx)
        if idx.size == 0:
            return idx.astype(int)
        if not np.issubdtype(idx.dtype, np.integer):
            raise IndexError(f"cannot index an AudioCollection with {index!r}")
        return idx.ravel()

    def take(self, indices):
        """Return a new collection holding the items at ``indices`` (in that order)."""
        indices = np.asarray(indices, dtype=int).ravel()
        return type(self)._from_parts(
            [self._y[i] for i in indices], self.sr, self.meta.iloc[indices]
        )

    @classmethod
    def _from_parts(cls, waveforms, sr, meta):
        # trusted, already validated parts: skip the per-sample checks
        obj = cls.__new__(cls)
        obj.sr = sr
        obj._y = list(waveforms)
        obj.meta = meta.reset_index(drop=True)
        return obj

    # -- metadata helpers --------------------------------------------------
    def column(self, name):
        """Metadata column ``name`` as a NumPy array (e.g. speakers, for ``groups=``)."""
        if name not in self.meta.columns:
            raise KeyError(f"no metadata column {name!r}; columns are {list(self.meta.columns)}")
        return self.meta[name].to_numpy()

    def where(self, **equals):
        """Items whose metadata equal the given values, e.g. ``where(speaker="fadg0")``.

        A value may be a list or set, meaning any of them.
        """
        return self[_where_mask(self.column, len(self), equals)]

    @property
    def lengths(self):
        """Number of samples of each waveform."""
        return np.array([len(y) for y in self._y], dtype=int)

    @property
    def durations(self):
        """Duration of each waveform in seconds."""
        return self.lengths / self.sr

    @property
    def duration(self):
        """Total duration in seconds."""
        return float(self.lengths.sum()) / self.sr

    def split(self, test_size=0.2, *, by=None, random_state=None):
        """Split into ``(train, test)`` collections, optionally keeping groups whole.

        Parameters
        ----------
        test_size : float or int, default=0.2
            Share (float in (0, 1)) or number (int) of items, or of groups when
            ``by`` is given, that go to ``test``.
        by : str or None, default=None
            Metadata column whose values never land on both sides (e.g.
            ``"speaker"``), via :class:`sklearn.model_selection.GroupShuffleSplit`.
        random_state : int, RandomState or None, default=None
            Seed of the shuffle.

        Returns
        -------
        train, test : AudioCollection
            Both keep the original item order.

        Examples
        --------
        >>> import numpy as np
        >>> from sksep.datasets import AudioCollection
        >>> c = AudioCollection([np.ones(8)] * 6, 8000, meta={"speaker": list("aabbcc")})
        >>> train, test = c.split(test_size=1, by="speaker", random_state=0)
        >>> len(train), len(test), set(train.column("speaker")) & set(test.column("speaker"))
        (4, 2, set())
        """
        train, test = self._split_positions(test_size, by, random_state)
        return self.take(train), self.take(test)

    def _split_positions(self, test_size, by, random_state):
        from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit

        if by is None:
            splitter, groups = ShuffleSplit(1, test_size=test_size, random_state=random_state), None
        else:
            groups = self.column(by)
            splitter = GroupShuffleSplit(1, test_size=test_size, random_state=random_state)
        try:
            train, test = next(splitter.split(np.zeros(len(self)), groups=groups))
        except ValueError as exc:
            raise ParameterError(f"cannot split {len(self)} items with test_size={test_size!r}: "
                                 f"{exc}") from exc
        return np.sort(train), np.sort(test)

    def to_list(self):
        """The waveforms as a plain list of float32 arrays."""
        return list(self._y)

    def resample(self, sr):
        """Return a copy at sample rate ``sr`` (soxr, as librosa does)."""
        from ..io import resample

        sr = check_sr(sr)
        if sr == self.sr:
            return self._from_parts(self._y, sr, self.meta)
        return self._from_parts([resample(y, self.sr, sr) for y in self._y], sr, self.meta)

    @classmethod
    def concat(cls, collections):
        """Join collections of one sample rate into one."""
        collections = list(collections)
        if not collections:
            raise ParameterError("concat needs at least one collection")
        rates = {c.sr for c in collections}
        if len(rates) != 1:
            raise ParameterError(f"cannot concatenate collections of sample rates {sorted(rates)}")
        waves = [y for c in collections for y in c._y]
        meta = pd.concat([c.meta for c in collections], ignore_index=True)
        return cls._from_parts(waves, rates.pop(), meta)
