"""Weights files: the old shipped files and files written by this code load; anything else is
a one-line InputError naming the file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tracker.embedding import Embedder
from tracker.embedding.inference import load_weights, save_weights, shipped_weights_path
from tracker.embedding.model import EncoderConfig, PatchEncoder
from tracker.errors import InputError
from tracker.model_registry import DETECTOR
from tracker.training.adapt import AdaptConfig, adapt_embedder
from tracker.training.contrastive import ContrastiveTrainer, TrainConfig
from tracker.training.data import TrainingSet


def _tiny_set(n=64, seed=0) -> TrainingSet:
    rng = np.random.default_rng(seed)
    patches = rng.integers(0, 255, (n, 80, 40, 3), dtype=np.uint8)
    trk = np.arange(n) // 4  # 16 tracklets of 4 crops, all in frames 1..4 (co-existing)
    frames = np.tile(np.arange(1, 5), n // 4)
    t = n // 4
    return TrainingSet(patches, np.zeros(n, np.int64), frames, trk, np.zeros(t, np.int64), np.ones(t, np.int64),
                       np.full(t, 4, np.int64))


@pytest.mark.parametrize("name", ["default", "holdout", "unlabeled"])
def test_shipped_files_load(name):
    model, meta = load_weights(shipped_weights_path(name))
    assert isinstance(model, PatchEncoder) and meta


def test_new_training_and_adapted_files_round_trip(tmp_path):
    trainer = ContrastiveTrainer(_tiny_set(), TrainConfig(steps=2, batch_size=32, warmup_steps=1),
                                 EncoderConfig(depth=1))
    trainer.train()
    save_weights(tmp_path / "new.pt", trainer.encoder.eval(), {"training_data": {"sources": []}})
    emb = Embedder.from_file(tmp_path / "new.pt")
    frame = np.zeros((100, 100, 3), np.uint8)
    assert emb.embed(frame, np.array([[10, 10, 40, 90]], float)).shape == (1, 128)
    # adapt the shipped (old) file and save it: loads again, same architecture, changed weights
    old = Embedder.default()
    result = adapt_embedder(old.trainable_model(), _tiny_set(), AdaptConfig(max_steps=2, batch_size=32), 600)
    save_weights(tmp_path / "adapted.pt", result.model, {"adapted": result.summary()})
    again, meta = load_weights(tmp_path / "adapted.pt")
    assert again.config == old.config and meta["adapted"]["steps"] == 2
    before = old.trainable_model().state_dict()
    assert any(not torch.equal(before[k], v) for k, v in again.state_dict().items())


def test_wrong_files_are_one_line_errors(tmp_path):
    trainer = ContrastiveTrainer(_tiny_set(), TrainConfig(steps=1, batch_size=32, warmup_steps=1),
                                 EncoderConfig(depth=1))
    trainer.save_checkpoint(tmp_path / "run.pt.ckpt")
    (tmp_path / "text.pt").write_text("frame,id\n1,2\n")
    candidates = [tmp_path / "run.pt.ckpt", tmp_path / "text.pt", DETECTOR.shipped_path()]
    for path in candidates:
        with pytest.raises(InputError) as info:
            Embedder.from_file(path)
        message = str(info.value)
        assert str(path) in message and "\n" not in message and "weights_only" not in message


def test_unlabeled_weights_list_every_training_file_and_its_licence(shared_data):
    """The model trained on everything names each unlabeled clip it used, with the licence class
    SOURCES.tsv gives, and counts the licence classes over all its training files."""
    from tracker.training.unlabeled import read_sources

    root = shared_data.require(shared_data.root / "unlabeled")
    _, meta = load_weights(shipped_weights_path("unlabeled"))
    def key(path) -> str:  # the path inside the collection (the metadata's are relative to the cwd it ran in)
        return Path(path).as_posix().split("/unlabeled/", 1)[-1]

    listed = {key(s["video"]): s for s in meta["training_data"]["sources"]}
    clips = read_sources(root)
    assert clips
    for clip in clips:
        entry = listed[key(clip.path)]
        assert entry["licence_class"] == clip.licence_class
        assert entry["detections"] == "embedded detector (sampled frames)"
    files = {Path(s["video"]).parent if s.get("group", "").startswith("UCSD") else Path(s["video"])
             for s in meta["training_data"]["sources"]}
    assert sum(c["files"] for c in meta["training_licences"].values()) == len(files)
    assert meta["labels_used"].startswith("none")


def test_track_embedder_weights_accepts_a_shipped_name():
    """``--embedder-weights unlabeled`` loads the shipped file of that name (not a path)."""
    import argparse

    from tracker.commands.video import _embedder

    emb = _embedder(argparse.Namespace(embedder_weights="unlabeled", adapt=None, appearance="auto"))
    _, meta = load_weights(shipped_weights_path("unlabeled"))
    assert emb.metadata["date"] == meta["date"] and "--unlabeled" in emb.metadata["command"]
    default = _embedder(argparse.Namespace(embedder_weights="default", adapt=None, appearance="auto"))
    assert default.metadata["date"] != emb.metadata["date"]
