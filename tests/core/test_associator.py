"""The Transformer associator: tokens, probabilities with newborn/unseen columns, assignment,
the shipped weights (offline), and agreement of the numpy inference with the torch network."""
import socket
from collections import deque
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pytest

from tracker import Detections, Tracker, TrackerConfig
from tracker.assignment import linear_assignment
from tracker.association import AssociationContext, Stage, make_associator
from tracker.association.tokens import (DET_DIM, HISTORY_DIM, HISTORY_LEN, PAIR_DIM, TRACK_DIM, MAX_SECONDS,
                                        DetCol, HistoryCol, PairCol, TrackCol, build_tokens)
from tracker.association.transformer import (TransformerAssociator, load_weights, match_probabilities,
                                             shipped_weights_path)
from tracker.boxes import xyxy_to_cxcywh
from tracker.motion import MotionConfig, initiate


@dataclass
class FakeTrack:
    """A ``TrackLike`` built from observations (t, x1, y1, x2, y2, score)."""

    history: deque
    mean: np.ndarray
    cov: np.ndarray
    last_seen: float
    score: float = 0.9
    class_id: int = 0
    embedding: Optional[np.ndarray] = None

    @property
    def xyxy(self):
        cx, cy, w, h = self.mean[:4]
        return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def make_track(rows, velocity=(0.0, 0.0), embedding=None):
    rows = [tuple(map(float, r)) for r in rows]
    mean, cov = initiate(xyxy_to_cxcywh(np.array(rows[-1][1:5]))[0], MotionConfig())
    mean[4:6] = velocity
    return FakeTrack(deque(rows, maxlen=16), mean, cov, rows[-1][0], rows[-1][5], embedding=embedding)


def walking_track(n, t0=0.0, dt=0.1, x0=100.0, vx=50.0, h=100.0):
    """n observations of a 40 x h box moving vx px/s, dt seconds apart."""
    return make_track([(t0 + k * dt, x0 + vx * k * dt, 50, x0 + vx * k * dt + 40, 50 + h, 0.9) for k in range(n)],
                      velocity=(vx, 0.0))


# ----------------------------------------------------------------- tokens
def test_token_shapes_and_padding():
    tracks = [walking_track(3), walking_track(12, x0=300)]
    det = np.array([[110, 50, 150, 150], [400, 60, 440, 160], [0, 0, 10, 10]], float)
    tok = build_tokens(tracks, det, np.array([0.9, 0.6, 0.3]), Stage.FIRST, now=1.25, image_size=(640, 480))
    assert tok.history.shape == (2, HISTORY_LEN, HISTORY_DIM) and tok.history.dtype == np.float32
    assert tok.history_mask.shape == (2, HISTORY_LEN)
    assert tok.track_globals.shape == (2, TRACK_DIM)
    assert tok.det_tokens.shape == (3, DET_DIM)
    assert tok.pairs.shape == (2, 3, PAIR_DIM)
    # left-padded: a 3-observation track has its 3 newest tokens valid, the rest zero
    assert tok.history_mask[0].tolist() == [False] * (HISTORY_LEN - 3) + [True] * 3
    assert np.all(tok.history[0, :HISTORY_LEN - 3] == 0)
    assert tok.history_mask[1].all()  # 12 observations: the newest 8 are kept
    assert all(np.isfinite(a).all() for a in (tok.history, tok.track_globals, tok.det_tokens, tok.pairs))


def test_token_normalization():
    """Hand-computed values, read by column name (the names the networks read them by)."""
    track = walking_track(5, dt=0.1, vx=50.0, h=100.0)
    det = np.array([[320, 120, 384, 360]], float)  # centre (352, 240), 64 x 240
    tok = build_tokens([track], det, np.array([0.8]), Stage.SECOND, now=0.6, image_size=(640, 480))
    np.testing.assert_allclose(tok.det_tokens[0, DetCol.BOX], [352 / 640, 240 / 480, 64 / 640, 240 / 480], rtol=1e-6)
    assert tok.det_tokens[0, DetCol.SCORE] == pytest.approx(0.8)
    assert tok.det_tokens[0, DetCol.LOG_ASPECT] == pytest.approx(np.log(240 / 64))
    assert tok.det_tokens[0, DetCol.STAGE].tolist() == [0, 1, 0]  # stage one-hot: SECOND
    assert tok.det_tokens[0, DetCol.STAGE_SECOND] == 1
    # velocity in box heights per second: 50 px/s over a 100 px box = 0.5
    np.testing.assert_allclose(tok.history[0, -4:, HistoryCol.VX], 0.5, rtol=1e-5)
    np.testing.assert_allclose(tok.history[0, -4:, HistoryCol.VY], 0.0, atol=1e-6)
    assert tok.history[0, -1, HistoryCol.SCORE] == pytest.approx(0.9) and tok.history[0, -1, HistoryCol.VALID] == 1
    # ages in seconds: newest observation at t=0.4, now=0.6
    assert tok.history[0, -1, HistoryCol.AGE] == pytest.approx(0.2)
    assert tok.track_globals[0, TrackCol.GAP] == pytest.approx(0.2)  # seconds since last seen
    assert tok.track_globals[0, TrackCol.SCORE] == pytest.approx(0.9)
    np.testing.assert_allclose(tok.track_globals[0, TrackCol.VELOCITY], [0.5, 0.0], atol=1e-5)
    assert tok.track_globals[0, TrackCol.STAGE].tolist() == [0, 1, 0]
    # predicted box normalized by the image size
    box = tok.track_globals[0, TrackCol.BOX]
    assert 0 < box[0] < 1 and box[3] == pytest.approx(100 / 480, rel=1e-4)
    # the detection does not overlap the track (x 100..160 at t=0.4): IoU 0
    assert tok.pairs[0, 0, PairCol.IOU_PREDICTED] == 0 and tok.pairs[0, 0, PairCol.IOU_LAST] == 0
    assert tok.pairs[0, 0, PairCol.LOG_H] == pytest.approx(np.log(240 / 100), rel=1e-3)


def test_token_column_names_cover_every_column_once():
    """Each token array's named columns are distinct and together cover all of it, so code that
    reads by name cannot silently read a neighbour (aliases: groups of columns named above)."""
    aliases = {HistoryCol: {"OFFSET", "LOG_SIZE", "VELOCITY"}, DetCol: {"STAGE_SECOND"}}
    for cols in (HistoryCol, TrackCol, DetCol, PairCol):
        covered = []
        for name, value in vars(cols).items():
            if name.startswith("_") or name == "DIM" or name in aliases.get(cols, ()):
                continue
            covered += list(range(cols.DIM))[value] if isinstance(value, slice) else [value]
        assert sorted(covered) == list(range(cols.DIM)), cols.__name__
    assert list(range(DetCol.DIM))[DetCol.STAGE][1] == DetCol.STAGE_SECOND  # STAGES order: first, second, ...
    assert list(range(HistoryCol.DIM))[HistoryCol.VELOCITY] == [HistoryCol.VX, HistoryCol.VY]


def test_tokens_are_time_aware_not_frame_aware():
    """The same motion seen at 10 fps and at 30 fps gives the same velocity and gap features."""
    slow = walking_track(4, dt=0.1, vx=30.0)
    fast = walking_track(10, dt=1 / 30, vx=30.0)
    det = np.array([[120, 50, 160, 150]], float)
    a = build_tokens([slow], det, np.array([0.9]), Stage.FIRST, now=0.5, image_size=(640, 480))
    b = build_tokens([fast], det, np.array([0.9]), Stage.FIRST, now=0.3 + 0.2, image_size=(640, 480))
    np.testing.assert_allclose(a.history[0, -1, 6], b.history[0, -1, 6], rtol=1e-4)
    assert a.track_globals[0, 4] == pytest.approx(0.2) and b.track_globals[0, 4] == pytest.approx(0.2, abs=1e-6)
    # gaps are clipped to MAX_SECONDS
    c = build_tokens([slow], det, np.array([0.9]), Stage.FIRST, now=1000.0, image_size=(640, 480))
    assert c.track_globals[0, 4] == pytest.approx(MAX_SECONDS)


def test_pair_features_iou_and_appearance():
    e = np.eye(4, dtype=np.float32)
    still = make_track([(0.0, 100, 100, 140, 200, 0.9)], embedding=e[0])
    det = np.array([[100, 100, 140, 200], [400, 100, 440, 200]], float)
    tok = build_tokens([still], det, np.array([0.9, 0.9]), Stage.FIRST, 0.1, (640, 480), det_embeddings=e[[0, 1]])
    assert tok.pairs[0, 0, 0] == pytest.approx(1.0, abs=1e-3) and tok.pairs[0, 1, 0] == 0.0
    assert tok.pairs[0, 0, 8] == pytest.approx(1.0) and tok.pairs[0, 1, 8] == pytest.approx(0.0)
    assert tok.pairs[0, :, 9].tolist() == [1.0, 1.0]
    assert tok.pairs[0, 0, 6] < tok.pairs[0, 1, 6]  # Mahalanobis grows with distance
    no_emb = build_tokens([still], det, np.array([0.9, 0.9]), Stage.FIRST, 0.1, (640, 480))
    assert np.all(no_emb.pairs[..., 8:10] == 0)


def test_empty_problems():
    tok = build_tokens([], np.zeros((0, 4)), np.zeros(0), Stage.FIRST, 0.0, (640, 480))
    assert tok.pairs.shape == (0, 0, PAIR_DIM) and tok.history.shape == (0, HISTORY_LEN, HISTORY_DIM)


# ----------------------------------------------------------------- newborn / unseen columns
def test_probabilities_have_unseen_and_newborn_columns():
    logits = np.array([[4.0, -4.0], [-4.0, -4.0]], np.float32)
    unseen = np.array([-4.0, 4.0], np.float32)  # track 1: "not seen this frame"
    newborn = np.array([-4.0, 4.0], np.float32)  # detection 1: "a new object"
    pair, p_unseen, p_new = match_probabilities(logits, unseen, newborn)
    assert pair[0, 0] > 0.9
    assert pair[1, 1] < 0.01 and p_unseen[1] > 0.9 and p_new[1] > 0.9
    cost = -np.log(pair)
    matches, rows, cols = linear_assignment(cost, -np.log(0.3))
    assert matches.tolist() == [[0, 0]] and rows.tolist() == [1] and cols.tolist() == [1]


def test_no_match_is_an_answer_even_when_it_is_the_only_pair():
    # one track, one detection; the model says the track is unseen and the detection is new
    pair, _, _ = match_probabilities(np.array([[0.0]], np.float32), np.array([3.0], np.float32),
                                     np.array([3.0], np.float32))
    matches, _, _ = linear_assignment(-np.log(pair), -np.log(0.3))
    assert len(matches) == 0


# ----------------------------------------------------------------- shipped weights
def _no_network(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the associator must not use the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_shipped_weights_load_offline(monkeypatch):
    _no_network(monkeypatch)
    path = shipped_weights_path()
    assert path.is_file() and path.with_suffix(".json").is_file()
    params, net, meta = load_weights(path)
    assert net["d_model"] > 0 and params
    for key in ("trained_on", "date", "command", "heldout_metrics"):
        assert key in meta, key
    assoc = make_associator(TrackerConfig(associator="transformer"))
    assert isinstance(assoc, TransformerAssociator)
    assert assoc.network.num_parameters < 100_000


def test_config_selects_the_associator():
    from tracker.association import IouAssociator

    assert isinstance(Tracker(TrackerConfig(associator="transformer")).associator, TransformerAssociator)
    assert isinstance(Tracker(TrackerConfig(associator="iou")).associator, IouAssociator)
    from tracker.association.learned import LearnedAssociator

    assert TrackerConfig().associator == "learned"
    assert isinstance(Tracker().associator, LearnedAssociator)
    # each associator's own lost-track horizon unless one is given
    assert TrackerConfig().lost_horizon_s == 4.0
    assert TrackerConfig(associator="iou").lost_horizon_s == 2.0
    assert TrackerConfig(associator="transformer").lost_horizon_s == 4.0
    assert TrackerConfig(associator="transformer", lost_horizon_s=1.5).lost_horizon_s == 1.5
    with pytest.raises(ValueError, match="match_probability"):
        TrackerConfig(match_probability=0.0)


def test_track_mot_cli_runs_the_transformer(tmp_path, shared_data):
    import subprocess
    import sys


    seq = shared_data.require(shared_data.mot) / "TUD-Campus"
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "tracker.cli", "mot", str(seq), "--output-dir", str(out),
                           "--associator", "transformer", "--quiet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = (out / "TUD-Campus.txt").read_text().splitlines()
    assert len(lines) > 100 and len({ln.split(",")[1] for ln in lines}) >= 5


def crossing_scene(n=40, fps=10.0):
    """Two people walking towards each other and past, plus one static person."""
    frames = []
    for k in range(n):
        t = k / fps
        a = [100 + 60 * t, 100, 140 + 60 * t, 200]
        b = [400 - 60 * t, 110, 440 - 60 * t, 210]
        c = [550, 300, 590, 400]
        frames.append((t, np.array([a, b, c], float)))
    return frames


@pytest.mark.parametrize("associator", ["transformer", "learned"])
@pytest.mark.parametrize("fps", [5.0, 10.0, 30.0])
def test_learned_tracker_keeps_ids_on_a_simple_scene(fps, associator):
    tracker = Tracker(TrackerConfig(associator=associator, frame_rate=fps))
    ids = []
    for t, boxes in crossing_scene(int(4 * fps), fps):
        out = tracker.update(Detections(boxes, scores=[0.9, 0.9, 0.9]), timestamp=t, image_size=(640, 480))
        ids.append(dict(zip(out.det_index.tolist(), out.track_ids.tolist())))
    final = ids[-1]
    assert len(set(final.values())) == 3
    # from confirmation on, each detection index keeps one ID (no switch, no fragment)
    for d in range(3):
        assert len({f[d] for f in ids if d in f}) == 1


@pytest.mark.parametrize("associator", ["transformer", "learned"])
def test_learned_tracker_bridges_a_short_gap_and_refuses_a_far_detection(associator):
    tracker = Tracker(TrackerConfig(associator=associator, frame_rate=10.0))
    box = np.array([[100.0, 100.0, 140.0, 200.0]])
    for k in range(10):
        out = tracker.update(Detections(box + [5 * k, 0, 5 * k, 0], scores=[0.9]), timestamp=k / 10,
                             image_size=(640, 480))
    first = out.track_ids.tolist()
    for k in range(10, 13):  # three frames without a detection
        tracker.update(Detections.empty(), timestamp=k / 10, image_size=(640, 480))
    out = tracker.update(Detections(box + [5 * 13, 0, 5 * 13, 0], scores=[0.9]), timestamp=1.3, image_size=(640, 480))
    assert out.track_ids.tolist() == first
    # a detection across the image is not the same person
    assoc = tracker.associator
    t = tracker._tracks[0]
    far = Detections(np.array([[560.0, 300.0, 600.0, 400.0]]), scores=[0.9])
    cost, max_cost = assoc.cost([t], far, np.array([0]), Stage.FIRST, AssociationContext(1.4, (640, 480)))
    assert cost[0, 0] > max_cost


@pytest.mark.parametrize("associator", ["transformer", "learned"])
def test_costs_are_finite_and_classes_never_mix(associator):
    tracker = Tracker(TrackerConfig(associator=associator))
    box = np.array([[100.0, 100.0, 140.0, 200.0]])
    for k in range(3):
        tracker.update(Detections(box, scores=[0.9]), timestamp=k / 30)
    dets = Detections(np.concatenate([box, box]), scores=[0.9, 0.9], class_ids=[0, 1])
    cost, max_cost = tracker.associator.cost(tracker._tracks, dets, np.array([0, 1]), Stage.FIRST,
                                             AssociationContext(0.1, None))
    assert np.isfinite(cost).all() and np.isfinite(max_cost)
    assert cost[0, 0] <= max_cost < cost[0, 1]


# ----------------------------------------------------------------- numpy == torch
def _numpy_and_torch_outputs(net, params, net_config):
    """(numpy outputs, torch outputs) of one hand-built problem: 3 tracks x 4 detections."""
    import torch

    from tracker.association.transformer import AssociatorNetwork
    from tracker.training.associator import collate
    from tracker.training.associator_data import Problem

    tracks = [walking_track(3), walking_track(9, x0=300), walking_track(1, x0=500)]
    det = np.array([[110, 50, 150, 150], [400, 60, 440, 160], [0, 0, 10, 10], [500, 50, 540, 150]], float)
    tok = build_tokens(tracks, det, np.array([0.9, 0.6, 0.3, 0.8]), Stage.FIRST, 1.0, (640, 480))
    problem = Problem(tok.history, tok.history_mask, tok.track_globals, tok.det_tokens, tok.pairs,
                      np.array([1, 2, 3]), np.array([1, 2, -1, 3]))
    arrays = collate([problem])
    with torch.no_grad():
        want = [x[0].numpy() for x in net(*[torch.from_numpy(a) for a in arrays[:7]])]
    return AssociatorNetwork(params, net_config)(tok), want


@pytest.mark.parametrize("iou_prior", [False, True])
def test_numpy_inference_matches_the_torch_network(iou_prior):
    torch = pytest.importorskip("torch")
    from tracker.training.associator import export_params
    from tracker.training.associator_model import AssociatorNet, AssociatorNetConfig

    torch.manual_seed(0)
    net = AssociatorNet(AssociatorNetConfig(iou_prior=iou_prior)).eval()
    got, want = _numpy_and_torch_outputs(net, export_params(net), net.config.to_dict())
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_appearance_is_used_only_by_a_model_trained_with_it():
    pytest.importorskip("torch")
    from tracker.training.associator import export_params
    from tracker.training.associator_model import AssociatorNet

    params = export_params(AssociatorNet())
    e = np.eye(8, dtype=np.float32)
    track = make_track([(0.0, 100, 100, 140, 200, 0.9)], embedding=e[0])
    dets = Detections(np.array([[100.0, 100, 140, 200], [300, 100, 340, 200]]), scores=[0.9, 0.9], embeddings=e[:2])
    ctx = AssociationContext(0.1, (640, 480))
    for trained_with, expect in ((True, [1.0, 0.0]), (False, [0.0, 0.0])):
        assoc = TransformerAssociator(TrackerConfig(), params, {"d_model": 32, "heads": 2},
                                      {"appearance": trained_with})
        tok = assoc.tokens([track], dets, np.array([0, 1]), Stage.FIRST, ctx)
        assert tok.pairs[0, :, PairCol.COSINE].tolist() == expect
        assert tok.pairs[0, 0, PairCol.HAS_COSINE] == float(trained_with)
        assert tok.track_globals[0, TrackCol.HAS_EMBEDDING] == float(trained_with)
        cost, max_cost = assoc.cost([track], dets, np.array([0, 1]), Stage.FIRST, ctx)
        assert np.isfinite(cost).all()


def test_pair_costs_say_dense_or_sparse_and_assign_the_same():
    """``Associator.cost`` returns ``PairCosts``: a dense matrix or a sparse one listing the
    only allowed pairs; both assign by Hungarian matching under ``max_cost``. Hand-made 2x3
    problem: track 0 fits detection 1 (0.1), track 1 fits detection 0 (0.2); detection 2 is
    allowed only for track 0 at 0.95, above the ceiling 0.9."""
    from scipy.sparse import coo_matrix

    from tracker.association.base import PairCosts

    dense = PairCosts(np.array([[0.5, 0.1, 0.95], [0.2, 0.7, 2.0]]), 0.9)
    sparse = PairCosts(coo_matrix(([0.5, 0.1, 0.95, 0.2, 0.7], ([0, 0, 0, 1, 1], [0, 1, 2, 0, 1])), shape=(2, 3)), 0.9)
    assert not dense.is_sparse and sparse.is_sparse and dense.size == sparse.size == 6
    for costs in (dense, sparse):
        matches, unmatched_tracks, unmatched_dets = costs.assign()
        assert sorted(map(tuple, np.asarray(matches).tolist())) == [(0, 1), (1, 0)]
        assert list(unmatched_tracks) == [] and list(unmatched_dets) == [2]
    cost, ceiling = dense  # unpacks as (costs, max_cost)
    assert ceiling == 0.9 and cost.shape == (2, 3)


def test_shipped_self_supervised_weights_load_offline_and_match_the_training_network():
    """The self-supervised model (no identity labels): its metadata lists every training file
    with its licence class, it is selected by name, and numpy inference gives the torch
    network's outputs within 1e-5."""
    pytest.importorskip("torch")
    import json

    from tracker.association.learned import LearnedAssociator
    from tracker.training.associator_model import load_network

    path = shipped_weights_path("selfsupervised")
    meta = json.loads(path.with_suffix(".json").read_text())
    assert all(f["labels"] == "none" and f["licence_class"] for f in meta["training_files"])
    assert len(meta["training_files"]) >= 40 and meta["heldout_metrics"] and meta["command"]
    assert isinstance(make_associator(TrackerConfig(), "selfsupervised"), LearnedAssociator)
    params, net_config, _ = load_weights(path)
    got, want = _numpy_and_torch_outputs(load_network(path).eval(), params, net_config)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
