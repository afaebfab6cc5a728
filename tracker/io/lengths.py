"""Sequence lengths (``seqinfo.ini`` ``seqLength``, ``--seq-length``) checked against the data.

A length drives per-frame loops and allocations (``track mot`` runs the tracker on every frame,
``track eval`` builds per-frame arrays), so a typo such as ``100000000000`` would run for days
or ask for hundreds of GiB. Rule: a length may exceed the last frame that holds data (in the
gt, detection or result files) by at most ``MAX_LENGTH_FACTOR`` times that frame or
``MAX_EMPTY_TAIL_FRAMES`` frames, whichever allows more; beyond that it is refused.
"""
from __future__ import annotations

from tracker.errors import InputError

#: a length may be this many times the last frame with data ...
MAX_LENGTH_FACTOR = 2
#: ... or this many frames beyond it (sequences whose last frames are empty), whichever is more
MAX_EMPTY_TAIL_FRAMES = 10_000


def longest_plausible(last_frame: int) -> int:
    """The largest length accepted for data whose last frame is ``last_frame`` (1-based)."""
    return max(MAX_LENGTH_FACTOR * last_frame, last_frame + MAX_EMPTY_TAIL_FRAMES)


def check_length(length: int, last_frame: int, what: str, data: str) -> None:
    """``InputError`` when ``length`` (named ``what``, e.g. ``--seq-length``) is far beyond
    ``last_frame``, the last frame with a row in ``data`` (the files, in words)."""
    limit = longest_plausible(int(last_frame))
    if length > limit:
        raise InputError(f"{what} {length} is far beyond the last frame in {data} ({last_frame}): at most "
                         f"{limit} frames are accepted; check the length", what)
