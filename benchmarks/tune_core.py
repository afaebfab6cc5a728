"""Sweep a few core settings on all development sequences; prints combined MOTA / IDF1.

Used to choose the defaults of ``TrackerConfig`` (combined over the 12 sequences, never per
sequence). Usage: python benchmarks/tune_core.py '{"high_score": [0.5, 0.6]}'
"""
from __future__ import annotations

import importlib.util
import itertools
import json
import sys
import tempfile
from pathlib import Path

from tracker.config import TrackerConfig
from tracker.io.mot import find_sequences, write_mot_results
from tracker.motion import MotionConfig
from tracker.mot_runner import track_mot_sequence

MOT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "mot"
#: the motmetrics cross-check of the quality gate lives with the evaluation tests' fixtures
MOT_QUALITY = Path(__file__).resolve().parents[1] / "tests" / "evaluation" / "conftest.py"


def _load_combined_mota_idf1():
    spec = importlib.util.spec_from_file_location("mot_quality", MOT_QUALITY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.combined_mota_idf1


combined_mota_idf1 = _load_combined_mota_idf1()


def evaluate(config: TrackerConfig) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        for seq in find_sequences([MOT_ROOT]):
            run = track_mot_sequence(seq, config)
            write_mot_results(Path(tmp) / f"{run.name}.txt", run.rows)
        return combined_mota_idf1(MOT_ROOT, Path(tmp))


def main() -> None:
    grid = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    keys = list(grid)
    print("| " + " | ".join(keys) + " | MOTA | IDF1 | IDsw |")
    print("|" + "---|" * (len(keys) + 3))
    for values in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, values))
        motion = {k[7:]: v for k, v in params.items() if k.startswith("motion.")}
        plain = {k: v for k, v in params.items() if not k.startswith("motion.")}
        cfg = TrackerConfig(**plain, motion=MotionConfig(**motion))
        r = evaluate(cfg)
        print("| " + " | ".join(str(v) for v in values) + f" | {r['MOTA']:.2f} | {r['IDF1']:.2f} | {r['IDsw']} |",
              flush=True)


if __name__ == "__main__":
    main()
