"""Camera-pipeline example: the streaming API on a webcam, a stream URL or a file.

Two ways to use identitrack inside your own program:

1. ``tracker.track(source)`` opens the source, runs the embedded detector and yields one
   result per frame (frame index, timestamp, tracks) -- the quickest way (``--mode stream``);
2. your own capture loop calling ``Tracker.update(detections, frame=..., timestamp=...)`` with
   any detector -- for pipelines that already own the camera (``--mode loop``).

Both hold one frame at a time, so they run for days on an endless stream.

Run from the repository root::

    python demos/camera_pipeline.py data/vtest.avi --frames 100        # a file
    python demos/camera_pipeline.py 0 --show                           # webcam 0, with a window
    python demos/camera_pipeline.py rtsp://camera.local/stream --mode loop
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402

import tracker  # noqa: E402
from tracker import Tracker  # noqa: E402
from tracker.detectors import default_detector  # noqa: E402
from tracker.errors import InputError  # noqa: E402
from tracker.pipeline import video_config  # noqa: E402
from tracker.viz import Annotator  # noqa: E402


def stream_mode(source, frames: int, show: bool) -> None:
    """The high-level generator: source in, per-frame tracks out."""
    annotator = Annotator() if show else None
    for result in tracker.track(source, end=frames or None):
        tracks = result.tracks
        people = ", ".join(f"#{tid}@({b[0]:.0f},{b[1]:.0f})" for tid, b in zip(tracks.track_ids, tracks.xyxy))
        print(f"frame {result.mot_frame:5d}  t={result.timestamp:7.2f}s  {len(tracks):2d} tracks  {people}")
        if annotator is not None:
            cv2.imshow("identitrack", annotator.draw(result.image, tracks, f"frame {result.mot_frame}"))
            if cv2.waitKey(1) & 0xFF in (27, ord("q")):
                break


def loop_mode(source, frames: int, show: bool) -> None:
    """Your own capture loop: read frames, detect, call ``Tracker.update``."""
    cap = cv2.VideoCapture(int(source) if str(source).isdigit() else str(source))
    if not cap.isOpened():
        raise InputError(f"{source}: cannot open")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    detector = default_detector()  # any callable frame -> Detections works here
    track_engine = Tracker(video_config(frame_rate=fps))
    annotator = Annotator() if show else None
    t0 = time.monotonic()
    n = 0
    while not frames or n < frames:
        ok, frame = cap.read()
        if not ok:
            break
        timestamp = time.monotonic() - t0 if str(source).isdigit() else n / fps  # live: wall clock
        detections = detector(frame)
        tracks = track_engine.update(detections, frame=frame, timestamp=timestamp)
        # tracks.det_index joins each track to the detection row it matched (-1: predicted box)
        print(f"frame {n + 1:5d}  {len(detections):2d} detections -> {len(tracks):2d} tracks "
              f"(ids {tracks.track_ids.tolist()})")
        if annotator is not None:
            cv2.imshow("identitrack", annotator.draw(frame, tracks, f"frame {n + 1}"))
            if cv2.waitKey(1) & 0xFF in (27, ord("q")):
                break
        n += 1
    cap.release()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", nargs="?", default=str(Path(__file__).resolve().parents[1] / "data" / "vtest.avi"),
                    help="webcam index, stream URL or video file (default: data/vtest.avi)")
    ap.add_argument("--mode", choices=("stream", "loop"), default="stream")
    ap.add_argument("--frames", type=int, default=0, help="stop after this many frames (0: until the end)")
    ap.add_argument("--show", action="store_true", help="show the annotated frames (needs a display)")
    args = ap.parse_args()
    source = int(args.source) if args.source.isdigit() else args.source
    try:
        (stream_mode if args.mode == "stream" else loop_mode)(source, args.frames, args.show)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        if args.show:
            cv2.destroyAllWindows()
    return 0


if __name__ == "__main__":
    sys.exit(main())
