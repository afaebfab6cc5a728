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


UNLABELED = DATA / "unlabeled"
SMALL_CLIP = "open-mmlab+mmtracking/demo_test2.mp4"  # 32 frames, a few people, open licence (repo)


@pytest.mark.skipif(not (UNLABELED / SMALL_CLIP).is_file(), reason="shared unlabeled clips not available")
def test_train_command_on_unlabeled_clips_records_files_and_licences(tmp_path):
    from tracker.cli import main

    root = tmp_path / "unlabeled"
    (root / "open-mmlab+mmtracking").mkdir(parents=True)
    (root / SMALL_CLIP).symlink_to((UNLABELED / SMALL_CLIP).resolve())
    rows = (UNLABELED / "SOURCES.tsv").read_text().splitlines()
    (root / "SOURCES.tsv").write_text("\n".join([rows[0]] + [r for r in rows if r.startswith(SMALL_CLIP)]) + "\n")
    threads = torch.get_num_threads()
    try:
        assert main(["train", "--unlabeled", str(root), "--steps", "1", "--batch-size", "8", "--queue-size", "16",
                     "--depth", "1", "--threads", "1", "--no-progress",
                     "--cache-dir", str(tmp_path / "cache" / "crops"),
                     "--output", str(tmp_path / "w.pt")]) == 0
    finally:
        torch.set_num_threads(threads)
    meta = json.loads((tmp_path / "w.json").read_text())
    (source,) = meta["training_data"]["sources"]
    assert source["video"].endswith(SMALL_CLIP) and source["licence_class"] == "open licence (repo)"
    assert source["detections"].startswith("embedded detector")
    assert meta["training_licences"] == {"open licence (repo)": {"files": 1}}
    assert list((tmp_path / "cache" / "embedder-clips").glob("demo_test2-*.npz"))  # detections cached


TUD = DATA / "video" / "TUD-Campus.mp4"


@pytest.mark.skipif(not TUD.is_file(), reason="shared data ../shared/data/video/TUD-Campus.mp4 not available")
def test_embed_eval_adapt_scores_the_adapted_embedder(tmp_path, capsys):
    from tracker.cli import main

    threads = torch.get_num_threads()
    try:
        assert main(["embed-eval", str(TUD), "--gt", str(DATA / "mot" / "TUD-Campus" / "gt" / "gt.txt"),
                     "--detections", str(DATA / "mot" / "TUD-Campus" / "det" / "det.txt"), "--adapt", "120",
                     "--adapt-steps", "2", "--no-probe", "--no-random", "--threads", "1",
                     "--json", str(tmp_path / "r.json"), "--save-embedder", str(tmp_path / "a.pt")]) == 0
    finally:
        torch.set_num_threads(threads)
    rows = json.loads((tmp_path / "r.json").read_text())["blocks"][0]["rows"]
    methods = [r["method"] for r in rows]
    assert "learned, adapted to this video" in methods and "adapted + colour (fused)" in methods
    assert Embedder.from_file(tmp_path / "a.pt").metadata["adapted"]["steps"] == 2
