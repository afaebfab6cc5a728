"""One batch worker: models loaded once, then sources tracked one after another to files.

``Worker(settings)`` lives in a worker process (a process-pool process or a Ray actor). It
loads the detector and the appearance embedder on first use and keeps them for every later
source (``model_loads`` counts the loads: one per model per worker). ``Worker.run(task,
report)`` tracks one ``SourceTask`` and writes ``<output_dir>/<task.folder>/``:

* video, frame-folder, stream and webcam sources: exactly what ``track SOURCE`` writes
  (``<stem>.txt``, ``.jsonl``, ``.mp4`` unless ``video=False``, ``.summary.json``), through the
  same ``tracker.pipeline.FileRun`` with the same detector, embedder and tracker settings, so the
  MOT files are byte-identical to ``track SOURCE`` with the same options;
* MOTChallenge sequences from their detection file (``mot-det``): ``<SEQ>.txt`` exactly as
  ``track mot`` writes it, and a ``<SEQ>.summary.json`` recording completion.

``report(index, frames) -> signal name or None`` is the engine's channel back: frames
processed since the last call (called at most every ``REPORT_EVERY_S`` seconds and once at
the start with 0); a non-None answer (``"SIGINT"``/``"SIGTERM"``) stops the source after the
current frame, with its files finished (a rerun redoes it: its summary is not ``completed``).

Nothing here prints; errors become a failed ``SourceResult``.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional

from tracker.batch.sources import SourceTask
from tracker.errors import InputError
from tracker.run.spec import RunSpec
from tracker.status import BatchStatus, RunStatus

#: seconds between two progress reports of a worker
REPORT_EVERY_S = 0.5
Report = Callable[[int, int], Optional[str]]

DONE, FAILED, INCOMPLETE, STOPPED, SKIPPED, NOT_STARTED = (
    BatchStatus.DONE, BatchStatus.FAILED, BatchStatus.INCOMPLETE, BatchStatus.STOPPED, BatchStatus.SKIPPED,
    BatchStatus.NOT_STARTED)

#: the settings that decide a source's results, by the name its summary records (``options.batch``)
#: -> where the ``RunSpec`` keeps them; thread counts, engines and worker counts are not among them
_FINGERPRINT = {
    "video": ("output", "video"), "codec": ("output", "codec"), "trail": ("output", "trail"),
    "onnx": ("detector", "onnx"), "score_threshold": ("detector", "score_threshold"),
    "tiles": ("detector", "tiles"), "classes": ("detector", "classes"), "class_names": ("detector", "class_names"),
    "input_size": ("detector", "input_size"), "onnx_format": ("detector", "onnx_format"),
    "score_rescale": ("detector", "score_rescale"), "start": ("source", "start"), "end": ("source", "end"),
    "stride": ("source", "stride"), "fps": ("source", "fps"), "appearance": (None, "appearance"),
    "associator": (None, "associator"), "overrides": (None, "overrides"),
}
#: of those, the ones that decide the results of a MOTChallenge sequence tracked from its det file,
#: and of any other source
_MOT_FINGERPRINT = ("associator", "overrides", "det_name", "score_threshold", "score_rescale")
_VIDEO_FINGERPRINT = tuple(name for name in _FINGERPRINT if name != "score_rescale")


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker needs to track a source the way ``track SOURCE`` would.

    spec: the ``RunSpec`` of every source (its source location is set per source; its output
    folder is the batch folder; paths are absolute so that workers on other machines (Ray) find
    them). threads: onnxruntime intra-op threads of the detector and torch's thread count in the
    worker (fixed, so numerics do not depend on the machine). det_name: the detection file of a
    MOTChallenge sequence folder (``<SEQ>/det/<det_name>``).
    wait: wait for another run writing the same files (``--wait``) instead of failing.
    """

    spec: RunSpec
    threads: int = 1
    det_name: str = "det.txt"
    wait: bool = False

    @property
    def output_dir(self) -> str:
        return self.spec.output.output_dir

    def fingerprint(self, kind: str) -> dict:
        """The settings that decide a source's results (recorded in its summary; a completed
        source recorded with other settings is tracked again)."""
        values = {"det_name": self.det_name}
        for name, (part, key) in _FINGERPRINT.items():
            values[name] = getattr(self.spec if part is None else getattr(self.spec, part), key)
        values = {k: values[k] for k in (_MOT_FINGERPRINT if kind == "mot-det" else _VIDEO_FINGERPRINT)}
        values["kind"] = kind
        return json.loads(json.dumps(values, sort_keys=True, default=str))


@dataclass
class SourceResult:
    """How one source ended.

    status: ``done`` | ``failed`` | ``incomplete`` (the video stopped decoding early; results
    kept) | ``stopped`` (the batch was interrupted; files finished) | ``skipped`` (complete
    from an earlier run) | ``not started``; exit_code: what ``track SOURCE`` would return;
    frames: frames processed; seconds: wall time of this source in its worker; worker:
    ``host:pid``; model_loads: models this worker had loaded when it finished the source.
    """

    index: int
    spec: str
    kind: str
    folder: str
    status: str
    exit_code: int = 0
    frames: int = 0
    seconds: float = 0.0
    error: Optional[str] = None
    worker: Optional[str] = None
    model_loads: int = 0
    notes: List[str] = field(default_factory=list)
    details: Optional[str] = None  # a traceback for internal errors

    @classmethod
    def for_task(cls, task: SourceTask, status: str, exit_code: int = 0, error: Optional[str] = None,
                 **kw) -> "SourceResult":
        return cls(task.index, task.spec, task.kind, task.folder, status, exit_code, error=error, **kw)

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    def to_dict(self) -> dict:
        out = {"source": self.spec, "kind": self.kind, "folder": self.folder, "status": self.status,
               "exit_code": self.exit_code, "frames": self.frames, "seconds": round(self.seconds, 3),
               "error": self.error, "worker": self.worker, "model_loads": self.model_loads,
               "notes": list(self.notes)}
        if self.details:
            out["traceback"] = self.details
        return out


def status_of(summary: dict) -> BatchStatus:
    """A ``FileRun`` summary -> the source's batch status (``BatchStatus.of_run``)."""
    return BatchStatus.of_run(summary)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def pin_threads(threads: int) -> None:
    """Fix the thread counts of this process: torch's (when imported, and for a later import
    through ``OMP_NUM_THREADS``) so that numerics do not depend on the machine's core count."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["MKL_NUM_THREADS"] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


class Worker:
    """Tracks sources one at a time with models loaded once (see the module doc)."""

    def __init__(self, settings: WorkerSettings):
        self.settings = settings
        self.model_loads = 0
        self.sources_run = 0
        self._detector = None
        self._detector_error: Optional[BaseException] = None
        self._embed = None
        self._embed_note: Optional[str] = None
        self._embed_error: Optional[BaseException] = None
        self._embed_loaded = False
        self.id = worker_id()
        pin_threads(settings.threads)
        # OpenCV / FFmpeg console chatter duplicates the errors the results carry
        os.environ.setdefault("OPENCV_LOG_LEVEL", "FATAL")
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

    # ------------------------------------------------------------------ models (once)
    def detector(self):
        """The detector ``track SOURCE`` would build from the same options (loaded once)."""
        if self._detector is None and self._detector_error is None:
            try:
                from tracker.run import build_detector

                detector = build_detector(self.settings.spec.detector)
                self._detector = detector
                self.model_loads += 1
            except Exception as exc:  # noqa: BLE001 - kept and raised for every source that needs it
                self._detector_error = exc
        if self._detector_error is not None:
            raise self._detector_error
        return self._detector

    def embedder(self):
        """``(embed callable or None, note)``: the shipped embedder as ``track`` resolves
        ``--appearance`` (loaded once)."""
        if not self._embed_loaded:
            self._embed_loaded = True
            try:
                from tracker.run import build_embedder

                self._embed, self._embed_note = build_embedder(self.settings.spec.appearance)
                if self._embed is not None:
                    self.model_loads += 1
            except Exception as exc:  # noqa: BLE001 - "--appearance on" without a usable embedder
                self._embed_error = exc
            pin_threads(self.settings.threads)
        if self._embed_error is not None:
            raise self._embed_error
        return self._embed, self._embed_note

    # ------------------------------------------------------------------ one source
    def run(self, task: SourceTask, report: Optional[Report] = None) -> SourceResult:
        """Track ``task`` to its folder; never raises for a problem with the source."""
        report = report or (lambda index, frames: None)
        started = time.monotonic()
        self.sources_run += 1
        try:
            if report(task.index, 0):  # the batch is stopping: leave this source untouched
                return SourceResult.for_task(task, NOT_STARTED, worker=self.id, model_loads=self.model_loads)
            if task.kind == "error":
                raise InputError(task.error or f"{task.spec}: cannot be tracked")
            if task.kind == "mot-det":
                result = self._run_mot(task, report)
            else:
                result = self._run_source(task, report)
        except InputError as exc:
            result = SourceResult.for_task(task, FAILED, 2, str(exc))
        except Exception as exc:  # noqa: BLE001 - one source's bug must not stop the batch
            result = SourceResult.for_task(task, FAILED, 1, f"internal error: {type(exc).__name__}: {exc} "
                                           "(traceback in batch.summary.json; please report it)",
                                           details=traceback.format_exc())
        result.seconds = time.monotonic() - started
        result.worker = self.id
        result.model_loads = self.model_loads
        return result

    def _run_source(self, task: SourceTask, report: Report) -> SourceResult:
        from tracker.run import build_file_run, build_source

        s = self.settings
        spec = s.spec
        location = int(task.location) if task.kind == "webcam" else task.location
        # the source first: a missing or damaged one fails before any model is loaded
        source = build_source(spec.source, location)
        try:
            detector = self.detector()
            embed, note = self.embedder()
            job = build_file_run(spec, source, detector, embedder=embed if embed is not None else "off",
                                 output_dir=Path(s.output_dir) / task.folder, extra_inputs=task.lists,
                                 options={"batch": s.fingerprint(task.kind)}, wait=s.wait)
        except BaseException:
            source.close()
            raise
        pin_threads(s.threads)  # a learned associator may have imported torch just now
        frames = pending = 0
        last = time.monotonic()
        with job:
            for _ in job:
                frames += 1
                pending += 1
                now = time.monotonic()
                if now - last >= REPORT_EVERY_S:
                    stop, pending, last = report(task.index, pending), 0, now
                    if stop:
                        job.stop(stop)
                        break
        if pending:
            report(task.index, pending)
        summary = job.summary or {}
        status = status_of(summary)
        notes = list(summary.get("notes", []))
        if note:
            notes.append(note)
        error = None if status == DONE else (summary.get("error") or summary.get("status"))
        return SourceResult.for_task(task, status, int(summary.get("exit_code", 1)), error, frames=frames,
                                     notes=notes)

    def _run_mot(self, task: SourceTask, report: Report) -> SourceResult:
        from tracker.io.mot import read_seqinfo, write_mot_results
        from tracker.io.output_lock import OutputLock
        from tracker.io.output_paths import safe_component
        from tracker.io.writers import check_not_input, prepare_output_dir
        from tracker.mot_runner import track_mot_sequence
        from tracker.run import mot_tracker_config, offline_config

        s = self.settings
        det = s.spec.detector
        started_at = _now()
        t0 = time.monotonic()
        seq = Path(task.location)
        info = read_seqinfo(seq)
        config = mot_tracker_config(s.spec)
        out = Path(s.output_dir) / task.folder
        det_path = seq / "det" / s.det_name
        name = safe_component(info.name, task.folder)  # seqinfo.ini name= is one path component
        paths = {"mot": out / f"{name}.txt", "summary": out / f"{name}.summary.json"}
        check_not_input(list(paths.values()), [det_path, seq / "seqinfo.ini", seq / "gt" / "gt.txt", *task.lists],
                        root=out)
        prepare_output_dir(out)
        with OutputLock(out, name, wait=s.wait):
            paths["summary"].unlink(missing_ok=True)  # an old summary would describe a previous run
            result = track_mot_sequence(seq, config, s.det_name, det.score_threshold, det.score_rescale,
                                        offline=offline_config(s.spec))
            write_mot_results(paths["mot"], result.rows)  # atomic: complete or absent
            self._write_mot_summary(task, seq, info, det_path, config, out, paths, result, started_at, t0)
        report(task.index, result.frames)
        return SourceResult.for_task(task, DONE, 0, frames=result.frames, notes=list(result.notes))

    def _write_mot_summary(self, task, seq, info, det_path, config, out, paths, result, started_at, t0) -> None:
        """The ``<SEQ>.summary.json`` of a det-file sequence (``completed``: its results are written)."""
        from tracker.io.writers import write_summary

        s = self.settings
        det = s.spec.detector
        seconds = time.monotonic() - t0
        summary = {
            "completed": True, "status": RunStatus.COMPLETED, "exit_code": RunStatus.COMPLETED.exit_code,
            "error": None,
            "source": {"kind": "mot-det", "name": info.name, "location": str(seq), "detections": str(det_path),
                       "fps": info.frame_rate, "width": info.width, "height": info.height,
                       "frame_count": info.seq_length},
            "frames_processed": result.frames, "detections": result.detections, "tracks": result.tracks,
            "seconds": round(seconds, 3), "tracker_seconds": round(result.tracker_seconds, 4),
            "frames_per_second": round(result.frames / seconds, 3) if seconds > 0 else None,
            "output_dir": str(out), "files": {"mot": paths["mot"].name, "summary": paths["summary"].name},
            "notes": list(result.notes),
            "options": {"det_name": s.det_name, "min_score": det.score_threshold, "score_rescale": det.score_rescale,
                        "set": dict(s.spec.overrides), "batch": s.fingerprint(task.kind)},
            "tracker_config": config.to_dict(),
            "offline": None if result.offline is None else result.offline.to_dict(),
            "started_at": started_at, "finished_at": _now(),
        }
        write_summary(paths["summary"], summary)


def _now() -> str:
    import datetime as _dt

    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------- resume
def completed_summary(folder: Path, fingerprint: Optional[dict] = None):
    """``(summary or None, reason)``: the completed run recorded in ``folder``.

    A source is done only when a ``*.summary.json`` there says ``completed`` and every file it
    lists exists under its final name (``docs/batch.md``). A completed summary whose recorded batch
    settings differ from ``fingerprint`` does not count (``reason`` says so); one without
    recorded settings (written by ``track`` itself) counts.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None, "not run"
    reason = "no completed summary"
    for path in sorted(folder.glob("*.summary.json")):
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(summary, dict) or summary.get("completed") is not True:
            reason = f"{path.name}: not completed ({summary.get('status') if isinstance(summary, dict) else '?'})"
            continue
        files = summary.get("files") or {}
        missing = [name for name in files.values() if not isinstance(name, str) or not (folder / name).is_file()]
        if missing:
            reason = f"{path.name}: missing {', '.join(map(str, missing))}"
            continue
        recorded = (summary.get("options") or {}).get("batch")
        if fingerprint is not None and recorded is not None and recorded != fingerprint:
            reason = "settings changed since the completed run"
            continue
        return summary, "complete"
    return None, reason
