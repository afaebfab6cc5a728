"""`track train` end to end on a little real data (skipped without ../shared/data)."""
import json
from pathlib import Path

import pytest
import torch

from tracker.embedding import Embedder

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
VTEST = DATA / "video" / "vtest.avi"


@pytest.mark.skipif(not VTEST.is_file(), reason="shared data ../shared/data/video/vtest.avi not available")
def test_train_command_tiny_run_writes_loadable_weights_and_resumes(tmp_path):
    from tracker.cli import main
    threads = torch.get_num_threads()
    args = ["train", str(VTEST), "--detections", str(DATA / "video" / "vtest.det.txt"), "--exclude", "vtest:120-795",
            "--batch-size", "16", "--queue-size", "64", "--depth", "1", "--threads", "1", "--no-progress",
            "--cache-dir", str(tmp_path / "cache"), "--checkpoint-every", "2", "--output", str(tmp_path / "w.pt")]
    try:
        assert main(args + ["--steps", "2"]) == 0
        assert main(args + ["--steps", "3", "--resume"]) == 0
    finally:
        torch.set_num_threads(threads)
    meta = json.loads((tmp_path / "w.json").read_text())
    assert meta["steps"] == 3
    assert meta["training_data"]["sources"][0]["exclude_frames"] == [[120, 795]]
    assert meta["labels_used"].startswith("none")
    emb = Embedder.from_file(tmp_path / "w.pt", threads=1)
    assert emb.config.depth == 1
    assert (tmp_path / "w.pt.ckpt").is_file()
    assert list((tmp_path / "cache").glob("vtest-*.npz"))
