"""The progress display of ``track batch``: one bar over the sources, on stderr.

``sources 3/10 [done 2, failed 1] 1234 frames, 41.2 frames/s``: the bar counts sources that
ended (done, failed, incomplete, stopped); frames/s is over the whole batch (all workers,
since the batch started, worker start-up included). A failed source is printed above the bar
as it happens, also with ``quiet`` (errors only).
"""
from __future__ import annotations

import os
import sys
import time
from typing import Optional, TextIO

from tracker.batch.worker import DONE, FAILED, INCOMPLETE, NOT_STARTED, STOPPED, SourceResult

#: seconds between two refreshes of the frames/s figure
REFRESH_S = 0.5


def describe(result: SourceResult) -> str:
    """``source: error``, without repeating the source when the error names it already."""
    error = result.error or result.status
    if result.spec in error or os.path.basename(result.spec.rstrip("/")) in error:
        return error
    return f"{result.spec}: {error}"


class BatchProgress:
    def __init__(self, total: int, quiet: bool = False, file: Optional[TextIO] = None):
        from tqdm import tqdm

        self.file = file or sys.stderr
        self.quiet = quiet
        self.started = time.monotonic()
        self.frames = 0
        self.counts = {DONE: 0, FAILED: 0, INCOMPLETE: 0, STOPPED: 0}
        self._shown = 0.0
        self.bar = tqdm(total=total, unit="source", desc="sources", disable=quiet, file=self.file,
                        dynamic_ncols=True, leave=True,
                        bar_format="{desc} {n_fmt}/{total_fmt} |{bar}| [{elapsed}<{remaining}]{postfix}")
        self._postfix()

    def _postfix(self) -> None:
        elapsed = time.monotonic() - self.started
        fps = self.frames / elapsed if elapsed > 0 else 0.0
        parts = [f"done {self.counts[DONE]}", f"failed {self.counts[FAILED]}"]
        if self.counts[INCOMPLETE]:
            parts.append(f"incomplete {self.counts[INCOMPLETE]}")
        if self.counts[STOPPED]:
            parts.append(f"stopped {self.counts[STOPPED]}")
        self.bar.set_postfix_str(f"{', '.join(parts)}; {self.frames} frames, {fps:.1f} frames/s", refresh=True)
        self._shown = time.monotonic()

    def add_frames(self, n: int) -> None:
        self.frames += int(n)
        if time.monotonic() - self._shown >= REFRESH_S:
            self._postfix()

    def finished(self, result: SourceResult) -> None:
        if result.status == NOT_STARTED:
            return
        if result.status in self.counts:
            self.counts[result.status] += 1
        if result.status == FAILED:
            self.write(f"failed: {describe(result)}")
        elif result.status == INCOMPLETE and not self.quiet:
            self.write(f"incomplete: {result.spec}: {result.error or 'ended early'} (results kept)")
        self.bar.update(1)
        self._postfix()

    def write(self, line: str) -> None:
        self.bar.write(line, file=self.file)

    def close(self) -> None:
        self._postfix()
        self.bar.close()
