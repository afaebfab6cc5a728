"""``track SOURCE``: track a video file, a folder of frames, a webcam or a stream to files."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tracker import exit_codes
from tracker.camera_motion import AUTO_METHOD, CMC_METHODS
from tracker.config import ASSOCIATOR_CHOICES_HELP, ASSOCIATORS
from tracker.errors import InputError
from tracker.io.sources import DEFAULT_RETRIES, DEFAULT_RETRY_BACKOFF_S
from tracker.shots import SHOT_CUT_METHODS
from tracker.status import RunStatus

DESCRIPTION = """Track people (or your detector's classes) through a video and write the results.

SOURCE is a video file, a folder of frames (a MOTChallenge sequence folder or its img1/),
a webcam index (0) or a stream URL (rtsp://..., http://...).

Writes into --output-dir (default: <stem>_tracks/ beside the input; inputs are never
overwritten):
  <stem>.txt           MOTChallenge results: frame,id,x,y,w,h,score,-1,-1,-1 (frame = decoded index + 1);
                       score -1 on rows filled by interpolation
  (for a file, identities are linked over the whole file when it ends; --online: as they come)
  <stem>.jsonl         one JSON line per frame: tracks with id, box (x1,y1,x2,y2), score, class, state
  <stem>.mp4           the annotated video (boxes, IDs in stable colours, trails, frame counter)
  <stem>.summary.json  how the run ended, frames, tracks, frames/s, time per stage
While running, files are named <stem>.txt.partial, <stem>.jsonl.partial and <stem>.partial.mp4;
they get their final names when the run ends or is interrupted (Ctrl-C, SIGTERM). After a
crash or a full disk only .partial files remain (whole lines). A second run writing the same
<stem> files into the folder meanwhile stops at once (exit 2), or waits with --wait.

Detectors: the embedded people detector (default, offline), --detections det.txt (a
MOTChallenge detection file, frame = decoded index + 1) or --onnx model.onnx (YOLOv8 / YOLOv5
/ YOLOX exports).

examples:
  track data/vtest.avi
  track data/vtest.avi --end 10s --no-video --output-dir out/vtest
  track ../shared/data/video/TUD-Campus.mp4 --detections ../shared/data/mot/TUD-Campus/det/det.txt -o out/tud
  track clip.mp4 --onnx yolov8n.onnx --classes person,car --score-threshold 0.3
  track rtsp://camera.local/stream --timeout 5 --show

exit codes: 0 done, 2 bad input or unusable output (not writable, disk full),
            3 stopped early: the video stopped decoding or the stream was lost (results kept),
            130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 1 internal error.
See docs/reliability.md for how each kind of bad input and fault is handled."""

ESCAPE_KEYS = (27, ord("q"), ord("Q"))


ASSOCIATOR_HELP = ASSOCIATOR_CHOICES_HELP + "; 'default' = the video default: the core (docs/video.md)"


def add_tracker_options(parser: argparse.ArgumentParser, associator_help: str = ASSOCIATOR_HELP) -> None:
    """The tracker option group shared by ``track SOURCE`` and ``track batch``."""
    trk = parser.add_argument_group("tracker")
    trk.add_argument("--appearance", choices=("auto", "on", "off"), default="auto",
                     help="use the appearance embedder: auto = when it is installed (default)")
    trk.add_argument("--associator", choices=ASSOCIATORS + ("default",), default="default",
                     help=associator_help)
    trk.add_argument("--cmc", choices=CMC_METHODS, default="auto",
                     help="camera-motion compensation: the global motion between frames (estimated on the "
                          "background, detections masked out) moves every track before matching; auto = "
                          f"{AUTO_METHOD} (sparse optical flow + RANSAC), ecc = ECC image alignment, off = none. "
                          "Only where frames exist (not for a detection file alone); the transform per frame is in "
                          "the JSONL, the counts in the summary (default: auto)")
    trk.add_argument("--online", action="store_true",
                     help="write the online tracker's results as they come; default for a file: link the "
                          "tracklets over the whole file and fill short gaps when it ends (docs/offline.md)")
    trk.add_argument("--shot-cuts", choices=SHOT_CUT_METHODS, default="auto",
                     help="hard shot cuts of an edited video: at a cut every track ends, so no identity continues "
                          "by motion into another shot (new IDs after it). Only where frames exist; the shot index "
                          "per frame is in the JSONL, the cut frames in the summary (default: auto)")
    trk.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a TrackerConfig setting, e.g. --set lost_horizon_s=6 or "
                          "--set motion.measurement_noise=0.1 (repeatable)")


def add_wait_option(out) -> None:
    """``--wait``, shared by ``track SOURCE`` and ``track batch``."""
    out.add_argument("--wait", action="store_true",
                     help="when another track run is writing the same files in the output folder, wait for it "
                          "to end (default: stop with an error)")


def add_detector_options(det, det_file: str, det_file_threshold: str) -> None:
    """The detector settings shared by ``track SOURCE`` and ``track batch`` (after ``--onnx``).
    det_file: what the command calls its detection-file input; det_file_threshold: the
    ``--score-threshold`` default for it."""
    from tracker.detectors.onnx_yolo import OUTPUT_FORMATS
    from tracker.io.mot import SCORE_RESCALE_MODES

    det.add_argument("--score-threshold", type=float, metavar="X",
                     help=f"drop detections below this score (default: embedded 0.1, ONNX 0.1, {det_file_threshold})")
    det.add_argument("--tiles", metavar="RxC", default="auto",
                     help="embedded detector: run it on a grid of overlapping tiles (finds small people; "
                          "default auto: the detector's choice for the frame shape; 1x1 = whole frame, fastest)")
    det.add_argument("--classes", metavar="LIST", help="ONNX: keep only these classes (names or ids, comma-separated)")
    det.add_argument("--class-names", metavar="FILE|LIST",
                     help="ONNX: class names (a text file with one per line, or comma-separated)")
    det.add_argument("--input-size", metavar="N|WxH", help="ONNX: network input size (default: the model's, else 640)")
    det.add_argument("--onnx-format", default="auto", choices=OUTPUT_FORMATS,
                     help="ONNX: output layout (default: auto)")
    det.add_argument("--score-rescale", default="auto", choices=SCORE_RESCALE_MODES,
                     help=f"{det_file}: map scores to [0,1] (auto: only when some score is outside)")


def add_time_options(time_, fps_help: str) -> None:
    """The frame and time settings shared by ``track SOURCE`` and ``track batch``."""
    time_.add_argument("--start", metavar="N|Ts", help="first frame (0-based) or time (e.g. 12.5s)")
    time_.add_argument("--end", metavar="N|Ts", help="stop before this frame (0-based) or time (e.g. 60s)")
    time_.add_argument("--stride", type=int, default=1, metavar="K", help="process every K-th frame (default 1)")
    time_.add_argument("--fps", type=float, metavar="F", help=fps_help)
    time_.add_argument("--timeout", type=float, default=10.0, metavar="S",
                       help="seconds a stream may take to open or to deliver a frame (default 10)")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE", help="video file, frame folder, webcam index or stream URL")
    out = parser.add_argument_group("output")
    out.add_argument("-o", "--output-dir", type=Path, metavar="DIR",
                     help="where the files go (default: <stem>_tracks/ beside the input)")
    out.add_argument("--no-video", action="store_true", help="do not write the annotated video")
    out.add_argument("--show", action="store_true", help="show the annotated frames in a window (q or Esc stops)")
    out.add_argument("--codec", default="mp4v", metavar="FOURCC", help="video codec (default: mp4v)")
    out.add_argument("--trail", type=int, default=20, metavar="N",
                     help="motion trail length in frames (0: none; default 20)")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary (errors only)")
    add_wait_option(out)
    det = parser.add_argument_group("detector (default: the embedded people detector)")
    which = det.add_mutually_exclusive_group()
    which.add_argument("--detections", type=Path, metavar="DET.txt",
                       help="read detections from a MOTChallenge file instead of running a detector")
    which.add_argument("--onnx", type=Path, metavar="MODEL.onnx", help="a YOLO-style ONNX detector")
    add_detector_options(det, det_file="detection file", det_file_threshold="detection file: keep all")
    det.add_argument("--threads", type=int, metavar="N", help="CPU threads for the detector (default: all)")
    time_ = parser.add_argument_group("frames and time")
    add_time_options(time_, fps_help="frame rate when the source does not say (overrides the file's; default 30)")
    time_.add_argument("--retries", type=int, default=DEFAULT_RETRIES, metavar="N",
                       help=f"reconnection attempts in a row when a stream stops mid-way (default {DEFAULT_RETRIES}; "
                            "0: stop at once)")
    time_.add_argument("--retry-backoff", type=float, default=DEFAULT_RETRY_BACKOFF_S, metavar="S",
                       help=f"seconds before the first reconnection attempt, doubling after each "
                            f"(default {DEFAULT_RETRY_BACKOFF_S:g})")
    add_tracker_options(parser)
    adapt = parser.add_argument_group("adaptation to this video (appearance)")
    adapt.add_argument("--adapt", nargs="?", const="auto", default=None, metavar="SECONDS",
                       help="track, fine-tune the appearance embedder on this video's own confident tracks for at "
                            "most SECONDS (default: 30%% of the first pass), then track again into "
                            f"<stem>{'.adapted'}.* (the first pass keeps <stem>.*); no labels are read")
    adapt.add_argument("--adapt-steps", type=int, default=None, metavar="N",
                       help="at most N fine-tuning steps (default 400); reproducible when the time bound is not hit")
    adapt.add_argument("--adapt-seed", type=int, default=0, metavar="S", help="seed of the fine-tuning (default 0)")
    adapt.add_argument("--save-embedder", metavar="PATH.pt", help="with --adapt: save the adapted embedder weights")
    adapt.add_argument("--embedder-weights", metavar="PATH.pt",
                       help="embedder weights to use: a file (e.g. saved by --save-embedder for this camera) or "
                            "a shipped name: default, holdout, unlabeled (trained on the unlabeled clips too)")


def _text(value):
    return None if value is None else str(value)


def spec_from_args(args, output_dir=None):
    """The parsed options of ``track SOURCE`` (and ``track batch``) -> ``RunSpec``.
    output_dir: the folder to record (default: ``--output-dir``)."""
    from tracker.run import DetectorSpec, OutputSpec, RunSpec, SourceSpec, parse_settings

    source = SourceSpec(location=str(getattr(args, "source", "")), start=args.start, end=args.end,
                        stride=args.stride, fps=args.fps, timeout_s=args.timeout,
                        retries=getattr(args, "retries", DEFAULT_RETRIES),
                        retry_backoff_s=getattr(args, "retry_backoff", DEFAULT_RETRY_BACKOFF_S))
    detector = DetectorSpec(detections=_text(getattr(args, "detections", None)), onnx=_text(args.onnx),
                            score_threshold=args.score_threshold, tiles=args.tiles, classes=args.classes,
                            class_names=args.class_names, input_size=args.input_size,
                            onnx_format=args.onnx_format, score_rescale=args.score_rescale, threads=args.threads)
    output = OutputSpec(output_dir=_text(args.output_dir if output_dir is None else output_dir),
                        video=not args.no_video, codec=args.codec, trail=args.trail)
    return RunSpec(source=source, detector=detector, output=output, appearance=args.appearance,
                   associator=args.associator, cmc=args.cmc, shot_cuts=args.shot_cuts,
                   overrides=parse_settings(args.set), offline=not getattr(args, "online", False))


def _quiet_opencv() -> None:
    """OpenCV / FFmpeg console chatter (codec probing, missing cameras, stream timeouts)
    duplicates our own messages; a user who sets these variables keeps their choice."""
    user_set = "OPENCV_LOG_LEVEL" in os.environ
    os.environ.setdefault("OPENCV_LOG_LEVEL", "FATAL")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    if not user_set and "cv2" in sys.modules:  # already imported: the variable is read too late
        try:
            from cv2.utils import logging as cv_logging

            cv_logging.setLogLevel(cv_logging.LOG_LEVEL_FATAL)
        except (ImportError, AttributeError):  # pragma: no cover - depends on the OpenCV build
            pass


def _check_show() -> None:
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise InputError("--show needs a display (no DISPLAY / WAYLAND_DISPLAY set)")
    import cv2

    try:
        cv2.namedWindow("track", cv2.WINDOW_NORMAL)
    except cv2.error:
        raise InputError("--show: this OpenCV has no GUI support (opencv-python-headless); "
                         "install opencv-python or drop --show") from None


def preload(args) -> None:
    """Import what ``run`` needs (OpenCV, the detectors, torch for the embedder) while the
    command line defers Ctrl-C (``tracker.commands.startup_signals``)."""
    _quiet_opencv()
    import tracker.detectors  # noqa: F401
    import tracker.detectors.ssdlite  # noqa: F401
    import tracker.io.writers  # noqa: F401
    import tracker.pipeline  # noqa: F401

    if args.appearance != "off":
        try:
            import tracker.embedding  # noqa: F401
        except ImportError:  # appearance 'auto' without torch: run() decides
            pass


def run(args) -> int:
    _quiet_opencv()
    from tracker.run import build_detector, build_source

    spec = spec_from_args(args)
    embedder = _embedder(args)
    collector = None
    if args.save_embedder and args.adapt is None:
        raise InputError("--save-embedder saves the weights adapted by --adapt: give --adapt too")
    if args.save_embedder and Path(args.save_embedder).suffix != ".pt":
        raise InputError(f"--save-embedder {args.save_embedder}: expected a .pt file name")
    if args.adapt is not None:
        from tracker.training.adapt import TrackletCollector

        if args.appearance == "off":
            raise InputError("--adapt fine-tunes the appearance embedder: it needs --appearance auto or on")
        adapt_config = _adapt_config(args)
        collector = TrackletCollector(adapt_config.max_crops, adapt_config.min_score)
    detector = build_detector(spec.detector)
    source = build_source(spec.source)
    code, summary = _track_pass(args, spec, source, detector, embedder, collector)
    if collector is None or summary is None or summary["status"] != RunStatus.COMPLETED:
        return code
    try:
        adapted = _adapt(args, adapt_config, embedder, collector, summary)
    except KeyboardInterrupt:
        print(f"track: adaptation interrupted; the pass-1 results are kept in {summary['output_dir']}/",
              file=sys.stderr)
        return exit_codes.INTERRUPTED_SIGINT
    if adapted is None:
        return code
    source = build_source(spec.source)
    code, _ = _track_pass(args, spec, source, build_detector(spec.detector), adapted, None,
                          name=f"{summary['source']['name']}{ADAPTED_SUFFIX}")
    return code


#: file stem suffix of the second pass of ``--adapt`` (the first pass keeps the plain stem)
ADAPTED_SUFFIX = ".adapted"


def _embedder(args):
    """``--embedder-weights`` (an Embedder) or the ``--appearance`` mode; with ``--adapt`` the
    shipped embedder is required (an Embedder object)."""
    weights = getattr(args, "embedder_weights", None)
    if weights is None and getattr(args, "adapt", None) is None:
        return args.appearance
    from tracker.embedding import Embedder
    from tracker.pipeline import EMBEDDER_THREADS

    if args.appearance == "off" and weights is not None:
        raise InputError("--embedder-weights needs --appearance auto or on")
    return Embedder.from_spec(weights, threads=EMBEDDER_THREADS)


def _adapt_config(args):
    """``--adapt [SECONDS]``, ``--adapt-steps``, ``--adapt-seed`` -> ``AdaptConfig``."""
    from tracker.training.adapt import AdaptConfig

    try:
        seconds = None if args.adapt == "auto" else float(args.adapt)
        steps = {} if args.adapt_steps is None else {"max_steps": args.adapt_steps}
        return AdaptConfig(seconds=seconds, seed=args.adapt_seed, **steps)
    except ValueError as exc:
        raise InputError(f"--adapt {args.adapt}: expected seconds >= 0, steps >= 1, seed >= 0 ({exc})") from None


def _adapt(args, config, embedder, collector, summary):
    """Fine-tune ``embedder`` on pass 1's tracklets -> the adapted Embedder, or None (skipped)."""
    from tqdm import tqdm

    from tracker.embedding import Embedder
    from tracker.embedding.inference import save_weights
    from tracker.pipeline import EMBEDDER_THREADS
    from tracker.training.adapt import adapt_embedder

    bound = config.bound(summary["seconds"])
    data = collector.training_set()
    bar = tqdm(total=config.max_steps, disable=args.quiet, file=sys.stderr, unit="step", desc="adapt",
               dynamic_ncols=True)
    try:
        result = adapt_embedder(embedder.trainable_model(), data, config, bound,
                                on_step=lambda step, loss, elapsed: (bar.update(1),
                                                                     bar.set_postfix(loss=f"{loss:.3f}",
                                                                                     s=f"{elapsed:.0f}/{bound:.0f}")))
    finally:
        bar.close()
    if result.model is None:
        print(f"track: adaptation skipped ({result.skipped}); the pass-1 results stand", file=sys.stderr)
        return None
    meta = {**embedder.metadata, "adapted": {"video": summary["source"].get("location"), **result.summary(),
                                             "labels_used": "none (the video's own pass-1 tracks)"}}
    if args.save_embedder:
        save_weights(Path(args.save_embedder), result.model, meta)
    if not args.quiet:
        print(f"adapted the embedder: {result.steps} steps in {result.seconds:.1f} s (bound {bound:.1f} s) on "
              f"{result.tracklets} tracklets, {result.crops} crops" +
              (f"; saved to {args.save_embedder}" if args.save_embedder else ""), file=sys.stderr)
    return Embedder(result.model, meta, threads=EMBEDDER_THREADS)


def _track_pass(args, spec, source, detector, embedder, collector, name=None) -> tuple:
    """One tracking run to files -> (exit code, summary or None); ``collector.add`` sees every
    result (pass 1 of ``--adapt``)."""
    from tracker.io.writers import OutputError
    from tracker.pipeline import Interrupted, StopSignals
    from tracker.run import build_file_run

    try:
        if args.show:
            _check_show()
        job = build_file_run(spec, source, detector, embedder=embedder, keep_annotated=args.show,
                             wait=args.wait, name=name)
    except BaseException:
        source.close()
        raise
    shown_notes = job.session.notes + job.info.notes
    if not args.quiet:
        for note in shown_notes:
            print(f"note: {note}", file=sys.stderr)
    in_loop = [True]
    output_error = None
    try:
        # a second Ctrl-C stops at once, but not while a frame's results or the final files are
        # being written (then the run is about to stop anyway)
        with StopSignals(hold=lambda: job.busy or not in_loop[0]) as stop, job:
            progress = _progress(job, args.quiet)
            try:
                for result in job:
                    progress.update(1)
                    if collector is not None:
                        collector.add(result)
                    if args.show and result.annotated is not None:
                        import cv2

                        cv2.imshow("track", result.annotated)
                        if (cv2.waitKey(1) & 0xFF) in ESCAPE_KEYS:
                            job.stop(RunStatus.STOPPED_BY_USER)
                            break
                    if stop.requested:
                        job.stop(stop.reason)
                        break
            finally:
                in_loop[0] = False
                progress.close()
    except Interrupted:
        pass  # a second signal: the files were finished on the way out
    except OutputError as exc:  # a full disk or a vanished folder: the .partial files keep the results
        output_error = exc
    finally:
        if args.show:
            import cv2

            cv2.destroyAllWindows()
    summary = job.summary
    if summary is None:
        if output_error is not None:
            raise output_error
        return exit_codes.INTERNAL_ERROR, None
    late = [n for n in summary.get("notes", []) if n not in shown_notes]
    status = summary["status"]
    if status == RunStatus.OUTPUT_ERROR:
        done, kept = summary["frames_processed"], summary["frames_in_files"]
        which = "their results are" if kept == done else f"the results of {kept} of them are"
        print(f"track: error: {output_error or summary.get('error')}\ntrack: {done} frames were processed; "
              f"{which} kept in the .partial files in {summary['output_dir']}/", file=sys.stderr)
        return exit_codes.BAD_INPUT, summary
    if not args.quiet:
        for note in late:
            print(f"note: {note}", file=sys.stderr)
        print(format_summary(summary))
    elif not RunStatus(status).completed:
        print(f"track: {status_text(status)}", file=sys.stderr)
        for note in late:
            print(f"note: {note}", file=sys.stderr)
    if summary["frames_processed"] == 0 and RunStatus(status).completed:
        print(f"track: warning: 0 frames processed (the source has no frame in the range asked for: "
              f"--start {args.start or 0}, --end {args.end or 'the end'})", file=sys.stderr)
        return exit_codes.INCOMPLETE, summary
    return int(summary["exit_code"]), summary


def _progress(job, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=job.expected_frames, disable=quiet, file=sys.stderr, unit="frame", dynamic_ncols=True,
                desc=job.info.name, smoothing=0.1)


def status_text(status: str) -> str:
    """What ``track`` says for a run summary's ``status``."""
    known = RunStatus.parse(status)
    return known.text if known is not None else str(status)


def format_summary(s: dict) -> str:
    """The final report printed by ``track SOURCE``."""
    fps = s.get("frames_per_second") or 0.0
    share = s.get("stage_share", {})
    stages = ", ".join(f"{k} {100 * v:.0f}%" for k, v in share.items() if v >= 0.005)
    lines = [
        f"{status_text(s['status'])}: {s['frames_processed']} frames, {s['tracks']} tracks, "
        f"{fps:.1f} frames/s ({stages})",
        f"files in {s['output_dir']}/: " + ", ".join(s["files"].values()),
    ]
    return "\n".join(lines)
