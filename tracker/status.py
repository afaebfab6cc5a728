"""How a run ended and how a source ended: the one vocabulary of run states.

* ``SourceEnd``: why a ``FrameSource`` stopped yielding frames (``FrameSource.end_reason``).
* ``RunStatus``: how a run ended (the ``status`` of a run summary), with its process exit code,
  whether it counts as completed, and the sentence ``track`` prints for it.
* ``BatchStatus``: how one source of ``track batch`` ended.

All are ``str`` enums: they compare equal to, and are written to JSON as, their text values
(``RunStatus.COMPLETED == "completed"``), so summaries written before this module keep their
meaning.
"""
from __future__ import annotations

from enum import Enum
from typing import Optional

from tracker import exit_codes


class SourceEnd(str, Enum):
    """Why a source stopped: its last frame (or ``end``) was reached, the file stopped decoding
    before its known length, a webcam or a file served over a URL ended, a stream stopped and
    reconnecting failed, or the caller closed it."""

    END = "end"
    TRUNCATED = "truncated"
    STREAM_ENDED = "stream ended"
    STREAM_LOST = "stream lost"
    CLOSED = "closed"

    def __str__(self) -> str:
        return self.value


class RunStatus(str, Enum):
    """How a run ended. ``exit_code``: the process exit code of ``track`` for it;
    ``completed``: the source was processed to its end; ``text``: what ``track`` says."""

    COMPLETED = "completed"
    STREAM_ENDED = "stream ended"
    TRUNCATED = "truncated"
    STREAM_LOST = "stream lost"
    SIGINT = "SIGINT"
    SIGTERM = "SIGTERM"
    STOPPED_BY_USER = "stopped by user"
    OUTPUT_ERROR = "output error"
    CRASHED = "crashed"

    def __str__(self) -> str:
        return self.value

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES[self]

    @property
    def completed(self) -> bool:
        return self in (RunStatus.COMPLETED, RunStatus.STREAM_ENDED)

    @property
    def stopped(self) -> bool:
        """Stopped on request (a signal, the window): the files hold what was processed."""
        return self in (RunStatus.SIGINT, RunStatus.SIGTERM, RunStatus.STOPPED_BY_USER)

    @property
    def text(self) -> str:
        return _TEXTS[self]

    @classmethod
    def from_source_end(cls, end: Optional[str]) -> "RunStatus":
        """The status of a run whose source ended with ``end`` (nothing stopped it earlier)."""
        if end == SourceEnd.TRUNCATED:
            return cls.TRUNCATED
        if end == SourceEnd.STREAM_ENDED:
            return cls.STREAM_ENDED
        if end == SourceEnd.STREAM_LOST:
            return cls.STREAM_LOST
        return cls.COMPLETED

    @classmethod
    def parse(cls, value: object) -> Optional["RunStatus"]:
        """A status read back from a summary (None when it is not one of ours)."""
        try:
            return cls(value)
        except ValueError:
            return None


_EXIT_CODES = {
    RunStatus.COMPLETED: exit_codes.OK,
    RunStatus.STREAM_ENDED: exit_codes.OK,
    RunStatus.TRUNCATED: exit_codes.INCOMPLETE,
    RunStatus.STREAM_LOST: exit_codes.INCOMPLETE,
    RunStatus.SIGINT: exit_codes.INTERRUPTED_SIGINT,
    RunStatus.SIGTERM: exit_codes.INTERRUPTED_SIGTERM,
    RunStatus.STOPPED_BY_USER: exit_codes.INTERRUPTED_SIGINT,
    RunStatus.OUTPUT_ERROR: exit_codes.BAD_INPUT,
    RunStatus.CRASHED: exit_codes.INTERNAL_ERROR,
}

_TEXTS = {
    RunStatus.COMPLETED: "done",
    RunStatus.STREAM_ENDED: "the stream ended",
    RunStatus.TRUNCATED: "the video stopped decoding before its end (results cover the frames before)",
    RunStatus.STREAM_LOST: "the stream stopped and did not come back (results cover the frames before)",
    RunStatus.OUTPUT_ERROR: "an output file could not be written (the .partial files keep the results so far)",
    RunStatus.SIGINT: "interrupted (Ctrl-C); files finished with the frames processed so far",
    RunStatus.SIGTERM: "terminated (SIGTERM); files finished with the frames processed so far",
    RunStatus.STOPPED_BY_USER: "stopped from the window; files finished with the frames processed so far",
    RunStatus.CRASHED: "internal error (a bug); the .partial files keep the results so far",
}


class BatchStatus(str, Enum):
    """How one source of a batch ended: done; failed; incomplete (the video stopped decoding
    early or the stream was lost: results kept); stopped (the batch was interrupted; files
    finished); skipped (complete from an earlier run); not started."""

    DONE = "done"
    FAILED = "failed"
    INCOMPLETE = "incomplete"
    STOPPED = "stopped"
    SKIPPED = "skipped"
    NOT_STARTED = "not started"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of_run(cls, summary: dict) -> "BatchStatus":
        """A run summary -> the source's batch status: completed -> done; stopped on request ->
        stopped; crashed (or no status) -> failed; any other early end -> incomplete."""
        if summary.get("completed") is True:
            return cls.DONE
        status = RunStatus.parse(summary.get("status"))
        if status is not None and status.stopped:
            return cls.STOPPED
        if status in (None, RunStatus.CRASHED):
            return cls.FAILED
        return cls.INCOMPLETE
