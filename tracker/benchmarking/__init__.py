"""Benchmarks: ours against the established trackers on identical inputs (``track bench``).

* :mod:`tracker.benchmarking.adapters` - one small interface (``TrackerAdapter``) over our
  ``Tracker`` and the peers of Roboflow's ``trackers`` package (SORT, ByteTrack, OC-SORT,
  BoT-SORT), each timing only its own ``update``;
* :mod:`tracker.benchmarking.runner` - the per-sequence loop shared by every tracker (same
  detections, same frames, same frame rate) and the whole side-by-side run;
* :mod:`tracker.benchmarking.synthetic` - synthetic scenes of moving, crossing, entering and
  leaving objects;
* :mod:`tracker.benchmarking.scaling` - time per frame against the object count, and resident
  memory over a long stream;
* :mod:`tracker.benchmarking.report` - tables, JSON, plots and ``docs/benchmarks.md``.

These are benchmarks, not tests: they measure and print, and never fail on a number.
"""
from tracker.benchmarking.adapters import (
    ALL_TRACKERS,
    PEER_TRACKERS,
    FrameOutput,
    OursAdapter,
    PeerAdapter,
    PeerUnavailable,
    TrackerAdapter,
    make_adapter,
    peers_version,
)

__all__ = ["ALL_TRACKERS", "PEER_TRACKERS", "FrameOutput", "OursAdapter", "PeerAdapter", "PeerUnavailable",
           "TrackerAdapter", "make_adapter", "peers_version"]
