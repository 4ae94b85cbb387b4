"""The optional compiled helpers (``otelagents/_speedups.c``), with the pure-Python stand-ins used without them.

``pip install`` builds the extension where a C compiler is (setup.py; a failed build is not an error), and
``OTELAGENTS_NO_EXTENSIONS=1`` (or ``true``/``yes``) makes otelagents ignore it, read once when this module is
first imported. Both paths give the same figures; the compiled one is the faster (``python -m benchmarks``,
section 6, measures both).

* ``new_stamps()``: where a stream's chunk arrival times go (``EventTimer.times``): a ``Stamps`` (C doubles),
  else an ``array('d')``. Either keeps no Python float per chunk alive, which a list would (see _speedups.c);
* ``gap_buckets``: the engine's one-pass bucketing of the gaps between those times (``record_gaps``), or None.

Callers read both as attributes of this module at each use, so ``use_compiled`` switches them at run time
(the tests and the benchmarks measure both paths in one process).
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from otelagents._speedups import Stamps

__all__ = ["ENV_NO_EXTENSIONS", "GapSummary", "Times", "compiled_available", "gap_buckets", "in_use",
           "new_stamps", "use_compiled"]

ENV_NO_EXTENSIONS = "OTELAGENTS_NO_EXTENSIONS"
# (count, sum, min, max, stalls, first bucket, per-bucket counts from the first)
GapSummary = tuple[int, float, float, float, int, int, list[int]]
GapBuckets = Callable[[Union[Sequence[float], "Stamps"], tuple[float, ...], float], Union[GapSummary, None]]
Times = Union["Stamps", "array[float]"]


def _float_array() -> array[float]:
    return array("d")


new_stamps: Callable[[], Times] = _float_array
gap_buckets: GapBuckets | None = None


def compiled_available() -> bool:
    """Whether the extension was built and imports (whatever ``OTELAGENTS_NO_EXTENSIONS`` says)."""
    try:
        from otelagents import _speedups  # noqa: F401
    except ImportError:
        return False
    return True


def use_compiled(enabled: bool) -> bool:
    """Use the compiled helpers (when they were built) or the pure-Python ones; returns which is now in use."""
    global new_stamps, gap_buckets
    if enabled and compiled_available():
        from otelagents import _speedups

        new_stamps, gap_buckets = _speedups.Stamps, _speedups.gap_buckets
        return True
    new_stamps, gap_buckets = _float_array, None
    return False


def in_use() -> bool:
    """Whether the compiled helpers are in use now."""
    return gap_buckets is not None


use_compiled(os.environ.get(ENV_NO_EXTENSIONS, "").strip().lower() in ("", "0", "false", "no"))
