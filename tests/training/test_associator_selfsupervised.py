"""Self-supervised associator training: certain pairs, masked re-linking, the consistency
losses on hand-built cases, and no gt file opened."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tracker.config import TrackerConfig  # noqa: E402
from tracker.training.associator import SIMULATION_LOST_HORIZON_S, TrainSettings, train_network  # noqa: E402
from tracker.training.associator_data import (MASK_GAP_S, UNKNOWN_ID, Variant, certain_pairs,  # noqa: E402
                                              hidden_stretches, identity_spans, simulate)
from tracker.training.associator_model import association_loss  # noqa: E402
from tracker.training.associator_unlabeled import mot_sequence, pseudo_identities  # noqa: E402
from tracker.training.consistency import path_consistency_loss, path_distribution, view_consistency  # noqa: E402


def test_certain_pairs_are_matches_and_coexisting_identities_only():
    spans = {0: (1, 10), 1: (5, 20), 2: (15, 30)}
    tracks = np.array([0, 1, UNKNOWN_ID])
    dets = np.array([0, 1, 2, UNKNOWN_ID])
    known = certain_pairs(tracks, dets, spans)
    # 0 and 1 co-exist (frames 5-10): certain either way; 0 and 2 never co-exist: unknown;
    # 1 and 2 co-exist (15-20); an unknown track or detection: never certain
    assert known.tolist() == [[True, True, False, False],
                              [True, True, True, False],
                              [False, False, False, False]]


def test_hidden_stretches_lie_inside_each_span_and_are_seeded():
    labels = {f: np.array([0, 1]) if f <= 60 else np.array([1]) for f in range(1, 101)}
    rate = 10.0
    a = hidden_stretches(labels, rate, 1.0, np.random.default_rng(3))
    b = hidden_stretches(labels, rate, 1.0, np.random.default_rng(3))
    assert a == b and set(a) == {0, 1}
    spans = identity_spans(labels)
    assert spans == {0: (1, 60), 1: (1, 100)}
    for ident, (lo, hi) in a.items():
        first, last = spans[ident]
        assert first < lo <= hi < last  # one observed frame before and after
        assert MASK_GAP_S[0] * rate - 1 <= hi - lo + 1 <= MASK_GAP_S[1] * rate + 1
    assert hidden_stretches(labels, rate, 0.0, np.random.default_rng(3)) == {}


def _loss(logits, unseen, newborn, tids, dids, known=None):
    t = torch.tensor
    tm = torch.ones(1, len(tids), dtype=torch.bool)
    dm = torch.ones(1, len(dids), dtype=torch.bool)
    loss, _, _ = association_loss(t([logits]), t([unseen]), t([newborn]), t([tids]), t([dids]), tm, dm,
                                  None if known is None else t([known]))
    return float(loss)


def test_uncertain_pairs_and_unknown_rows_take_no_part_in_the_loss():
    logits = [[2.0, 1.0, 0.5]]
    # track 0; detection 0 is its match, detection 5 is an identity that never co-existed with
    # it (unknown pair), detection 3 is UNKNOWN (no row of its own, no pair)
    known = [[True, False, False]]
    got = _loss(logits, [0.0], [0.0, 0.0, 0.0], [0], [0, 5, UNKNOWN_ID], known)
    # by hand: the row is {det 0: 2, unseen: 0} -> -log softmax = log(1 + e^-2); columns: det 0
    # {track: 2, newborn: 0} -> log(1 + e^-2); det 5 (known id, no certain pair) -> {newborn}: 0
    row = math.log(1 + math.exp(-2.0))
    col = (math.log(1 + math.exp(-2.0)) + 0.0) / 2
    assert got == pytest.approx(row + col, rel=1e-5)
    # without the mask, detection 5 competes in the row, and the loss is larger
    assert _loss(logits, [0.0], [0.0, 0.0, 0.0], [0], [0, 5, UNKNOWN_ID]) > got


def test_masked_relinking_labels_come_from_the_masking(shared_data):
    seq = mot_sequence(shared_data.require(shared_data.mot / "TUD-Campus"))
    cfg = TrackerConfig(lost_horizon_s=SIMULATION_LOST_HORIZON_S)
    variant = Variant(driver="oracle", mask_share=1.0, seed=7)
    hidden = hidden_stretches(seq.labels, seq.frame_rate, 1.0, np.random.default_rng(variant.seed))
    assert hidden
    problems = simulate(seq, cfg, variant)
    # every problem's positives are pairs of one pseudo-identity, all of them certain
    relinked = 0
    for p in problems:
        same = (p.track_ids[:, None] == p.det_ids[None, :]) & (p.track_ids[:, None] >= 0)
        assert not (same & ~p.pair_known).any()
        relinked += int(same.any())
    assert relinked > 0
    # a hidden identity is never among the detections while hidden, and comes back after it
    frames_with = {i: [f for f, ids in seq.labels.items() if i in ids] for i in hidden}
    for ident, (lo, hi) in hidden.items():
        assert min(frames_with[ident]) < lo and max(frames_with[ident]) > hi


def test_pseudo_identities_trust_only_long_unambiguous_tracklets():
    # two boxes walking apart for 20 frames at 10 fps, one box seen in a single frame
    frames, boxes = [], []
    for f in range(1, 21):
        frames += [f, f]
        boxes += [[10 + 2 * f, 10, 40 + 2 * f, 80], [300 - 2 * f, 10, 330 - 2 * f, 80]]
    frames.append(5)
    boxes.append([500, 300, 530, 370])
    frames = np.array(frames)
    ids = pseudo_identities(frames, np.array(boxes, np.float32), np.full(len(frames), 0.9, np.float32),
                            np.arange(1, 21), 1, 10.0)
    assert ids[-1] == UNKNOWN_ID
    assert sorted(np.unique(ids[:-1]).tolist()) == [0, 1]
    assert len(set(ids[:-1:2])) == 1 and len(set(ids[1:-1:2])) == 1


def test_path_consistency_is_zero_when_paths_agree_and_positive_when_one_switches():
    direct = torch.tensor([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05]])
    # two steps that carry each object to itself: the same distribution as ``direct``
    keep = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    via = path_distribution([direct, keep])
    assert torch.allclose(via, direct)
    assert float(path_consistency_loss([direct, via])) == pytest.approx(0.0, abs=1e-7)
    swap = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # the intermediate step switches identities
    switched = path_distribution([direct, swap])
    assert float(path_consistency_loss([direct, switched])) > 0.1
    # by hand for one query: JS of (0.9, 0.05, 0.05) and (0.05, 0.9, 0.05)
    p, q = np.array([0.9, 0.05, 0.05]), np.array([0.05, 0.9, 0.05])
    m = (p + q) / 2
    js = 0.5 * (p * np.log(p / m)).sum() + 0.5 * (q * np.log(q / m)).sum()
    assert float(path_consistency_loss([direct, switched])) == pytest.approx(js, rel=1e-5)


def test_the_null_object_takes_a_detection_free_target():
    step = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]])
    empty_target = torch.ones(2, 1)  # no detection in the target frame: only the null column
    p = path_distribution([step, empty_target])
    assert p.shape == (2, 1) and torch.allclose(p, torch.ones(2, 1))
    # mass lost at the first step stays lost along the path
    half = torch.tensor([[0.5, 0.5], [0.5, 0.5]])
    p = path_distribution([step, half])
    assert torch.allclose(p[:, 1], torch.tensor([0.1 + 0.9 * 0.5, 0.3 + 0.7 * 0.5]))


def test_view_consistency_is_zero_for_identical_views():
    logits = torch.randn(2, 3, 4)
    unseen = torch.randn(2, 3)
    valid = torch.ones(2, 3, 4, dtype=torch.bool)
    tv = torch.ones(2, 3, dtype=torch.bool)
    assert float(view_consistency(logits, unseen, logits, unseen, valid, tv)) == pytest.approx(0.0, abs=1e-6)
    assert float(view_consistency(logits, unseen, -logits, unseen, valid, tv)) > 0.0


def test_self_supervised_training_on_a_sequence_never_opens_gt(shared_data, tmp_path):
    opened = []

    def audit(event, args):
        if event == "open" and isinstance(args[0], (str, Path)):
            opened.append(str(args[0]))

    seq_dir = shared_data.require(shared_data.mot / "TUD-Campus")
    sys.addaudithook(audit)  # records every file opened from here on (hooks cannot be removed)
    start = len(opened)
    seq = mot_sequence(seq_dir)
    cfg = TrackerConfig(lost_horizon_s=SIMULATION_LOST_HORIZON_S)
    problems = simulate(seq, cfg, Variant(driver="oracle", mask_share=0.5))
    net, history = train_network(problems, TrainSettings(epochs=1, consistency_weight=0.5))
    assert history[0]["loss"] > 0 and len(problems) > 20
    code = (".py", ".pyc", ".so")
    gt_reads = [p for p in opened[start:] if Path(p).suffix not in code
                and ("gt" in Path(p).parts or Path(p).name.startswith("gt"))]
    assert gt_reads == []
    assert any(p.endswith("det.txt") for p in opened[start:])  # it did read the detections


@pytest.mark.slow
def test_train_associator_self_supervised_then_gt_writes_weights_that_load_offline(tmp_path, shared_data):
    import json
    import subprocess

    from tracker.association.transformer import AssociatorNetwork, TransformerAssociator, load_weights
    from tracker.core import Tracker
    from tracker.mot_runner import track_mot_sequence
    from tracker.training.associator import collate
    from tracker.training.associator_model import load_network

    video = shared_data.require(shared_data.video / "TUD-Campus.mp4")
    root = tmp_path / "mot"
    root.mkdir()
    (root / "TUD-Campus").symlink_to(shared_data.require(shared_data.mot / "TUD-Campus"))
    out = tmp_path / "w" / "assoc.npz"
    # self-supervised on a video and a sequence's det.txt, then fine-tuned on that sequence's gt
    cmd = [sys.executable, "-m", "tracker.cli", "train-associator", "--unlabeled", str(video),
           str(root / "TUD-Campus"), "--mot-root", str(root), "--cache-dir", str(tmp_path / "cache"),
           "--output", str(out), "--epochs", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(out.with_suffix(".json").read_text())
    assert [f["labels"] for f in meta["training_files"]] == ["none", "none", "gt"]
    assert [h["stage"] for h in meta["history"]] == ["self-supervised", "gt-supervised"]
    assert meta["appearance"] is True and "after self-supervised pre-training" in meta["data"]
    # the weights load without torch's model and give the training network's outputs
    seq = mot_sequence(root / "TUD-Campus")
    problem = simulate(seq, TrackerConfig(), Variant(driver="oracle"))[5]
    arrays = collate([problem])
    with torch.no_grad():
        want = [x[0].numpy() for x in load_network(out)(*[torch.from_numpy(a) for a in arrays[:7]])]
    params, net_config, _ = load_weights(out)
    from tracker.association.tokens import AssociationTokens

    tok = AssociationTokens(*(a.astype(np.float32) if a.dtype == np.float16 else a for a in (
        problem.history, problem.history_mask, problem.track_globals, problem.det_tokens, problem.pairs)))
    got = AssociatorNetwork(params, net_config)(tok)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    run = track_mot_sequence(root / "TUD-Campus", TrackerConfig(associator="transformer"),
                             tracker_factory=lambda c: Tracker(c, associator=TransformerAssociator.from_file(c, out)))
    assert run.rows

