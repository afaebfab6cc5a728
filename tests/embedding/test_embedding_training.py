"""Training pieces: the memory-bank queue, hard-negative mining, tracklet linking, a short
training run that lowers the loss, and exact checkpoint resume."""
import numpy as np
import pytest
import torch

from tracker.embedding.augment import AugmentConfig
from tracker.embedding.model import EncoderConfig
from tracker.training.contrastive import ContrastiveTrainer, TrainConfig, info_nce
from tracker.training.data import TrainingSet
from tracker.training.linking import LinkConfig, build_tracklets, link_pairs
from tracker.training.mining import mine_hard_negatives
from tracker.training.queue import MemoryQueue

torch.set_num_threads(1)


# ---------------------------------------------------------------- queue
def test_queue_fifo_and_size():
    q = MemoryQueue(size=5, dim=2)
    assert len(q) == 0 and q.embeddings.shape == (0, 2)
    for start in (0, 3):
        vals = torch.arange(start, start + 3, dtype=torch.float32)
        q.push(torch.stack([vals, -vals], 1), torch.arange(start, start + 3))
    # pushed 0..5 (6 rows) into 5 slots: the oldest (0) is gone, order oldest first
    assert len(q) == 5
    assert q.tracklets.tolist() == [1, 2, 3, 4, 5]
    assert q.embeddings[:, 0].tolist() == [1, 2, 3, 4, 5]
    q.push(torch.tensor([[9.0, 9.0]]), torch.tensor([9]))
    assert q.tracklets.tolist() == [2, 3, 4, 5, 9]


def test_queue_push_more_than_size_keeps_last():
    q = MemoryQueue(size=3, dim=1)
    q.push(torch.arange(7, dtype=torch.float32).view(-1, 1), torch.arange(7))
    assert q.tracklets.tolist() == [4, 5, 6]


def test_queue_state_round_trip_and_validation():
    q = MemoryQueue(4, 3)
    q.push(torch.randn(6, 3), torch.arange(6))
    r = MemoryQueue(4, 3)
    r.load_state_dict(q.state_dict())
    assert torch.equal(q.embeddings, r.embeddings) and torch.equal(q.tracklets, r.tracklets)
    with pytest.raises(ValueError):
        q.push(torch.randn(2, 4), torch.arange(2))
    with pytest.raises(ValueError):
        MemoryQueue(0, 3)


# ---------------------------------------------------------------- mining
def _unit(v):
    v = torch.tensor(v, dtype=torch.float32)
    return v / v.norm(dim=-1, keepdim=True)


def test_hard_negatives_known_answer():
    query = _unit([[1.0, 0.0]])
    # bank entry 0: same tracklet (most similar, must be skipped); 1: close; 2: far; 3: closest other
    bank = _unit([[1.0, 0.01], [1.0, 0.5], [-1.0, 0.0], [1.0, 0.2]])
    sims, index, valid = mine_hard_negatives(query, bank, torch.tensor([7]), torch.tensor([7, 1, 2, 3]), k=2)
    assert index.tolist() == [[3, 1]]
    assert valid.all()
    assert sims[0, 0] > sims[0, 1]


def test_hard_negatives_respect_eligibility_and_report_shortage():
    query = _unit([[1.0, 0.0], [0.0, 1.0]])
    bank = _unit([[1.0, 0.1], [0.1, 1.0], [0.7, 0.7]])
    eligible = torch.tensor([[False, True, True], [True, True, True]])
    sims, index, valid = mine_hard_negatives(query, bank, torch.tensor([0, 1]), torch.tensor([5, 1, 6]), k=3,
                                             eligible=eligible)
    assert index[0, :2].tolist() == [2, 1] and valid[0].tolist() == [True, True, False]
    assert index[1, :2].tolist() == [2, 0] and valid[1].tolist() == [True, True, False]
    with pytest.raises(ValueError):
        mine_hard_negatives(query, bank, torch.tensor([0, 1]), torch.tensor([5, 1, 6]), k=0)


def test_info_nce_prefers_aligned_pairs():
    q = _unit([[1.0, 0.0], [0.0, 1.0]])
    neg = _unit([[-1.0, 0.0], [0.0, -1.0]])
    mask = torch.ones(2, 2, dtype=torch.bool)
    good = info_nce(q, q, neg, mask, 0.1)
    bad = info_nce(q, q.flip(0), neg, mask, 0.1)
    assert float(good) < 0.01 < float(bad)


# ---------------------------------------------------------------- linking
def test_link_pairs_unambiguous_only():
    a = np.array([[0, 0, 10, 20], [100, 0, 110, 20], [200, 0, 210, 20]], float)
    b = np.array([[1, 0, 11, 20],  # clear continuation of a0
                  [103, 0, 113, 20], [104, 0, 114, 20],  # a1 has two close candidates: ambiguous
                  [300, 0, 310, 20]])  # nothing
    pairs = link_pairs(a, b, LinkConfig(min_iou=0.5, margin=0.2))
    assert pairs.tolist() == [[0, 0]]


def test_build_tracklets_chains_and_breaks_on_gaps():
    frames = np.array([1, 2, 3, 5, 1])
    boxes = np.array([[0, 0, 10, 20], [1, 0, 11, 20], [2, 0, 12, 20], [3, 0, 13, 20], [50, 50, 60, 70]], float)
    trk = build_tracklets(frames, boxes)
    assert trk[0] == trk[1] == trk[2]
    assert len({trk[0], trk[3], trk[4]}) == 3  # frame 4 missing: a new tracklet


# ---------------------------------------------------------------- a short training run
def _synthetic_set(n_ids=12, per_id=24, seed=0):
    """People-like crops: each identity has a shirt and trousers colour; 3 tracklets of 8 per id,
    two identities per 'frame' so co-existing tracklets exist."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, (n_ids, 2, 3))
    patches, frames, trk = [], [], []
    for i in range(n_ids):
        for k in range(per_id):
            img = np.full((80, 40, 3), 128, np.uint8)
            img[8:40, 8:32] = colours[i, 0]
            img[40:76, 10:30] = colours[i, 1]
            img = np.clip(img.astype(int) + rng.integers(-20, 21, img.shape), 0, 255).astype(np.uint8)
            patches.append(img)
            frames.append((i // 2) * 100 + k + 1)
            trk.append(i * 3 + k // 8)
    trk = np.array(trk)
    frames = np.array(frames)
    n_trk = trk.max() + 1
    t_start = np.array([frames[trk == t].min() for t in range(n_trk)])
    t_end = np.array([frames[trk == t].max() for t in range(n_trk)])
    return TrainingSet(np.stack(patches), np.zeros(len(trk), np.int64), frames, trk, np.zeros(n_trk, np.int64),
                       t_start, t_end, [])


TINY = EncoderConfig(stem_channels=(8, 16, 16, 32), depth=1, heads=2, dim=32)


def _trainer(steps, **kw):
    cfg = TrainConfig(steps=steps, batch_size=32, queue_size=32, warmup_steps=5, lr=3e-3, proj_hidden=64,
                      bn_group=16, checkpoint_every=2, **kw)
    return ContrastiveTrainer(_synthetic_set(), cfg, TINY, AugmentConfig())


@pytest.mark.parametrize("hard", [0, 16])
def test_short_training_lowers_the_loss(hard):
    tr = _trainer(40, hard_negatives=hard)
    losses = tr.train()
    assert len(losses) == 40 and all(np.isfinite(losses))
    # the queue is full after the first step, so the loss scale is fixed from step 2 on
    assert np.mean(losses[-8:]) < np.mean(losses[1:9]) - 0.2, losses


def test_training_is_deterministic_and_resumes_exactly(tmp_path):
    a = _trainer(6)
    a.train()
    b = _trainer(6)
    b.train(until=3)
    b.save_checkpoint(tmp_path / "ck.pt")
    c = _trainer(6)
    c.load_checkpoint(tmp_path / "ck.pt")
    assert c.step_index == 3
    c.train()
    for (name, pa), pc in zip(a.encoder.state_dict().items(), c.encoder.state_dict().values()):
        assert torch.equal(pa, pc), name
    assert a.loss_history == c.loss_history


def test_temporal_positives_stay_in_the_tracklet():
    tr = _trainer(1, p_temporal=1.0)
    i, j = tr.sample()
    assert np.array_equal(tr.data.tracklet[i.numpy()], tr.data.tracklet[j.numpy()])
    assert (i != j).any()


def test_safe_negatives_only_coexisting_or_other_video():
    tr = _trainer(1)
    # tracklets 0..2 are identity 0 (frames 1..24), 3..5 identity 1 (same frames 1..24)
    safe = tr._safe(torch.tensor([0]), torch.tensor([0, 1, 3, 6]))
    # 0 vs 0: same; 0 (frames 1-8) vs 1 (9-16): never together -> unsafe; vs 3 (1-8): co-exist -> safe;
    # vs 6 (frames 101-108): unsafe
    assert safe.tolist() == [[False, False, True, False]]


@pytest.mark.parametrize("field,value", [("steps", 0), ("temperature", 0.0), ("p_temporal", 2.0), ("batch_size", 1)])
def test_train_config_validation(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})
