"""One registry for the three shipped model kinds: where they are, their metadata, one writing
rule (temporary file + rename + metadata beside it, never over a device), one-line errors."""
import json
import os

import numpy as np
import pytest

from tracker.errors import InputError
from tracker.model_registry import ASSOCIATOR, DETECTOR, EMBEDDER, MODEL_KINDS, write_weights


def test_every_shipped_model_is_there_with_its_metadata():
    assert set(MODEL_KINDS) == {"detector", "embedder", "associator", "offline pair scorer", "offline aggregator"}
    for kind in MODEL_KINDS.values():
        for name in kind.shipped:
            path = kind.shipped_path(name)
            assert path.is_file() and path.stat().st_size > 0, path
            assert isinstance(kind.metadata(path), dict)
    assert DETECTOR.metadata()["licence" if "licence" in DETECTOR.metadata() else "license"]
    listed = r"choose one of \['default', 'holdout', 'unlabeled'\]"
    with pytest.raises(InputError, match=r"unknown shipped embedder 'nope'; " + listed):
        EMBEDDER.shipped_path("nope")


def test_write_weights_renames_a_complete_file_and_writes_the_metadata(tmp_path):
    path = tmp_path / "sub" / "w.npz"
    seen = []

    def write(temporary):
        seen.append(temporary)
        np.savez(temporary, a=np.arange(3))

    write_weights(path, write, {"trained_on": ["x"]}, temporary_suffix=".tmp.npz")
    assert seen == [tmp_path / "sub" / "w.npz.tmp.npz"] and not seen[0].exists()
    assert np.load(path)["a"].tolist() == [0, 1, 2]
    assert json.loads((tmp_path / "sub" / "w.json").read_text()) == {"trained_on": ["x"]}


def test_write_weights_never_replaces_a_device(tmp_path):
    fifo = tmp_path / "w.npz"
    os.mkfifo(fifo)
    with pytest.raises(InputError):
        write_weights(fifo, lambda temporary: temporary.write_bytes(b"x"), {})
    assert fifo.is_fifo()


def test_loading_errors_are_one_safe_line(tmp_path):
    from tracker.association.transformer import load_weights as load_associator
    from tracker.embedding.inference import load_weights as load_embedder

    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(os.urandom(256))
    for load, kind in ((load_embedder, EMBEDDER), (load_associator, ASSOCIATOR)):
        with pytest.raises(InputError) as caught:
            load(garbage)
        message = str(caught.value)
        assert message.startswith(f"{garbage}: not an identitrack weights file (cannot be read as {kind.name} weights")
        assert "\n" not in message and "weights_only" not in message and "allow_pickle" not in message
        with pytest.raises(InputError, match=f"{kind.name} weights not found"):
            load(tmp_path / "absent")
    other = tmp_path / "other.npz"
    np.savez(other, __header__=np.array(json.dumps({"format": "something/1"})))
    with pytest.raises(InputError, match=r"not an identitrack weights file \(associator format is not"):
        load_associator(other)
