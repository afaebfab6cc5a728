"""``track batch``: track many sources in parallel, on a process pool or on Ray."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tracker.errors import InputError

DESCRIPTION = """Track many videos, frame folders, MOTChallenge sequences or cameras in parallel.

SOURCES are video files, folders (their videos and MOTChallenge sequence folders, one level
deep; a folder of images is one source), MOTChallenge sequence folders or roots, stream URLs,
webcam indexes, or text files listing any of these (one per line, # comments; relative paths
are relative to the list file).

Each source gets the files 'track SOURCE' writes (same options, same results: the MOT files
are byte-identical), in DIR/<source stem>/: <stem>.txt, .jsonl, .mp4 (unless --no-video),
.summary.json. Sources sharing a stem get their parent folder's name in front
(DIR/cam1_clip/, DIR/cam2_clip/). A MOTChallenge sequence folder is tracked from its
det/det.txt like 'track mot' (DIR/<SEQ>/<SEQ>.txt + <SEQ>.summary.json; the whole sequence,
--start/--end do not apply); --mot-from frames tracks its img1/ images with the detector.
DIR/batch.summary.json lists every source's outcome. A second batch into the same DIR while
one runs stops at once (exit 2), or waits with --wait; no output ever replaces an input.

Resume: a source whose folder holds a completed summary and all its final files is skipped
(tracked again when its result-deciding settings changed, or with --redo); a source with
only .partial files (a crash, a kill) is tracked again. An interrupted batch (Ctrl-C,
SIGTERM) finishes the files of the sources in flight and starts no more; rerun the same
command to go on.

Engines: 'local' (default) runs --workers processes on this machine; 'ray' runs one Ray actor
per worker, on a local Ray instance it starts (pip install 'identitrack[ray]') or on the
cluster at --address (ray start --head; every node needs identitrack and must see the
sources and DIR at the same paths). Each worker loads the models once. --threads fixes the
detector's and torch's threads per worker (default: the CPUs divided among the workers).

examples:
  track batch ../shared/data/video/ -o out/batch --no-video
  track batch cams.txt clips/ -o out/day1 --workers 2 --threads 1
  track batch ../shared/data/mot -o out/mot                 # every sequence, from det/det.txt
  track batch videos/ -o /shared/out --engine ray --address auto

exit codes: 0 every source done (or complete from before), 2 some source failed because of
its input (others completed), 1 some source failed with an internal error, 3 some source
ended early (a damaged video, a lost stream: results kept), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM)."""


def configure(parser: argparse.ArgumentParser) -> None:
    from tracker.commands.video import add_detector_options, add_time_options, add_tracker_options, add_wait_option
    from tracker.config import ASSOCIATOR_CHOICES_HELP

    parser.add_argument("sources", nargs="+", metavar="SOURCE",
                        help="video file, folder, MOTChallenge sequence/root, URL, webcam index or list file")
    out = parser.add_argument_group("output")
    out.add_argument("-o", "--output-dir", type=Path, required=True, metavar="DIR",
                     help="one folder per source is created in it")
    out.add_argument("--no-video", action="store_true", help="do not write the annotated videos")
    out.add_argument("--codec", default="mp4v", metavar="FOURCC", help="video codec (default: mp4v)")
    out.add_argument("--trail", type=int, default=20, metavar="N",
                     help="motion trail length in frames (0: none; default 20)")
    out.add_argument("--redo", action="store_true", help="track every source again, also complete ones")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no report (errors only)")
    add_wait_option(out)
    eng = parser.add_argument_group("engine")
    eng.add_argument("--engine", choices=("local", "ray"), default="local",
                     help="local: a process pool on this machine (default); ray: Ray actors")
    eng.add_argument("--address", metavar="ADDR",
                     help="Ray: join this cluster (auto, HOST:6379 or ray://HOST:10001) instead of starting "
                          "a local instance")
    eng.add_argument("--workers", type=int, metavar="N",
                     help="parallel workers (default: CPUs / --threads; Ray: the cluster's CPUs / --threads)")
    eng.add_argument("--threads", type=int, metavar="N",
                     help="detector (onnxruntime) and torch threads per worker (default: CPUs / --workers, "
                          "else 1)")
    mot = parser.add_argument_group("MOTChallenge sequences")
    mot.add_argument("--mot-from", choices=("det", "frames"), default="det",
                     help="det: track a sequence folder from det/<det-name> like 'track mot' (default); "
                          "frames: from its img1/ images with the detector like 'track SEQ'")
    mot.add_argument("--det-name", default="det.txt", metavar="FILE",
                     help="detection file inside <SEQ>/det/ (default: det.txt)")
    det = parser.add_argument_group("detector (default: the embedded people detector)")
    det.add_argument("--onnx", type=Path, metavar="MODEL.onnx", help="a YOLO-style ONNX detector")
    add_detector_options(det, det_file="det-file sequences",
                         det_file_threshold="det-file sequences: keep all, as 'track mot'")
    time_ = parser.add_argument_group("frames and time (video, frame and live sources)")
    add_time_options(time_, fps_help="frame rate when a source does not say")
    add_tracker_options(parser, ASSOCIATOR_CHOICES_HELP + "; 'default' = the video default (the core) for "
                                "videos and the 'track mot' default (learned) for det-file sequences")


def _positive(value, option: str):
    if value is not None and value < 1:
        raise InputError(f"{option} must be >= 1, got {value}")
    return value


def _absolute(path):
    return None if path is None else os.path.abspath(os.fspath(path))


def build_settings(args):
    """Parsed options -> ``WorkerSettings`` (every option error is an ``InputError`` now,
    before any worker starts): the ``RunSpec`` that ``track SOURCE`` would build from the same
    options, with absolute paths, sent to every worker."""
    from tracker.batch.engines import available_cpus
    from tracker.batch.worker import WorkerSettings
    from tracker.commands.video import spec_from_args
    from tracker.run import build_detector, mot_tracker_config, video_tracker_config

    _positive(args.workers, "--workers")
    _positive(args.threads, "--threads")
    if args.address and args.engine != "ray":
        raise InputError("address is for engine ray (the local engine runs on this machine)", "address",
                         mentions=("engine",))
    cpus = available_cpus()
    threads = args.threads or (max(1, cpus // args.workers) if args.workers else 1)
    spec = spec_from_args(args, output_dir=_absolute(args.output_dir))
    class_names = spec.detector.class_names
    if class_names and Path(class_names).is_file():
        class_names = _absolute(class_names)
    spec = spec.replace(detector=spec.detector.replace(onnx=_absolute(spec.detector.onnx), class_names=class_names,
                                                       threads=threads))
    video_tracker_config(spec)  # the settings of both kinds of source, checked now
    mot_tracker_config(spec)
    if spec.detector.kind == "onnx":
        build_detector(spec.detector)  # the model loads (checked once here, as 'track SOURCE' checks it)
    return WorkerSettings(spec=spec, threads=threads, det_name=args.det_name, wait=args.wait)


def run(args) -> int:
    os.environ.setdefault("OPENCV_LOG_LEVEL", "FATAL")  # workers inherit it: no FFmpeg chatter
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    from tracker.batch import BatchRun, expand_sources, make_engine
    from tracker.io.writers import prepare_output_dir

    settings = build_settings(args)
    tasks, notes = expand_sources(args.sources, args.mot_from, args.det_name)
    if not tasks:
        raise InputError("no sources to track")
    prepare_output_dir(Path(settings.output_dir))
    engine = make_engine(args.engine, settings, args.workers, args.address)
    batch = BatchRun(tasks, settings, engine, redo=args.redo, wait=args.wait)
    try:
        return _run_batch(args, batch, tasks, notes)
    finally:
        batch.release()


def _run_batch(args, batch, tasks, notes) -> int:
    """Run the planned batch under its lock, report, write the summary; the exit code."""
    from tracker.commands.batch_progress import BatchProgress
    from tracker.pipeline import Interrupted, StopSignals

    batch.acquire()
    if not args.quiet:
        for note in notes + batch.notes:
            print(f"note: {note}", file=sys.stderr)
        if batch.skipped:
            print(f"{len(batch.skipped)} of {len(tasks)} source(s) complete from an earlier run: skipped "
                  "(--redo tracks them again)", file=sys.stderr)
    progress = BatchProgress(len(batch.to_run) + len(batch.unusable), quiet=args.quiet)
    try:
        with StopSignals() as stop:
            events = iter(batch)
            try:
                for kind, value in events:
                    if kind == "frames":
                        progress.add_frames(value)
                    elif kind == "result":
                        progress.finished(value)
                    elif kind == "note" and not args.quiet:
                        progress.write(f"note: {value}")
                    if stop.requested and batch.stop_reason is None:
                        progress.write(f"{stop.reason}: finishing the sources in flight (again to stop now)")
                        batch.request_stop(stop.reason)
            except Interrupted as exc:  # a second signal: stop now
                batch.request_stop(signal_name(exc))
                events.close()
    finally:
        progress.close()
        path = batch.write_summary()
    if not args.quiet:
        print(format_report(batch, path.name))
    elif batch.stop_reason:
        print(f"track batch: {batch.stop_reason}; rerun the same command to resume", file=sys.stderr)
    return batch.exit_code()


def signal_name(exc) -> str:
    import signal

    try:
        return signal.Signals(getattr(exc, "signum", signal.SIGINT)).name
    except ValueError:
        return "SIGINT"


def format_report(batch, summary_name: str) -> str:
    """The final report of ``track batch`` (stdout)."""
    from tracker.commands.batch_progress import describe

    c = batch.counts()
    parts = [f"{c['done']} done"]
    if c["skipped"]:
        parts.append(f"{c['skipped']} skipped (complete before)")
    parts.append(f"{c['failed']} failed")
    for key in ("incomplete", "stopped", "not started"):
        if c.get(key):
            parts.append(f"{c[key]} {key}")
    fps = batch.frames_per_second or 0.0
    engine = batch.engine
    head = f"{len(batch.tasks)} source(s): {', '.join(parts)}"
    if engine.workers:
        head += (f"; {batch.frames} frames in {batch.seconds:.1f} s, {fps:.1f} frames/s overall ({engine.name} "
                 f"engine, {engine.workers} worker(s) x {batch.settings.threads} thread(s))")
    lines = [head]
    failed = [r for r in batch.ordered() if r.status == "failed"]
    if failed:
        lines.append("failed:")
        lines.extend(f"  {describe(r)}" for r in failed)
    if batch.stop_reason:
        lines.append(f"interrupted ({batch.stop_reason}): rerun the same command to track the rest")
    lines.append(f"results in {batch.output_dir}/ (one folder per source; {summary_name})")
    return "\n".join(lines)


__all__ = ["DESCRIPTION", "configure", "run", "build_settings", "format_report"]
