"""identitrack: keep the same person or object linked across video frames.

The public names are imported on first use (PEP 562), so ``import tracker.cli`` stays light:
the ``track`` command installs its Ctrl-C handling before NumPy, SciPy, OpenCV or torch load
(an interrupt inside a C extension's import could abort the process)."""
import importlib

__all__ = ["Detections", "MotionConfig", "OfflineConfig", "Tracker", "TrackerConfig", "Tracks", "TrackState",
           "link_tracklets", "track"]
__version__ = "0.1.0"

#: public name -> the module that defines it
_LAZY = {
    "Detections": "tracker.detections",
    "MotionConfig": "tracker.motion",
    "OfflineConfig": "tracker.offline",
    "Tracker": "tracker.core",
    "TrackerConfig": "tracker.config",
    "Tracks": "tracker.tracks",
    "TrackState": "tracker.tracks",
    "link_tracklets": "tracker.offline",
    "track": "tracker.pipeline",  # OpenCV only when it is used
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tracker' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
