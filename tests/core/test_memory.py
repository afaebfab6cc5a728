"""Identity memory: a person who leaves and comes back gets the old ID; the memory is bounded."""
import numpy as np
import pytest

from tracker import Detections, Tracker, TrackerConfig
from tracker.memory import IdentityMemory, MemoryConfig, MemoryEntry, plausible

FPS = 10.0


def unit(v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def appearance(seed, dim=16):
    return unit(np.random.default_rng(seed).normal(size=dim))


def noisy(e, rng, scale=0.05):
    return unit(e + rng.normal(scale=scale, size=e.shape))


def dets(boxes, embs):
    if not boxes:
        return Detections.empty(embedding_dim=16)
    return Detections(np.asarray(boxes, float), scores=[0.9] * len(boxes), embeddings=np.stack(embs))


def box_at(x, y=100.0, w=40.0, h=100.0):
    return [x, y, x + w, y + h]


def exit_and_return(gap_frames, return_x, return_emb, rng):
    """Person A walks right for 20 frames, is unseen for gap_frames, then reappears at return_x
    (with embedding return_emb); person B stays visible the whole time, far away."""
    a, b = appearance(1), appearance(2)
    frames = []
    for k in range(20):
        frames.append(([box_at(100 + 3 * k), box_at(500, 300)], [noisy(a, rng), noisy(b, rng)]))
    for _ in range(gap_frames):
        frames.append(([box_at(500, 300)], [noisy(b, rng)]))
    for k in range(10):
        frames.append(([box_at(500, 300), box_at(return_x + 3 * k)], [noisy(b, rng), noisy(return_emb, rng)]))
    return frames


def cfg(**memory):
    return TrackerConfig(frame_rate=FPS, min_hits=2, lost_horizon_s=1.0,
                         memory=MemoryConfig(horizon_s=30.0, **memory))


def ids_over(tracker, frames):
    seen = []
    for k, (boxes, embs) in enumerate(frames):
        tr = tracker.update(dets(boxes, embs), timestamp=k / FPS)
        seen.append({int(d): int(i) for d, i in zip(tr.det_index, tr.track_ids)})
    return seen


def test_exit_and_return_revives_the_old_id():
    rng = np.random.default_rng(0)
    # 5 s away (far beyond the 1 s lost horizon: the track is removed, only the memory keeps it),
    # back near where it left
    frames = exit_and_return(50, 180, appearance(1), rng)
    tracker = Tracker(cfg())
    seen = ids_over(tracker, frames)
    id_a_before = seen[19][0]
    id_b = seen[19][1]
    assert id_a_before != id_b
    after = [s[1] for s in seen[-8:] if 1 in s]  # det 1 is A after the return
    assert after and all(i == id_a_before for i in after)
    b_ids = [s.get(1) for s in seen[1:20]] + [s.get(0) for s in seen[20:]]  # B: det 1, then det 0
    assert set(b_ids) == {id_b}  # B never changed
    assert len(tracker.memory) == 0  # the revived identity left the memory


def test_a_stranger_gets_a_new_id():
    rng = np.random.default_rng(0)
    frames = exit_and_return(50, 180, appearance(3), rng)  # someone else appears there
    seen = ids_over(Tracker(cfg()), frames)
    id_a_before = seen[19][0]
    after = [s[1] for s in seen[-8:] if 1 in s]
    assert after and all(i != id_a_before for i in after)
    assert max(after) > max(seen[19].values())  # a fresh ID, never a reused one


def test_implausible_reappearance_is_not_revived():
    rng = np.random.default_rng(0)
    # back after 0.5 s unseen beyond the horizon... but 40 box heights away: too far to walk
    frames = exit_and_return(16, 4000, appearance(1), rng)
    seen = ids_over(Tracker(cfg(max_speed=1.0)), frames)
    id_a_before = seen[19][0]
    after = [s[1] for s in seen[-8:] if 1 in s]
    assert after and all(i != id_a_before for i in after)


def test_memory_disabled_issues_new_id():
    rng = np.random.default_rng(0)
    frames = exit_and_return(50, 180, appearance(1), rng)
    seen = ids_over(Tracker(cfg(enabled=False)), frames)
    after = [s[1] for s in seen[-8:] if 1 in s]
    assert after and seen[19][0] not in after


def entry(track_id, emb, last_seen=0.0, box=(0, 0, 10, 20), class_id=0):
    return MemoryEntry(track_id, np.atleast_2d(emb).astype(np.float32), np.asarray(box, float), last_seen, class_id)


def test_memory_is_bounded_in_size_oldest_evicted_first():
    mem = IdentityMemory(MemoryConfig(max_entries=5))
    for i in range(1, 21):
        mem.remember(entry(i, appearance(i)))
        assert len(mem) <= 5
    assert mem.ids() == [16, 17, 18, 19, 20]
    mem.remember(entry(17, appearance(17)))  # a refresh moves it to the newest end
    mem.remember(entry(21, appearance(21)))
    assert mem.ids() == [18, 19, 20, 17, 21]


def test_memory_is_bounded_in_age():
    mem = IdentityMemory(MemoryConfig(horizon_s=10.0))
    mem.remember(entry(1, appearance(1), last_seen=0.0))
    mem.remember(entry(2, appearance(2), last_seen=5.0))
    mem.expire(10.0)
    assert mem.ids() == [1, 2]
    mem.expire(12.0)
    assert mem.ids() == [2]
    mem.expire(100.0)
    assert len(mem) == 0


def test_track_bank_is_bounded_and_a_long_run_keeps_memory_bounded():
    rng = np.random.default_rng(5)
    config = TrackerConfig(frame_rate=FPS, min_hits=1, lost_horizon_s=0.1,
                           memory=MemoryConfig(max_entries=8, bank_size=3, bank_interval_s=0.0, horizon_s=1000.0))
    tracker = Tracker(config)
    clock = iter(np.arange(10000) / FPS)
    # 60 different people, each seen for 5 frames then gone for good
    for person in range(60):
        e = appearance(100 + person)
        for k in range(5):
            tracker.update(dets([box_at(50 + 7 * (person % 50), 50 + 4 * person)], [noisy(e, rng)]),
                           timestamp=next(clock))
        for t in tracker._tracks:
            assert len(t.bank) <= 3
        for _ in range(3):
            tracker.update(dets([], []), timestamp=next(clock))
        assert len(tracker.memory) <= 8
    assert len(tracker.memory) == 8
    assert all(len(e.bank) <= 3 for e in tracker.memory._entries.values())


def test_best_match_rules():
    cfgm = MemoryConfig(min_similarity=0.8, margin=0.05, max_speed=1.0)
    mem = IdentityMemory(cfgm)
    a, b = appearance(1), appearance(2)
    mem.remember(entry(1, a, last_seen=0.0, box=(0, 0, 20, 50)))
    mem.remember(entry(2, b, last_seen=0.0, box=(0, 0, 20, 50)))
    near = np.array([10.0, 0.0, 30.0, 50.0])
    assert mem.best_match(a, near, 0, now=1.0) == 1
    assert mem.best_match(b, near, 0, now=1.0) == 2
    assert mem.best_match(a, near, 1, now=1.0) is None  # another class
    assert mem.best_match(appearance(9), near, 0, now=1.0) is None  # nobody we know
    far = np.array([5000.0, 0.0, 5020.0, 50.0])
    assert mem.best_match(a, far, 0, now=1.0) is None  # could not have walked there
    # two identities that look alike: ambiguous, no revival
    mem2 = IdentityMemory(cfgm)
    mem2.remember(entry(1, a, box=(0, 0, 20, 50)))
    mem2.remember(entry(2, unit(a + 0.01 * b), box=(0, 0, 20, 50)))
    assert mem2.best_match(a, near, 0, now=1.0) is None


def test_plausible_reach_grows_with_time():
    last = np.array([0.0, 0.0, 20.0, 100.0])
    cand = np.array([[300.0, 0.0, 320.0, 100.0]])  # 3 box heights away
    assert not plausible(last, 0.5, cand, max_speed=2.0)[0]
    assert plausible(last, 1.0, cand, max_speed=2.0)[0]


@pytest.mark.parametrize("bad", [dict(max_entries=0), dict(horizon_s=-1.0), dict(bank_size=0), dict(margin=-0.1)])
def test_memory_config_validation(bad):
    with pytest.raises(ValueError, match="MemoryConfig"):
        MemoryConfig(**bad)
