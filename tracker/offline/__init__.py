"""The offline identity stage: on a finished run (a file), link tracklets over the whole
recording and fill short gaps (``link_tracklets``); results in, results out, so the streaming
path stays untouched. See ``tracker.offline.stage`` and docs/offline.md."""
from tracker.offline.config import OfflineConfig
from tracker.offline.interpolation import FILLED_SCORE
from tracker.offline.stage import (
    OfflineLinker,
    OfflineResult,
    OfflineStats,
    link_frames,
    link_tracklets,
    row_embeddings,
)
from tracker.offline.tracklets import TrackedFrame

__all__ = ["FILLED_SCORE", "OfflineConfig", "OfflineLinker", "OfflineResult", "OfflineStats", "TrackedFrame",
           "link_frames", "link_tracklets", "row_embeddings"]
