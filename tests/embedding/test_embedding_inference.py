"""Inference: the shipped weights load offline; ``Embedder.embed`` contract; crops; colour
histogram; re-ID metrics on constructed data; the embed-eval / train commands."""
import json
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from tracker.embedding import Embedder, EncoderConfig, PatchEncoder, colour_histograms, load_weights, save_weights
from tracker.embedding.crops import clip_boxes, crop_patches
from tracker.embedding.inference import shipped_weights_path
from tracker.embedding.model import fold_batchnorm
from tracker.embedding.reid_eval import linear_probe, retrieval_scores
from tracker.errors import InputError

torch.set_num_threads(1)
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
VTEST = DATA / "video" / "vtest.avi"


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("network access attempted")
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def frame():
    return np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)


# ---------------------------------------------------------------- shipped weights
@pytest.mark.parametrize("name", ["default", "holdout", "unlabeled"])
def test_shipped_weights_load_offline_with_metadata(no_network, name):
    path = shipped_weights_path(name)
    assert path.is_file(), f"shipped weights missing: {path}"
    assert path.stat().st_size < 5_000_000
    emb = Embedder.from_spec(name)
    meta = emb.metadata
    for key in ("date", "training_data", "settings", "command", "evaluation"):
        assert key in meta, key
    assert meta["labels_used"].startswith("none")
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["date"] == meta["date"]


def test_default_embedder_embeds(no_network, frame):
    emb = Embedder.default(threads=1)
    out = emb.embed(frame, np.array([[10, 10, 40, 90], [50, 5, 80, 100]], float))
    assert out.shape == (2, emb.dim) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)


# ---------------------------------------------------------------- Embedder contract
@pytest.fixture(scope="module")
def embedder():
    return Embedder.random(seed=0, threads=1)


def test_embed_shapes_units_and_empty(embedder, frame):
    boxes = np.array([[0, 0, 30, 60], [100, 50, 150, 119], [5.5, 7.2, 9.1, 20.7]])
    out = embedder.embed(frame, boxes)
    assert out.shape == (3, embedder.dim) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
    assert embedder.embed(frame, np.zeros((0, 4))).shape == (0, embedder.dim)
    fused = embedder.embed_fused(frame, boxes)
    assert fused.shape == (3, embedder.fused_dim)
    assert np.allclose(np.linalg.norm(fused, axis=1), 1, atol=1e-5)


def test_boxes_outside_and_partly_outside_are_clipped(embedder, frame):
    boxes = np.array([[-50, -20, 30, 60], [150, 100, 400, 300], [500, 500, 600, 600]], float)
    out = embedder.embed(frame, boxes)
    assert out.shape == (3, embedder.dim) and np.all(np.isfinite(out))
    before = boxes.copy()
    embedder.embed(frame, boxes)
    assert np.array_equal(boxes, before)  # the caller's array is not changed


def test_embedding_is_deterministic_and_batch_independent(embedder, frame):
    boxes = np.array([[0, 0, 30, 60], [100, 50, 150, 119], [20, 30, 60, 110]], float)
    a = embedder.embed(frame, boxes)
    b = np.concatenate([embedder.embed(frame, boxes[i:i + 1]) for i in range(3)])
    assert np.allclose(a, b, atol=1e-5)


def test_threads_are_restored(frame):
    before = torch.get_num_threads()
    emb = Embedder.random(threads=1 if before != 1 else 2)
    emb.embed(frame, np.array([[0, 0, 30, 60]], float))
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        Embedder.random(threads=0)


def test_folded_batchnorm_matches_eval_model():
    torch.manual_seed(0)
    m = PatchEncoder(EncoderConfig())
    for mod in m.modules():  # non-trivial running statistics
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
    m.eval()
    x = torch.rand(4, 3, 64, 32)
    with torch.no_grad():
        ref = m(x)
        import copy
        fused = fold_batchnorm(copy.deepcopy(m))(x)
    assert torch.allclose(ref, fused, atol=1e-5)


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(1)
    m = PatchEncoder(EncoderConfig(depth=1, dim=64)).eval()
    save_weights(tmp_path / "w.pt", m, {"note": "x"})
    m2, meta = load_weights(tmp_path / "w.pt")
    assert meta == {"note": "x"} and m2.config == m.config
    x = torch.rand(2, 3, 64, 32)
    with torch.no_grad():
        assert torch.allclose(m(x), m2(x))
    assert json.loads((tmp_path / "w.json").read_text())["note"] == "x"


def test_load_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_weights(tmp_path / "missing.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="format"):
        load_weights(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(InputError):
        load_weights(tmp_path / "junk.pt")


@pytest.mark.parametrize("field,value", [("input_size", (60, 32)), ("heads", 5), ("dim", 4), ("depth", -1)])
def test_encoder_config_validation(field, value):
    with pytest.raises(ValueError, match=field):
        EncoderConfig(**{field: value})


# ---------------------------------------------------------------- crops and histogram
def test_crop_patches_clip_and_size():
    img = np.zeros((50, 40, 3), np.uint8)
    img[:, 20:] = 255
    p = crop_patches(img, np.array([[20, 0, 100, 50], [-10, -10, 5, 5], [39.5, 49.5, 60, 60]]), (16, 8))
    assert p.shape == (3, 16, 8, 3)
    assert p[0].min() == 255 and p[1].max() == 0  # clipped to the white / black part
    assert crop_patches(img, np.zeros((0, 4)), (16, 8)).shape == (0, 16, 8, 3)
    assert np.array_equal(clip_boxes(np.array([[-1, -2, 50, 60]]), 40, 50), [[0, 0, 40, 50]])


def test_colour_histogram_properties():
    rng = np.random.default_rng(0)
    patches = rng.integers(0, 256, (5, 32, 16, 3), dtype=np.uint8)
    h = colour_histograms(patches)
    assert h.shape == (5, 256) and np.allclose(np.linalg.norm(h, axis=1), 1, atol=1e-5) and (h >= 0).all()
    red, blue = np.zeros((1, 32, 16, 3), np.uint8), np.zeros((1, 32, 16, 3), np.uint8)
    red[..., 2] = 255
    blue[..., 0] = 255
    assert float((colour_histograms(red) @ colour_histograms(blue).T)[0, 0]) < 0.01
    assert colour_histograms(np.zeros((0, 8, 4, 3), np.uint8)).shape == (0, 256)


# ---------------------------------------------------------------- metrics
def test_retrieval_perfect_and_random():
    ids = np.repeat(np.arange(4), 6)
    frames = np.tile(np.arange(0, 60, 10), 4)
    perfect = np.eye(4)[ids].astype(np.float32)
    r = retrieval_scores(perfect, ids, frames, gap=20)
    assert r["mAP"] == pytest.approx(1.0) and r["rank1"] == 1.0 and r["queries"] == 24
    # gap larger than the span: no gallery -> no queries
    assert retrieval_scores(perfect, ids, frames, gap=100)["queries"] == 0


def test_retrieval_known_ap():
    # query 0 (id 0): gallery ranked [id1, id0, id0] -> AP = (1/2 + 2/3) / 2
    emb = np.array([[1, 0], [0.9, 0.1], [0.8, 0.2], [0.95, 0.05]], np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    ids = np.array([0, 0, 0, 1])
    frames = np.array([0, 100, 100, 100])
    r = retrieval_scores(emb[:4], ids, frames, gap=50)
    ap0 = (1 / 2 + 2 / 3) / 2
    assert r["queries"] == 3  # query 3 (id 1) has no match; queries 1, 2 see only query 0
    assert r["mAP"] == pytest.approx((ap0 + 1 + 1) / 3)


def test_linear_probe_separable():
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(3), 20)
    emb = np.eye(3)[ids] + 0.05 * rng.normal(size=(60, 3))
    frames = np.tile(np.arange(20), 3)
    p = linear_probe(emb.astype(np.float32), ids, frames)
    assert p["accuracy"] == 1.0 and p["classes"] == 3


# ---------------------------------------------------------------- commands
def test_train_command_input_errors(tmp_path):
    from tracker.cli import main
    assert main(["train", str(tmp_path / "none.mp4"), "--output", str(tmp_path / "w.pt")]) == 2
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")
    assert main(["train", str(video), "--output", str(tmp_path / "w.pt")]) == 2  # no detection file found
    gt = tmp_path / "gt" / "gt.txt"
    gt.parent.mkdir()
    gt.write_text("1,1,0,0,10,20,1,1,1\n")
    assert main(["train", str(video), "--detections", str(gt), "--output", str(tmp_path / "w.pt")]) == 2
    assert main(["train", str(video), "--detections", str(tmp_path / "d.txt"), "--exclude", "x:9-1",
                 "--output", str(tmp_path / "w.pt")]) == 2


@pytest.mark.skipif(not VTEST.is_file(), reason="shared data ../shared/data/video/vtest.avi not available")
def test_embed_eval_command_on_vtest(tmp_path, capsys):
    from tracker.cli import main
    out = tmp_path / "r.json"
    rc = main(["embed-eval", str(VTEST), "--gt", str(DATA / "video" / "vtest.gt.txt"), "--no-probe", "--no-random",
               "--frames", "1-200", "--threads", "1", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "colour histogram" in text and "learned" in text
    res = json.loads(out.read_text())
    rows = {r["method"]: r for r in res["blocks"][0]["rows"]}
    assert rows["colour histogram"]["gap_frames"] == 20
    assert 0 < rows["learned"]["mAP"] <= 1
