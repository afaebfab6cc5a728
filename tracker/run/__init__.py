"""The run layer: a validated specification of a run and the library functions that build its
parts (source, detector, embedder, tracker settings). Commands parse their options into a
``RunSpec``; ``track batch`` sends the same spec to its workers."""
from tracker.run.build import (
    build_detector,
    build_file_run,
    build_embedder,
    build_source,
    input_files,
    mot_tracker_config,
    offline_config,
    video_tracker_config,
)
from tracker.run.spec import (
    APPEARANCE_MODES,
    ASSOCIATOR_MODES,
    DetectorSpec,
    OutputSpec,
    RunSpec,
    SourceSpec,
    apply_overrides,
    parse_settings,
)

__all__ = ["RunSpec", "SourceSpec", "DetectorSpec", "OutputSpec", "APPEARANCE_MODES", "ASSOCIATOR_MODES",
           "apply_overrides", "parse_settings", "build_source", "build_detector", "build_embedder",
           "build_file_run", "input_files", "offline_config",
           "video_tracker_config", "mot_tracker_config"]
