"""Per-lead columns read and written one item at a time on the desk's hot path.

A numpy array indexed from Python pays for a numpy scalar on every access; a memoryview of it
reads and writes plain Python floats, ints and bools with no copy. `Column` is its typed face.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, cast

import numpy as np

T = TypeVar("T", float, int, bool)


class Column(Protocol[T]):
    """A fixed-length column: item access by lead index."""

    def __getitem__(self, index: int, /) -> T: ...

    def __setitem__(self, index: int, value: T, /) -> None: ...

    def __len__(self) -> int: ...


def floats(values: np.ndarray) -> Column[float]:
    """A zero-copy float64 view (the array itself when it is float64 and contiguous)."""
    return cast(Column[float], memoryview(cast(Any, np.ascontiguousarray(values, dtype=np.float64))))


def ints(values: np.ndarray) -> Column[int]:
    """A zero-copy view of an integer array of its own dtype (it must be contiguous)."""
    return cast(Column[int], memoryview(cast(Any, values)))


def bools(values: np.ndarray) -> Column[bool]:
    """A zero-copy view whose items read as Python bools."""
    return cast(Column[bool], memoryview(cast(Any, np.ascontiguousarray(values, dtype=np.bool_))))
