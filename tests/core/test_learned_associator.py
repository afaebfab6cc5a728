"""The default associator (``associator="learned"``): the Transformer blended with the core's
geometry in the first and tentative associations, the core in the second; the held-out fold
weights that ``track bench``'s ``ours-heldout`` row uses."""
import json

import numpy as np
import pytest

from tracker import Detections, Tracker, TrackerConfig
from tracker.assignment import linear_assignment
from tracker.association import AssociationContext, IouAssociator, Stage, make_associator
from tracker.association import iou as iou_module
from tracker.association.learned import BLENDED_CEILING, NORMALIZED_COST_CLIP, LearnedAssociator, blend_costs
from tracker.association.transformer import (FOLDS_DIR, TransformerAssociator, heldout_weights_path,
                                             shipped_weights_path)
from tracker.training.associator import FOLDS

CONTEXT = AssociationContext(1.0, (640, 480))


def test_blend_costs_by_hand():
    core = np.array([[0.2, 0.8], [2.0, 0.4]])  # core ceiling 0.8: normalized 0.25, 1.0 / 2.5 -> clip 2.0, 0.5
    learned = np.array([[0.0, 4.6], [0.46, 9.2]])  # ceiling 2.3: 0, 2.0 / 0.2, 4.0 -> clip 2.0
    forbidden = np.array([[False, False], [False, True]])
    cost, ceiling = blend_costs(core, 0.8, learned, 2.3, 0.3, forbidden)
    assert ceiling == BLENDED_CEILING == 1.0
    expected = np.array([[0.7 * 0.25 + 0.3 * 0.0, 0.7 * 1.0 + 0.3 * 2.0],
                         [0.7 * 2.0 + 0.3 * 0.2, 2.0]])  # the forbidden pair: above the ceiling
    np.testing.assert_allclose(cost, expected)
    assert NORMALIZED_COST_CLIP == 2.0
    # a pair the core cannot reach (no overlap: normalized 1.25) matches when the Transformer is
    # sure enough (probability 0.9: normalized -ln 0.9 / -ln 0.1 = 0.046) ...
    sure, _ = blend_costs(np.array([[1.0]]), 0.8, np.array([[-np.log(0.9)]]), -np.log(0.1), 0.3,
                          np.zeros((1, 1), bool))
    assert sure[0, 0] == pytest.approx(0.7 * 1.25 + 0.3 * np.log(0.9) / np.log(0.1)) and sure[0, 0] <= 1.0
    # ... and not when it is unsure (probability 0.2: normalized 0.70)
    unsure, _ = blend_costs(np.array([[1.0]]), 0.8, np.array([[-np.log(0.2)]]), -np.log(0.1), 0.3,
                            np.zeros((1, 1), bool))
    assert unsure[0, 0] > 1.0


def _scene():
    """Two live tracks (tracked for 10 frames at 10 frames/s) and this frame's detections."""
    tracker = Tracker(TrackerConfig(associator="iou", frame_rate=10.0))
    a, b = np.array([100.0, 100.0, 140.0, 200.0]), np.array([300.0, 120.0, 340.0, 220.0])
    for k in range(10):
        shift = np.array([4.0 * k, 0, 4.0 * k, 0])
        tracker.update(Detections(np.stack([a + shift, b - shift]), scores=[0.9, 0.8]), timestamp=k / 10,
                       image_size=(640, 480))
    shift = np.array([40.0, 0, 40.0, 0])
    dets = Detections(np.stack([a + shift, b - shift, [500.0, 300.0, 540.0, 400.0]]), scores=[0.9, 0.8, 0.7])
    return tracker._tracks, dets, np.arange(3)


def test_each_stage_gets_its_scorer():
    tracks, dets, rows = _scene()
    config = TrackerConfig()
    learned = LearnedAssociator(config)
    core, transformer = IouAssociator(config), TransformerAssociator.default(config)
    # second association: the core alone
    got, got_ceiling = learned.cost(tracks, dets, rows, Stage.SECOND, CONTEXT)
    want, want_ceiling = core.cost(tracks, dets, rows, Stage.SECOND, CONTEXT)
    np.testing.assert_allclose(got, want)
    assert got_ceiling == want_ceiling
    # first and tentative associations: the blend of the two
    for stage in (Stage.FIRST, Stage.TENTATIVE):
        got, ceiling = learned.cost(tracks, dets, rows, stage, CONTEXT)
        c, cc = core.cost(tracks, dets, rows, stage, CONTEXT)
        t, tc = transformer.cost(tracks, dets, rows, stage, CONTEXT)
        want, _ = blend_costs(c, cc, t, tc, config.transformer_weight, np.zeros(c.shape, bool))
        np.testing.assert_allclose(got, want)
        assert ceiling == 1.0
        # both continuations match, the stranger does not
        matches, _, unmatched = linear_assignment(got, ceiling)
        assert matches.tolist() == [[0, 0], [1, 1]] and unmatched.tolist() == [2]


def test_objects_unlike_pedestrians_are_still_tracked():
    """The Transformer, trained on pedestrians, gives a square box continuing 2 px a frame a low
    probability; blended with the core's geometry, it cannot veto that continuation."""
    size, fps = (160, 120), 20.0
    boxes = lambda i: np.array([[10.0 + 2 * i, 20, 30.0 + 2 * i, 40], [120, 5.0 + i, 140, 25.0 + i]])  # noqa: E731
    tracker = Tracker(TrackerConfig(frame_rate=fps))
    ids = []
    for i in range(20):
        out = tracker.update(Detections(boxes(i), scores=[0.9, 0.9]), timestamp=i / fps, image_size=size)
        ids.append(dict(zip(out.det_index.tolist(), out.track_ids.tolist())))
    assert all(len(f) == 2 for f in ids[1:]) and ids[-1] == ids[1]  # confirmed at the 2nd frame, kept
    # the Transformer alone does find these squares unlikely (why it is blended, not trusted alone)
    single = Tracker(TrackerConfig(associator="transformer", frame_rate=fps))
    single.update(Detections(boxes(0), scores=[0.9, 0.9]), timestamp=0.0, image_size=size)
    pair, _, _ = single.associator.probabilities(single._tracks, Detections(boxes(1), scores=[0.9, 0.9]),
                                                 np.arange(2), Stage.TENTATIVE, AssociationContext(1 / fps, size))
    assert (np.diag(pair) < TrackerConfig().match_probability).all()


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_weight_zero_is_the_core_and_one_the_transformer(weight):
    tracks, dets, rows = _scene()
    config = TrackerConfig(transformer_weight=weight)
    got, _ = LearnedAssociator(config).cost(tracks, dets, rows, Stage.FIRST, CONTEXT)
    alone = IouAssociator(config) if weight == 0.0 else TransformerAssociator.default(config)
    want, ceiling = alone.cost(tracks, dets, rows, Stage.FIRST, CONTEXT)
    np.testing.assert_allclose(got, np.minimum(want / ceiling, NORMALIZED_COST_CLIP))


def test_classes_never_mix_and_costs_are_finite():
    tracks, dets, rows = _scene()
    dets = Detections(dets.xyxy, scores=dets.scores, class_ids=[0, 1, 0])
    cost, ceiling = LearnedAssociator(TrackerConfig()).cost(tracks, dets, rows, Stage.FIRST, CONTEXT)
    assert np.isfinite(cost).all()
    assert cost[1, 1] > ceiling  # track 1 is class 0, detection 1 class 1


def test_huge_frames_take_the_core_sparse_path(monkeypatch):
    tracks, dets, rows = _scene()
    monkeypatch.setattr(iou_module, "DENSE_PAIR_LIMIT", 1)
    cost, _ = LearnedAssociator(TrackerConfig()).cost(tracks, dets, rows, Stage.FIRST, CONTEXT)
    assert hasattr(cost, "tocoo")


def test_config_validation():
    with pytest.raises(ValueError, match="transformer_weight"):
        TrackerConfig(transformer_weight=1.5)
    with pytest.raises(ValueError, match="associator"):
        TrackerConfig(associator="blend")


def test_fold_weights_are_held_out_and_cover_every_development_sequence():
    dev = {name for fold in FOLDS for name in fold}
    seen = set()
    for meta_file in sorted(FOLDS_DIR.glob("fold*.json")):
        meta = json.loads(meta_file.read_text())
        held, trained = set(meta["held_out"]), set(meta["trained_on"])
        assert not held & trained, meta_file  # no leak
        assert held | trained == dev
        assert meta_file.with_suffix(".npz").is_file()
        seen |= held
    assert seen == dev
    assert heldout_weights_path("MOT17-04-FRCNN").name == "fold1.npz"
    assert heldout_weights_path("TUD-Campus").name == "fold0.npz"
    assert heldout_weights_path("some-other-video") == shipped_weights_path()
    # the fold model loads through the same factory as the shipped one
    assoc = make_associator(TrackerConfig(), weights=heldout_weights_path("Venice-2"))
    assert isinstance(assoc, LearnedAssociator)
    assert assoc.transformer.metadata["held_out"] == list(FOLDS[3])


def test_bench_heldout_adapter_uses_the_fold_model():
    from tracker.benchmarking.adapters import make_adapter

    adapter = make_adapter("ours-heldout", 14.0, image_size=(640, 480), sequence="ETH-Bahnhof")
    assert adapter.weights.name == "fold0.npz"
    assert "fold0.npz" in " ".join(adapter.notes)
    assert adapter.tracker.associator.transformer.metadata["held_out"] == list(FOLDS[0])
    shipped = make_adapter("ours", 14.0, image_size=(640, 480), sequence="ETH-Bahnhof")
    assert shipped.weights is None and isinstance(shipped.tracker.associator, LearnedAssociator)


# measured held-out: HOTA 48.00, IDF1 57.32, IDsw 396 (docs/associator.md); the floors sit below
# the IoU core's 47.72 / 56.88 by less than the margin the learned default won by
HELDOUT_HOTA_FLOOR = 47.5
HELDOUT_IDF1_FLOOR = 56.5


def test_default_tracker_with_heldout_weights_on_the_development_sequences(tmp_path, shared_data):
    """The issue's honest protocol: every development sequence tracked by the default tracker
    with the fold model that never saw it, scored together (counts summed)."""
    from tracker.evaluation import evaluate_folder
    from tracker.io.mot import write_mot_results
    from tracker.mot_runner import track_mot_sequence

    root = shared_data.require(shared_data.mot)
    names = [n for fold in FOLDS for n in fold]
    for name in names:
        weights = heldout_weights_path(name)
        run = track_mot_sequence(root / name, TrackerConfig(),
                                 tracker_factory=lambda c: Tracker(c, associator=make_associator(c, weights)))
        write_mot_results(tmp_path / f"{name}.txt", run.rows)
    s = evaluate_folder(root, tmp_path, seqs=names).combined.summary()
    print(f"\nheld-out default: HOTA {100 * s['HOTA']:.2f} IDF1 {100 * s['IDF1']:.2f} IDsw {s['IDSW']}")
    assert 100 * s["HOTA"] >= HELDOUT_HOTA_FLOOR
    assert 100 * s["IDF1"] >= HELDOUT_IDF1_FLOOR


def test_crowds_beyond_the_training_data_are_decided_by_the_core():
    tracks, dets, rows = _scene()  # 2 tracks x 3 detections = 6 pairs
    core = IouAssociator(TrackerConfig())
    want, want_ceiling = core.cost(tracks, dets, rows, Stage.FIRST, CONTEXT)
    small = LearnedAssociator(TrackerConfig(transformer_max_pairs=5))
    got, ceiling = small.cost(tracks, dets, rows, Stage.FIRST, CONTEXT)
    np.testing.assert_allclose(got, want)
    assert ceiling == want_ceiling
    at_limit, ceiling = LearnedAssociator(TrackerConfig(transformer_max_pairs=6)).cost(tracks, dets, rows,
                                                                                         Stage.FIRST, CONTEXT)
    assert ceiling == 1.0 and not np.allclose(at_limit, want)  # 6 pairs: still the blend
    with pytest.raises(ValueError, match="transformer_max_pairs"):
        TrackerConfig(transformer_max_pairs=2.5)
