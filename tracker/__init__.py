"""identitrack: keep the same person or object linked across video frames."""
from tracker.config import TrackerConfig
from tracker.core import Tracker
from tracker.detections import Detections
from tracker.motion import MotionConfig
from tracker.tracks import Tracks, TrackState

__all__ = ["Detections", "MotionConfig", "Tracker", "TrackerConfig", "Tracks", "TrackState", "track"]
__version__ = "0.1.0"


def __getattr__(name):  # ``tracker.track`` without importing OpenCV until it is used
    if name == "track":
        from tracker.pipeline import track

        return track
    raise AttributeError(f"module 'tracker' has no attribute {name!r}")
