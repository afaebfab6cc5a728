"""identitrack: keep the same person or object linked across video frames."""
from tracker.detections import Detections

__all__ = ["Detections"]
__version__ = "0.1.0"
