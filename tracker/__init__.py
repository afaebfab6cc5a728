"""identitrack: keep the same person or object linked across video frames."""
from tracker.config import TrackerConfig
from tracker.core import Tracker
from tracker.detections import Detections
from tracker.motion import MotionConfig
from tracker.tracks import Tracks, TrackState

__all__ = ["Detections", "MotionConfig", "Tracker", "TrackerConfig", "Tracks", "TrackState"]
__version__ = "0.1.0"
