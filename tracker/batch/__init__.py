"""Many sources at once: ``track batch`` on a process pool or on Ray (docs/batch.md).

* :mod:`tracker.batch.sources` - SOURCES (files, folders, MOTChallenge roots, lists, URLs)
  -> ``SourceTask``s with distinct output folders;
* :mod:`tracker.batch.worker` - ``Worker``: models loaded once, one source at a time to the
  files ``track SOURCE`` writes; ``completed_summary``: the resume rule;
* :mod:`tracker.batch.engines` - ``LocalEngine`` (process pool) and ``RayEngine`` (Ray actors);
* :mod:`tracker.batch.runner` - ``BatchRun``: resume plan, run, outcome, exit code;

Library use::

    from tracker.batch import BatchRun, LocalEngine, WorkerSettings, expand_sources
    from tracker.run import OutputSpec, RunSpec

    tasks, notes = expand_sources(["videos/", "cams.txt"])
    settings = WorkerSettings(RunSpec(output=OutputSpec(output_dir="/abs/out", video=False)))
    run = BatchRun(tasks, settings, LocalEngine(settings, workers=2))
    for kind, value in run:          # ("frames", n) | ("result", SourceResult)
        ...
    run.exit_code(), run.summary()
"""
from tracker.batch.engines import ENGINES, LocalEngine, RayEngine, make_engine
from tracker.batch.runner import BatchRun
from tracker.batch.sources import SourceTask, assign_folders, expand_sources
from tracker.batch.worker import SourceResult, Worker, WorkerSettings, completed_summary

__all__ = ["ENGINES", "LocalEngine", "RayEngine", "make_engine", "BatchRun", "SourceTask", "assign_folders",
           "expand_sources", "SourceResult", "Worker", "WorkerSettings", "completed_summary"]
