"""A whole batch: resume plan, the engine's run, the outcome and its exit code.

``BatchRun(tasks, settings, engine)`` decides first which sources are already complete in
``settings.output_dir`` (``completed_summary``: a completed summary and all its final files;
those are ``skipped`` unless ``redo``) and which cannot be tracked at all (``error`` tasks:
failed at once); iterating it runs the rest on the engine and yields its events
(``("frames", n)``, ``("result", SourceResult)``); ``results`` then holds one result per
source, in the order of the sources. ``write_summary()`` writes ``batch.summary.json``.

Exit code (``exit_code()``), the most serious first: 130 / 143 when the batch was interrupted
(Ctrl-C / SIGTERM), 1 when a source failed with an internal error, 2 when a source failed
because of its input (missing, unreadable, not a video...), 3 when a source ended early (a
video stopped decoding, a stream was lost: its results kept), else 0 (skipped sources count as done).

Two batches into one folder: the batch holds the lock ``batch`` of its output folder
(``tracker.io.output_lock``) while it runs -- ``acquire()`` (the command line holds it from
the plan to the summary; iterating takes it for the run when not held) -- so a second one is
refused with ``OutputBusyError``, or waits with ``wait=True`` and then plans again. No output
may overwrite an input (``tracker.io.output_paths``): ``batch.summary.json`` is checked against
every source and list file now, each source's files in its worker.
"""
from __future__ import annotations

import datetime as _dt
import signal
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

from tracker import exit_codes
from tracker.status import RunStatus
from tracker.batch.engines import Engine, Event
from tracker.batch.sources import SourceTask
from tracker.batch.worker import (
    DONE,
    FAILED,
    INCOMPLETE,
    NOT_STARTED,
    SKIPPED,
    STOPPED,
    SourceResult,
    WorkerSettings,
    completed_summary,
)
from tracker.io.output_lock import OutputLock
from tracker.io.output_paths import OutputGuard
from tracker.io.writers import prepare_output_dir, write_summary

SUMMARY_FILE = "batch.summary.json"
#: the lock of a whole batch in its output folder: ``.batch.lock``
LOCK_STEM = "batch"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class BatchRun:
    """See the module doc. ``notes``: what the plan found worth telling (settings changed...)."""

    def __init__(self, tasks: Sequence[SourceTask], settings: WorkerSettings, engine: Engine, redo: bool = False,
                 wait: bool = False):
        self.tasks = list(tasks)
        self.settings = settings
        self.engine = engine
        self.redo = redo
        self.output_dir = Path(settings.output_dir)
        self.frames = 0
        self.seconds = 0.0
        self.started_at: Optional[str] = None
        self.stop_reason: Optional[str] = None
        OutputGuard(self.inputs()).check(self.output_dir / SUMMARY_FILE, "output_dir")
        self.lock = OutputLock(self.output_dir, LOCK_STEM, wait=wait)
        self._plan()

    def inputs(self) -> List[Path]:
        """Every source path and list file of the batch (no output may overwrite one)."""
        found = []
        for task in self.tasks:
            found += [Path(p) for p in task.lists]
            if task.kind not in ("stream", "webcam"):
                found.append(Path(task.location))
        return found

    def acquire(self) -> None:
        """Take the batch lock of the output folder (``OutputBusyError`` when another batch
        holds it, or wait for it with ``wait``) and plan again from what is there now."""
        if not self.lock.held:
            prepare_output_dir(self.output_dir)
            self.lock.acquire()
            self._plan()

    def release(self) -> None:
        """Release the batch lock (safe to call twice)."""
        self.lock.release()

    def _plan(self) -> None:
        redo, settings = self.redo, self.settings
        self.results: Dict[int, SourceResult] = {}
        self.notes: List[str] = []
        self.to_run: List[SourceTask] = []
        self.skipped: List[SourceTask] = []
        self.unusable: List[SourceTask] = []
        for task in self.tasks:
            if task.kind == "error":
                self.unusable.append(task)
                continue
            if not redo:
                summary, reason = completed_summary(self.output_dir / task.folder, settings.fingerprint(task.kind))
                if summary is not None:
                    self.skipped.append(task)
                    self.results[task.index] = SourceResult.for_task(
                        task, SKIPPED, 0, frames=int(summary.get("frames_processed") or 0))
                    continue
                if reason == "settings changed since the completed run":
                    self.notes.append(f"{task.spec}: tracked again (settings changed since its completed run)")
            self.to_run.append(task)

    def request_stop(self, reason: str) -> None:
        """Stop handing out sources; running ones finish their files now (status ``stopped``)."""
        if self.stop_reason is None:
            self.stop_reason = reason
            self.engine.request_stop(reason)

    def __iter__(self) -> Iterator[Event]:
        owned = not self.lock.held
        self.acquire()
        self.started_at = _now()
        t0 = time.monotonic()
        try:
            for task in self.unusable:
                result = SourceResult.for_task(task, FAILED, exit_codes.BAD_INPUT, task.error)
                self.results[task.index] = result
                yield "result", result
            if self.to_run:
                events = self.engine.run(self.to_run)
                try:
                    for kind, value in events:
                        if kind == "frames":
                            self.frames += int(value)
                        elif kind == "result":
                            self.results[value.index] = value
                        yield kind, value
                finally:
                    events.close()
        except KeyboardInterrupt as exc:  # a second signal (``Interrupted``) or a plain Ctrl-C: stopped now
            if self.stop_reason is None:
                self.stop_reason = (RunStatus.SIGTERM if getattr(exc, "signum", None) == signal.SIGTERM
                                    else RunStatus.SIGINT)
            raise
        finally:
            self.seconds = time.monotonic() - t0
            for task in self.to_run:  # e.g. a second Ctrl-C: whatever did not report back
                self.results.setdefault(task.index, SourceResult.for_task(
                    task, STOPPED if self.stop_reason else NOT_STARTED))
            if owned:
                self.release()

    # ------------------------------------------------------------------ outcome
    def ordered(self) -> List[SourceResult]:
        return [self.results[t.index] for t in self.tasks if t.index in self.results]

    def counts(self) -> Dict[str, int]:
        out = {s: 0 for s in (DONE, SKIPPED, FAILED, INCOMPLETE, STOPPED, NOT_STARTED)}
        for r in self.results.values():
            out[r.status] = out.get(r.status, 0) + 1
        return out

    @property
    def frames_per_second(self) -> Optional[float]:
        return self.frames / self.seconds if self.seconds > 0 else None

    def exit_code(self) -> int:
        if self.stop_reason:
            return RunStatus(self.stop_reason).exit_code
        codes = [r.exit_code for r in self.results.values() if r.status == FAILED]
        if exit_codes.INTERNAL_ERROR in codes:
            return exit_codes.INTERNAL_ERROR
        if codes:
            return exit_codes.BAD_INPUT
        if any(r.status == INCOMPLETE for r in self.results.values()):
            return exit_codes.INCOMPLETE
        if any(r.status in (STOPPED, NOT_STARTED) for r in self.results.values()):
            return exit_codes.INCOMPLETE
        return exit_codes.OK

    def summary(self) -> dict:
        fps = self.frames_per_second
        return {
            "engine": self.engine.name,
            "workers": self.engine.workers,
            "threads_per_worker": self.settings.threads,
            "output_dir": str(self.output_dir),
            "sources": len(self.tasks),
            "counts": self.counts(),
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "frames_per_second": None if fps is None else round(fps, 3),
            "exit_code": self.exit_code(),
            "interrupted": self.stop_reason,
            "started_at": self.started_at,
            "finished_at": _now(),
            "results": [r.to_dict() for r in self.ordered()],
        }

    def write_summary(self) -> Path:
        """Write ``batch.summary.json`` (under the batch lock: the one held, else taken for it)."""
        path = self.output_dir / SUMMARY_FILE
        owned = not self.lock.held
        if owned:
            prepare_output_dir(self.output_dir)
            self.lock.acquire()
        try:
            write_summary(path, self.summary())
        finally:
            if owned:
                self.release()
        return path
