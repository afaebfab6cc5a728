"""The learned parts of the offline stage: the self-supervised pair scorer (labels from cutting
alone, never reading gt, weights that reproduce the trained network, hard rules kept) and the
learned appearance aggregation (weights sum to 1, a corrupted observation weighs less after
training on a hand-built case)."""
import shutil
import sys

import numpy as np
import pytest

from tracker.model_registry import OFFLINE_AGGREGATOR, OFFLINE_SCORER
from tracker.offline import OfflineConfig, link_frames
from tracker.offline.aggregation import Aggregator, load_aggregator, observation_features
from tracker.offline.learned import FEATURES, PairScorer, load_scorer
from tracker.offline.mot_rows import frames_from_rows
from tracker.training.offline_aggregation import (
    AggregatorTraining,
    Pieces,
    TrackletObservations,
    build_network as build_aggregator,
    export_params as export_aggregator,
    learned_piece,
    retrieval_accuracy,
    save_aggregator,
    split_pieces,
    torch_aggregate,
    train_aggregator,
    uniform_piece,
)
from tracker.training.offline_scorer import (
    CutSettings,
    ScorerTraining,
    build_network,
    cut_pairs,
    export_params,
    save_scorer,
    sequence_frames,
    train_scorer,
)

FPS = 10.0


def walker(tid, first, last, x0, vx, y=100.0, w=40.0, h=100.0, score=0.9):
    return [(f, tid, (x0 + vx * (f - first), y, w, h), score) for f in range(first, last + 1)]


def scene():
    """Tracks 1 and 2 co-exist (frames 1-40, 300 px apart); track 3 comes later (60-100),
    never co-existing with them."""
    rows = walker(1, 1, 40, 100.0, 2.0) + walker(2, 1, 40, 400.0, -2.0) + walker(3, 60, 100, 180.0, 2.0)
    return frames_from_rows(sorted(rows, key=lambda r: (r[0], r[1])), 100, FPS)


# ---------------------------------------------------------------------------- the pair scorer
def test_scorer_is_validated():
    assert OfflineConfig().scorer == "learned"  # the default by held-out evidence (docs/offline.md)
    with pytest.raises(ValueError, match="scorer must be one of hand, learned"):
        OfflineConfig(scorer="magic")
    with pytest.raises(ValueError, match="scorer_weights"):
        OfflineConfig(scorer_weights="")
    with pytest.raises(Exception, match="unknown"):
        OfflineConfig.from_dict({"scorr": "hand"})


def test_self_supervised_labels_come_from_cutting_alone():
    pairs = cut_pairs(scene(), OfflineConfig(), CutSettings(passes=3), np.random.default_rng(0))
    # sources are numbered by start: tracks 1, 2 -> 0, 1; track 3 -> 2
    assert pairs.positives == 3 * 3  # each of the three tracks cut once per pass, its two pieces linkable
    assert np.array_equal(pairs.labels == 1, pairs.groups == pairs.partners)
    different = pairs.groups != pairs.partners
    # negatives only between the two co-existing tracks; track 3's pairs with them are unknown: left out
    assert set(zip(pairs.groups[different].tolist(), pairs.partners[different].tolist())) <= {(0, 1), (1, 0)}
    assert pairs.features.shape == (len(pairs.labels), len(FEATURES))
    gap = pairs.features[pairs.labels == 1, FEATURES.index("gap_s")]
    assert np.all((gap >= 0.2 - 1e-9) & (gap <= 4.0))


def test_scorer_weights_reproduce_the_trained_network(tmp_path):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, len(FEATURES)))
    mean, std = x.mean(axis=0), x.std(axis=0)
    net = build_network(len(FEATURES), seed=3)
    platt = np.array([0.7, -0.2])
    path = save_scorer(tmp_path / "s.npz", export_params(net, mean, std, platt), {"note": "test"})
    scorer = load_scorer(path)
    with torch.no_grad():
        expected = net(torch.tensor((x - mean) / std, dtype=torch.float32))[:, 0].numpy()
    assert np.allclose(scorer.logits(x), expected, atol=1e-5)
    assert np.allclose(scorer.log_odds(x), 0.7 * expected - 0.2, atol=1e-5)


def test_the_shipped_scorer_loads_with_its_metadata():
    path = OFFLINE_SCORER.shipped_path()
    scorer = load_scorer(path)
    assert isinstance(scorer, PairScorer) and scorer.mean.shape == (len(FEATURES),)
    meta = OFFLINE_SCORER.metadata(path)
    assert meta["command"].startswith("python benchmarks/offline_scorer_train.py")
    assert meta["training_files"] and all(f["licence_class"] for f in meta["training_files"])
    assert not any("/gt/" in f["file"] for f in meta["training_files"])


def test_learned_scorer_keeps_the_hard_rules():
    """Two co-existing people are never one identity; a jump beyond the reachable disc is never
    linked, whatever the network says."""
    far = walker(1, 1, 20, 100.0, 1.0) + walker(2, 26, 50, 1500.0, 1.0)  # 14 heights in 0.6 s
    both = walker(3, 1, 50, 600.0, 0.0) + walker(4, 10, 50, 640.0, 0.0)
    frames = frames_from_rows(sorted(far + both, key=lambda r: (r[0], r[1])), 50, FPS)
    out = link_frames(frames, OfflineConfig(scorer="learned", threshold=0.01))
    for f in out.frames:
        ids = f.tracks.track_ids.tolist()
        assert len(ids) == len(set(ids)), f.frame_index
    assert out.stats.links == 0, out.stats


def test_the_shipped_scorer_adds_the_hand_appearance_term_it_was_not_trained_on():
    """Trained on MOT files (no embeddings): with embeddings the network sees what it saw in
    training and the hand-built appearance likelihood ratio is added."""
    from tracker.offline.learned import learned_log_odds
    from tracker.offline.scoring import TrackletTable, appearance_log_lr
    from tracker.offline.tracklets import TrackletBuilder

    assert not load_scorer().appearance_trained
    rows = walker(1, 1, 20, 100.0, 2.0) + walker(2, 26, 50, 150.0, 2.0)
    frames = frames_from_rows(sorted(rows, key=lambda r: (r[0], r[1])), 50, FPS)
    tables = []
    for emb in (None, np.array([1.0, 0.0])):
        builder = TrackletBuilder(OfflineConfig())
        for f in frames:
            builder.add(f.tracks, f.timestamp, None if emb is None else np.tile(emb, (len(f.tracks), 1)))
        tables.append(TrackletTable.from_tracklets(builder.finish()))
    a, b = np.array([0]), np.array([1])
    plain, ok = learned_log_odds(tables[0], a, b, OfflineConfig())
    seen, _ = learned_log_odds(tables[1], a, b, OfflineConfig())
    term = appearance_log_lr(tables[1], a, b, OfflineConfig())
    assert ok[0] and term[0] > 0  # cosine 1: evidence for one identity
    assert np.allclose(seen, plain + term)


def test_learned_scorer_ranks_the_straight_continuation_of_a_crossing_first():
    """Two people crossing, both hidden 0.6 s at the crossing: the hand-built scorer gives the
    straight continuations and the swaps the same log-odds (its prediction averages the two
    velocities); the learned one prefers the straight continuations."""
    from tracker.offline.learned import learned_log_odds
    from tracker.offline.scoring import TrackletTable, candidate_pairs, pair_log_odds
    from tracker.offline.tracklets import TrackletBuilder

    rows = []
    for f in range(1, 32):
        t = (f - 1) / FPS
        if 1.25 <= t <= 1.75:
            continue
        ida, idb = (1, 2) if t < 1.5 else (3, 4)
        rows += [(f, ida, (100 + 100 * t, 100.0, 40.0, 100.0), 0.9), (f, idb, (400 - 100 * t, 104.0, 40.0, 100.0), 0.9)]
    frames = frames_from_rows(rows, 31, FPS)
    builder = TrackletBuilder(OfflineConfig())
    for f in frames:
        builder.add(f.tracks, f.timestamp)
    table = TrackletTable.from_tracklets(builder.finish())
    a, b = candidate_pairs(table, OfflineConfig())
    hand, _ = pair_log_odds(table, a, b, OfflineConfig())
    learned, ok = learned_log_odds(table, a, b, OfflineConfig())
    straight = table.start_centre[b, 0] - table.end_centre[a, 0]
    straight = np.sign(straight) == np.sign(table.end_velocity[a, 0])
    assert ok.all() and straight.sum() == 2 and len(a) == 4
    assert np.ptp(hand) < 0.01  # y differs by 4 px: 0.005 apart
    assert learned[straight].min() > learned[~straight].max() + 1.0


def test_learned_scorer_never_merges_coexisting_rows_on_a_real_sequence(shared_data):
    seq = shared_data.require(shared_data.mot / "TUD-Stadtmitte")
    frames = sequence_frames(seq)
    out = link_frames(frames, OfflineConfig(scorer="learned", threshold=0.05))
    assert out.stats.links > 0
    for f in out.frames:
        assert len(set(f.tracks.track_ids.tolist())) == len(f.tracks), f.frame_index


def test_self_supervised_training_never_opens_ground_truth(shared_data, tmp_path):
    """The whole self-supervised path (tracking the detections, cutting, training) on a copy of
    a sequence without its gt folder, and on the original (which has one) under an audit hook
    that records every opened path."""
    pytest.importorskip("torch")
    src = shared_data.require(shared_data.mot / "TUD-Campus")
    shared_data.require(src / "gt")
    copy = tmp_path / "TUD-Campus"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("gt", "img1"))
    opened, active = [], [True]

    def hook(event, args):
        if active[0] and event == "open" and args and isinstance(args[0], (str, bytes)):
            opened.append(str(args[0]))

    sys.addaudithook(hook)  # hooks cannot be removed: it stops recording when ``active`` is cleared
    try:
        sets = [cut_pairs(sequence_frames(d), OfflineConfig(), CutSettings(passes=4), np.random.default_rng(0))
                for d in (copy, src)]
        from tracker.training.offline_scorer import PairSet

        train_scorer(PairSet.concatenate(sets), ScorerTraining(epochs=2))
    finally:
        active[0] = False
    assert any(p.endswith("det.txt") for p in opened), opened[:20]
    assert not [p for p in opened if "/gt/" in p or p.endswith("gt.txt")]
    assert not (copy / "gt").exists()


# ------------------------------------------------------------------------------ aggregation
def random_aggregator(seed=0):
    rng = np.random.default_rng(seed)
    f = 5
    return Aggregator({"mean": np.zeros(f), "std": np.ones(f), "w0": rng.normal(size=(f, 16)),
                       "b0": rng.normal(size=16), "w1": rng.normal(size=(16, 1)), "b1": np.zeros(1)})


def test_aggregation_weights_sum_to_one_and_aggregate_is_unit():
    rng = np.random.default_rng(2)
    emb = rng.normal(size=(12, 8))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    feats = observation_features(emb, rng.uniform(0.3, 1, 12), rng.uniform(0, 0.5, 12), rng.uniform(50, 120, 12))
    assert feats.shape == (12, 5)
    assert feats[0, 3] == 0.0 and feats[-1, 3] == 1.0  # position in the tracklet
    w = random_aggregator().weights(feats)
    assert np.all(w >= 0) and abs(w.sum() - 1.0) < 1e-12
    out = random_aggregator().aggregate(emb, feats)
    assert abs(np.linalg.norm(out) - 1.0) < 1e-12


def corrupted_world(rng, people=5, obs=30, dim=16, corrupt=0.3):
    """Co-existing tracklets: each observation is its person's vector plus noise, except
    corrupted ones (low score, overlapped) that show another person's vector."""
    ids = rng.normal(size=(people, dim))
    tracklets, flags = [], []
    for k in range(people):
        bad = rng.random(obs) < corrupt
        other = (k + 1 + rng.integers(0, people - 1, obs)) % people
        emb = np.where(bad[:, None], ids[other], ids[k]) + 0.3 * rng.normal(size=(obs, dim))
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        scores = np.where(bad, rng.uniform(0.2, 0.4, obs), rng.uniform(0.7, 1.0, obs))
        overlaps = np.where(bad, rng.uniform(0.4, 0.7, obs), rng.uniform(0.0, 0.2, obs))
        tracklets.append(TrackletObservations(np.arange(obs), emb, scores, overlaps, np.full(obs, 100.0)))
        flags.append(bad)
    return tracklets, flags


def test_a_corrupted_observation_gets_less_weight_after_training():
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    videos = [corrupted_world(rng)[0] for _ in range(6)]
    params, report = train_aggregator(videos, AggregatorTraining(steps=150, min_obs=5, splits=4))
    assert report["last_loss"] < report["first_loss"]
    agg = Aggregator(params)
    test, flags = corrupted_world(np.random.default_rng(99))
    for t, bad in zip(test, flags):
        w = agg.weights(observation_features(t.embeddings, t.scores, t.overlaps, t.heights))
        assert w[bad].mean() < 0.5 * w[~bad].mean()
    pieces = [split_pieces(test, 5, np.random.default_rng(s)) for s in range(10)]
    assert retrieval_accuracy(pieces, learned_piece(agg))[0] >= retrieval_accuracy(pieces, uniform_piece)[0]


def test_retrieval_counts_only_queries_with_a_coexisting_rival():
    a = np.eye(3)[[0, 0]]
    piece = lambda v: (v, observation_features(v, np.ones(len(v)), np.zeros(len(v)), np.full(len(v), 50.0)),  # noqa: E731
                       np.ones(len(v)), np.zeros(len(v)))
    p = Pieces([piece(a), piece(np.eye(3)[[1, 1]])], [piece(np.eye(3)[[0, 1]]), piece(np.eye(3)[[1, 1]])],
               np.array([[False, True], [True, False]]))
    accuracy, queries = retrieval_accuracy([p], uniform_piece)
    assert queries == 2 and accuracy == 1.0  # 0 -> (0+1 mean) 0.707 > 0; 1 -> 1.0 > 0.707


def test_aggregator_weights_reproduce_the_torch_model(tmp_path):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    net = build_aggregator(seed=1)
    with torch.no_grad():
        net[2].weight.normal_()
    feats = rng.normal(size=(20, 5))
    emb = rng.normal(size=(20, 8))
    mean, std = np.zeros(5), np.ones(5)
    path = save_aggregator(tmp_path / "a.npz", export_aggregator(net, mean, std), {"note": "test"})
    agg = load_aggregator(path)
    seg = torch.zeros(20, dtype=torch.int64)
    with torch.no_grad():
        expected = torch_aggregate(net, torch.tensor(emb, dtype=torch.float32),
                                   torch.tensor(feats, dtype=torch.float32), seg, 1)[0].numpy()
    assert np.allclose(agg.aggregate(emb, feats), expected, atol=1e-5)


def test_the_shipped_aggregator_loads_with_its_metadata():
    path = OFFLINE_AGGREGATOR.shipped_path()
    assert isinstance(load_aggregator(path), Aggregator)
    meta = OFFLINE_AGGREGATOR.metadata(path)
    assert meta["command"].startswith("python benchmarks/offline_aggregation.py")
    assert all(f["licence_class"] for f in meta["training_files"])
