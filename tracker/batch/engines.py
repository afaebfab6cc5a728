"""Where batch workers run: a process pool on this machine (``local``) or Ray (``ray``).

Both engines take ``SourceTask``s and yield events as the work goes on:

* ``("frames", n)``: n more frames processed somewhere (for the overall frames/s);
* ``("result", SourceResult)``: a source ended (done, failed, incomplete, stopped, not started);
* ``("note", text)``: something the user should know (a worker died and was replaced);
* ``("tick", None)``: nothing new (every ``POLL_S`` seconds, so the caller can react to signals).

Each worker holds one ``tracker.batch.worker.Worker`` (models loaded once per worker) and takes
the next source when it is free, so a slow video never holds up the others. Sources are
handed out largest first (live sources, then video files by size), which balances the
workers. ``request_stop(signal_name)`` asks every worker to finish its current source's
files now (the source is ``stopped``: a rerun redoes it) and hands out nothing more (the rest
are ``not started``).

A worker process that dies (killed, out of memory) fails only the source it was running; the
engine starts a new worker for the rest.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue as queue_mod
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from tracker.status import RunStatus
from tracker.batch.sources import SourceTask
from tracker.batch.worker import FAILED, NOT_STARTED, SourceResult, Worker, WorkerSettings
from tracker.errors import InputError, parameter_error

ENGINES = ("local", "ray")
#: seconds between two looks at the workers' progress
POLL_S = 0.25
#: how many times a pool whose worker died is replaced before the remaining sources fail
MAX_RESTARTS = 8
#: a source whose worker died this many times while tracking it fails (a pool that breaks
#: takes down every worker, so a source running beside the culprit gets a second try)
MAX_ATTEMPTS = 2
SIGNALS = {0: None, int(signal.SIGINT): RunStatus.SIGINT, int(signal.SIGTERM): RunStatus.SIGTERM}

Event = Tuple[str, object]


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def schedule(tasks: Sequence[SourceTask]) -> List[SourceTask]:
    """Largest first (stable): long sources start early, short ones fill the gaps."""
    return sorted(tasks, key=lambda t: -t.weight)


def died(task: SourceTask, what: str) -> SourceResult:
    return SourceResult.for_task(task, FAILED, 1, f"the worker died while tracking this source ({what}); "
                                                  "killed, or out of memory?")


class Engine:
    name = "engine"

    def __init__(self, settings: WorkerSettings, workers: Optional[int] = None):
        self.settings = settings
        self.requested_workers = workers
        self.workers = 0  # how many were started (known once running)
        self.stop_reason: Optional[str] = None

    def request_stop(self, reason: str) -> None:
        self.stop_reason = reason

    def run(self, tasks: Sequence[SourceTask]) -> Iterator[Event]:  # pragma: no cover - abstract
        raise NotImplementedError

    # progress reports and results travel on different channels: a source's frames are
    # counted live from its reports, then made exact by its result (late reports ignored)
    def _reset_counts(self) -> None:
        self._reported: Dict[int, int] = {}
        self._ended: set = set()

    def _count(self, per_source: Dict[int, int]) -> Iterator[Event]:
        frames = 0
        for index, n in per_source.items():
            if index in self._ended:
                continue
            self._reported[index] = self._reported.get(index, 0) + n
            frames += n
        if frames:
            yield "frames", frames

    def _ended_with(self, result: SourceResult) -> Iterator[Event]:
        self._ended.add(result.index)
        delta = result.frames - self._reported.pop(result.index, 0)
        if delta:
            yield "frames", delta
        yield "result", result


# ---------------------------------------------------------------------------- local
_worker: Optional[Worker] = None
_progress = None
_stop = None


def _init_local(settings: WorkerSettings, progress, stop) -> None:
    """Process-pool initializer: the parent handles Ctrl-C and tells workers to stop."""
    global _worker, _progress, _stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _progress, _stop = progress, stop
    _worker = Worker(settings)


def _report_local(index: int, frames: int) -> Optional[str]:
    _progress.put((index, frames))
    return SIGNALS.get(_stop.value, RunStatus.SIGTERM)


def _run_local(task: SourceTask) -> SourceResult:
    return _worker.run(task, _report_local)


class LocalEngine(Engine):
    """A ``ProcessPoolExecutor`` of ``workers`` processes (spawned: nothing of the parent's
    thread pools is inherited), each with one ``Worker``."""

    name = "local"

    def request_stop(self, reason: str) -> None:
        super().request_stop(reason)
        if getattr(self, "_stop", None) is not None:
            self._stop.value = int(getattr(signal, reason, signal.SIGINT))

    def run(self, tasks: Sequence[SourceTask]) -> Iterator[Event]:
        ctx = mp.get_context("spawn")
        self._progress = ctx.Queue()
        self._stop = ctx.Value("i", 0)
        if self.stop_reason:
            self._stop.value = int(getattr(signal, self.stop_reason, signal.SIGINT))
        remaining = schedule(tasks)
        self._reset_counts()
        fit = max(1, available_cpus() // self.settings.threads)
        self.workers = max(1, min(self.requested_workers or fit, len(remaining) or 1))
        restarts = 0
        attempts: Dict[int, int] = {}
        while remaining:
            started: Dict[int, SourceTask] = {}
            finished: set = set()
            broken = False
            pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_local,
                                       initargs=(self.settings, self._progress, self._stop))
            try:
                futures = {pool.submit(_run_local, t): t for t in remaining}
                by_index = {t.index: t for t in remaining}
                while futures:
                    done, _ = wait(futures, timeout=POLL_S, return_when=FIRST_COMPLETED)
                    yield "tick", None
                    yield from self._drain(started, by_index)
                    if self.stop_reason:
                        for f in list(futures):
                            if f.cancel():
                                t = futures.pop(f)
                                finished.add(t.index)
                                yield from self._ended_with(SourceResult.for_task(t, NOT_STARTED))
                    for f in done:
                        t = futures.pop(f, None)
                        if t is None:
                            continue
                        try:
                            result = f.result()
                        except BrokenProcessPool:
                            broken = True
                            continue
                        except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
                            result = SourceResult.for_task(t, FAILED, 1, f"internal error: {type(exc).__name__}: {exc}")
                        finished.add(t.index)
                        yield from self._ended_with(result)
                    if broken:
                        break
            except BaseException:  # a second Ctrl-C, or the caller gave up: no waiting for workers
                _terminate(pool)
                broken = True
                raise
            finally:
                pool.shutdown(wait=not broken, cancel_futures=True)
            if not broken:
                break
            yield from self._drain(started, by_index)
            restarts += 1
            running = [t.spec for t in remaining if t.index in started and t.index not in finished]
            yield "note", (f"a worker process died (killed, or out of memory?) while tracking "
                           f"{', '.join(running) or 'a source'}; starting new workers")
            rest = []
            for t in remaining:
                if t.index in finished:
                    continue
                if t.index in started:  # the culprit, or a bystander the broken pool took down
                    attempts[t.index] = attempts.get(t.index, 0) + 1
                if attempts.get(t.index, 0) >= MAX_ATTEMPTS or restarts > MAX_RESTARTS:
                    yield from self._ended_with(died(t, "local worker process"))
                elif self.stop_reason:
                    yield from self._ended_with(SourceResult.for_task(t, NOT_STARTED))
                else:
                    rest.append(t)
            remaining = rest

    def _drain(self, started: Dict[int, SourceTask], by_index: Dict[int, SourceTask]) -> Iterator[Event]:
        per_source: Dict[int, int] = {}
        while True:
            try:
                index, n = self._progress.get_nowait()
            except queue_mod.Empty:
                break
            except (OSError, EOFError, ValueError):  # pragma: no cover - the queue's pipe broke
                break
            if index in by_index:
                started[index] = by_index[index]
            per_source[index] = per_source.get(index, 0) + n
        yield from self._count(per_source)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop the pool's processes now (their sources keep .partial files: redone on a rerun)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            proc.terminate()
        except (OSError, AttributeError):  # pragma: no cover - already gone
            pass


# ---------------------------------------------------------------------------- ray
class _Coordinator:
    """A small Ray actor: workers report frames to it and learn whether to stop."""

    def __init__(self) -> None:
        self.frames: Dict[int, int] = {}
        self.stop: Optional[str] = None

    def report(self, index: int, frames: int) -> Optional[str]:
        self.frames[index] = self.frames.get(index, 0) + frames
        return self.stop

    def take(self) -> Dict[int, int]:
        frames, self.frames = self.frames, {}
        return frames

    def request_stop(self, reason: str) -> None:
        self.stop = reason


class _RayWorker:
    """The Ray actor of one worker: a ``Worker`` (models loaded once) fed one source at a time."""

    def __init__(self, settings: WorkerSettings, coordinator) -> None:
        self.worker = Worker(settings)
        self.coordinator = coordinator

    def run(self, task: SourceTask) -> SourceResult:
        import ray

        def report(index: int, frames: int) -> Optional[str]:
            return ray.get(self.coordinator.report.remote(index, frames))

        return self.worker.run(task, report)


def import_ray():
    try:
        import ray
    except ImportError:
        raise InputError("engine ray needs Ray: pip install 'identitrack[ray]' (or pip install ray)",
                         "engine") from None
    return ray


class RayEngine(Engine):
    """Ray actors, one per worker, each reserving ``threads`` CPUs. Without ``address`` a
    local Ray instance is started (and stopped at the end); with one (``auto``,
    ``ray://host:10001``, ``host:6379``) the batch joins that cluster. When Ray is already
    initialized in this process (a notebook, a test), that connection is used as it is."""

    name = "ray"

    def __init__(self, settings: WorkerSettings, workers: Optional[int] = None, address: Optional[str] = None,
                 local_cpus: Optional[int] = None):
        super().__init__(settings, workers)
        self.address = address
        self.local_cpus = local_cpus
        self._coordinator = None
        self.cluster_cpus = 0

    def request_stop(self, reason: str) -> None:
        super().request_stop(reason)
        if self._coordinator is not None:
            self._coordinator.request_stop.remote(reason)

    def _connect(self, ray) -> bool:
        if ray.is_initialized():
            return False
        kwargs = dict(include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False,
                      configure_logging=True)
        try:
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:
                ray.init(num_cpus=self.local_cpus or available_cpus(), **kwargs)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
            raise InputError(f"engine ray: cannot start or join {where}: {exc}", "engine") from None
        return True

    def run(self, tasks: Sequence[SourceTask]) -> Iterator[Event]:
        ray = import_ray()
        started_here = self._connect(ray)
        actors: list = []
        try:
            threads = self.settings.threads
            self.cluster_cpus = int(ray.cluster_resources().get("CPU", 0))
            if threads > self.cluster_cpus:
                raise InputError(f"threads {threads}: the Ray cluster has {self.cluster_cpus} CPU(s); "
                                 "a worker could never be placed", "threads")
            fit = max(1, self.cluster_cpus // threads)
            pending = schedule(tasks)
            self._reset_counts()
            self.workers = max(1, min(self.requested_workers or fit, fit, len(pending) or 1))
            if self.requested_workers and self.requested_workers > fit:
                yield "note", (f"workers {self.requested_workers}: the Ray cluster has room for {fit} worker(s) "
                               f"of {threads} thread(s) ({self.cluster_cpus} CPUs); using {self.workers}")
            self._coordinator = ray.remote(num_cpus=0)(_Coordinator).remote()
            if self.stop_reason:
                self._coordinator.request_stop.remote(self.stop_reason)
            actor_cls = ray.remote(num_cpus=threads, max_restarts=0)(_RayWorker)

            def new_actor():
                actor = actor_cls.remote(self.settings, self._coordinator)
                actors.append(actor)
                return actor

            idle = [new_actor() for _ in range(self.workers)]
            inflight: Dict[object, Tuple[SourceTask, object]] = {}
            restarts = 0
            while pending or inflight:
                while idle and pending and not self.stop_reason:
                    actor, task = idle.pop(), pending.pop(0)
                    inflight[actor.run.remote(task)] = (task, actor)
                if self.stop_reason and pending:
                    for task in pending:
                        yield from self._ended_with(SourceResult.for_task(task, NOT_STARTED))
                    pending = []
                if not inflight:
                    break
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=POLL_S)
                yield "tick", None
                yield from self._count(ray.get(self._coordinator.take.remote()))
                for ref in ready:
                    task, actor = inflight.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayActorError as exc:
                        restarts += 1
                        first = str(exc).strip().splitlines()
                        result = died(task, f"Ray actor: {first[0][:300]}" if first else "Ray actor")
                        actor = new_actor() if restarts <= MAX_RESTARTS else None
                    except ray.exceptions.RayError as exc:
                        result = SourceResult.for_task(task, FAILED, 1, f"internal error (Ray): {exc}")
                    if actor is not None:
                        idle.append(actor)
                    yield from self._ended_with(result)
                if not idle and not inflight and pending:  # every actor died too often
                    for task in pending:
                        yield from self._ended_with(died(task, "no Ray worker left"))
                    pending = []
        finally:
            for actor in actors:
                try:
                    ray.kill(actor)
                except Exception:  # noqa: BLE001 - already gone
                    pass
            if self._coordinator is not None:
                try:
                    ray.kill(self._coordinator)
                except Exception:  # noqa: BLE001
                    pass
                self._coordinator = None
            if started_here:
                ray.shutdown()


def make_engine(name: str, settings: WorkerSettings, workers: Optional[int] = None,
                address: Optional[str] = None) -> Engine:
    if name == "local":
        if address:
            raise InputError("address is for engine ray (the local engine runs on this machine)", "address",
                             mentions=("engine",))
        return LocalEngine(settings, workers)
    if name == "ray":
        import_ray()
        return RayEngine(settings, workers, address)
    raise parameter_error("engine", f"must be one of {', '.join(ENGINES)}, got {name!r}")
