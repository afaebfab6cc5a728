"""Shot cuts, tracker tracklets and the positive pairs of training: no pair crosses a cut."""
from __future__ import annotations

import numpy as np
import pytest

from tracker.training.clips import ClipSampling, sample_frames
from tracker.training.contrastive import ContrastiveTrainer, TrainConfig
from tracker.training.cuts import CutConfig, detect_cuts, shot_index, shots
from tracker.training.data import CropConfig, VideoSpec, build_training_set
from tracker.training.tracklets import TrackletConfig, confident_tracklets, tracker_tracklets
from tracker.training.unlabeled import read_sources

#: a real montage of the unlabeled collection: a street/plaza montage, 529 frames, 1 hard cut
#: (SOURCES.tsv), 20-50 people
MONTAGE = "pavan0543+Realtime-People-tracking/videos_example_02.mp4"


def _flat(value: int, shape=(72, 128, 3)) -> np.ndarray:
    img = np.zeros(shape, np.uint8)
    img[:] = value
    return img


def test_cut_detector_on_synthetic_shots():
    # two "shots": dark frames with a small moving patch, then bright ones: one cut at frame 6
    frames = []
    for i in range(10):
        img = _flat(30 if i < 5 else 200)
        img[10:20, 5 * i:5 * i + 10] = 120
        frames.append(img)
    assert detect_cuts(frames) == [6]
    assert detect_cuts(frames[:5]) == []
    assert shot_index(np.array([1, 5, 6, 9]), [6]).tolist() == [0, 0, 1, 1]
    assert shots(10, [6]) == [(1, 5), (6, 10)]
    with pytest.raises(ValueError, match="score_threshold"):
        CutConfig(score_threshold=-1)


def test_sampling_stride_and_windows():
    picked, stride = sample_frames(100, 30.0, ClipSampling(target_fps=10, max_frames=160))
    assert stride == 3 and picked[:3].tolist() == [1, 4, 7] and len(picked) == 34
    picked, stride = sample_frames(3000, 30.0, ClipSampling(target_fps=10, max_frames=40, windows=4))
    assert len(picked) == 40 and picked[0] == 1 and picked[-1] == 3000 - 2  # last sampled frame 2998
    runs = np.flatnonzero(np.diff(picked) > stride)
    assert len(runs) == 3  # four windows of ten consecutive sampled frames


def test_tracker_tracklets_restart_at_a_cut_and_a_gap():
    # one box standing still in every sampled frame 1..9 (stride 1), a cut at frame 5, a gap 7 -> 9
    sampled = np.array([1, 2, 3, 4, 5, 6, 7, 9])
    frames = sampled.copy()
    xyxy = np.tile([[10.0, 10.0, 30.0, 60.0]], (len(frames), 1))
    raw = tracker_tracklets(frames, xyxy, np.ones(len(frames)), sampled, 1, 10.0, cuts=[5])
    ids = confident_tracklets(frames, xyxy, raw, sampled, [5])
    # frames 1-4 one tracklet, 5-7 another, 9 alone (a new tracker run after the gap: unconfirmed)
    assert len(set(ids[:4])) == 1 and len(set(ids[4:7])) == 1 and ids[0] != ids[4]
    assert ids[7] not in ids[:7]


def test_confident_tracklets_split_at_overlaps():
    # track 1 in frames 1..6; at frame 3 another box overlaps it (IoU 0.6): split there
    frames = np.array([1, 2, 3, 3, 4, 5, 6])
    xyxy = np.array([[0, 0, 10, 20]] * 3 + [[0, 0, 10, 12]] + [[0, 0, 10, 20]] * 3, float)
    tids = np.array([1, 1, 1, 2, 1, 1, 1])
    ids = confident_tracklets(frames, xyxy, tids, np.arange(1, 7), (), TrackletConfig(overlap_iou=0.3))
    assert ids[0] == ids[1] and ids[4] == ids[5] == ids[6] and ids[1] != ids[4]
    assert ids[2] not in np.delete(ids, 2) and ids[3] not in np.delete(ids, 3)  # the overlapped pair: singletons


def test_no_positive_pair_crosses_a_cut_on_a_real_montage(shared_data, tmp_path):
    root = shared_data.require(shared_data.root / "unlabeled")
    clip = next((c for c in read_sources(root) if c.file == MONTAGE), None)
    if clip is None:
        pytest.skip(f"{MONTAGE} not in the unlabeled collection")
    frames = []
    from tracker.embedding.video import iter_frames

    for _, img in iter_frames(clip.path):
        frames.append(img)
    cuts = detect_cuts(frames)
    assert len(cuts) == clip.hard_cuts == 1
    data = build_training_set([VideoSpec(clip.path, group=clip.group)], CropConfig(), cache_dir=tmp_path / "crops")
    assert data.sources[0]["shot_cuts"] == cuts
    shot = shot_index(data.frames, cuts)
    for t in np.unique(data.tracklet):  # every tracklet lies inside one shot
        assert len(np.unique(shot[data.tracklet == t])) == 1
    multi = np.bincount(data.tracklet)[data.tracklet] >= 2
    assert multi.sum() > 20  # there are temporal positives to draw
    trainer = ContrastiveTrainer(data, TrainConfig(batch_size=32, p_temporal=1.0, seed=3))
    pairs = 0
    for _ in range(200):
        i, j = trainer.sample()
        i, j = i.numpy(), j.numpy()
        assert (shot[i] == shot[j]).all()
        assert (data.tracklet[i] == data.tracklet[j]).all()
        pairs += int((data.frames[i] != data.frames[j]).sum())
    assert pairs > 100  # far-apart positives were drawn, none across a cut
