"""Corpora, the bundled sample, and SNR mixing."""

from ._collection import AudioCollection

__all__ = ["AudioCollection"]
