"""Fuzzing beyond tests/test_fuzz_parsers.py: every config loader with random values, the
``--set KEY=VALUE`` parser, random bytes in every MOT file kind and ``seqinfo.ini``, and random
mutations of real ``gt.txt`` / ``seqinfo.ini`` files and of detection files fed to the CLI.
Only our documented exceptions may escape: ``InputError`` (files, CLI), ``ValueError`` (API
configs)."""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest_data import MOT_ROOT, require
from test_reliability_support import mutate_lines
from tracker.errors import FileFormatError, InputError
from tracker.io.mot import load_detections, read_mot_file, read_seqinfo
from tracker.io.sources import parse_position

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])

any_value = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6), st.lists(st.floats(-5, 500), max_size=3), st.lists(st.text(max_size=2), max_size=2),
    st.tuples(st.integers(-5, 200), st.integers(-5, 200)), st.dictionaries(st.text(max_size=5), st.floats(0, 2),
                                                                           max_size=2),
)


def _config_classes():
    from tracker.benchmarking.synthetic import SceneConfig
    from tracker.config import TrackerConfig
    from tracker.memory import MemoryConfig
    from tracker.motion import MotionConfig

    return [
        pytest.param(TrackerConfig, id="TrackerConfig"),
        pytest.param(MotionConfig, id="MotionConfig"),
        pytest.param(MemoryConfig, id="MemoryConfig"),
        pytest.param(SceneConfig, id="SceneConfig"),
    ]


#: values that often slip past validation: wrong types, NaN, huge numbers, containers
TRICKY = [None, True, 0, -1, 10**30, 0.5, float("nan"), float("inf"), -float("inf"), "", "x", "iou", [], [1, 2],
          (64, 32), ("a", "b"), {}, {"a": 1}, 1e300, object()]


def _sweep(load, names):
    """Every field with every tricky value (deterministic), then random combinations."""
    for name in names:
        for value in TRICKY:
            try:
                load({name: value})
            except ValueError:
                pass

    @FUZZ
    @given(values=st.dictionaries(st.sampled_from(names), any_value, max_size=4))
    def check(values):
        try:
            load(values)
        except ValueError:
            pass

    check()


@pytest.mark.parametrize("cls", _config_classes())
def test_config_loaders_only_raise_value_error(cls):
    _sweep(cls.from_dict, cls.field_names() + ["bogus"])


@pytest.mark.parametrize("loader", ["EncoderConfig", "AugmentConfig"])
def test_embedding_config_loaders_only_raise_value_error(loader):
    if loader == "EncoderConfig":
        from tracker.embedding.model import EncoderConfig as cls
    else:
        from tracker.embedding.augment import AugmentConfig as cls
    import dataclasses

    _sweep(cls.from_dict, [f.name for f in dataclasses.fields(cls)])


KEYS = ["high_score", "low_score", "min_hits", "lost_horizon_s", "associator", "fuse_score", "output_lost_s",
        "motion.measurement_noise", "motion.bogus", "memory.enabled", "memory.max_entries", "memory", "nope", "a.b.c",
        "", " ", "motion."]
VALUES = st.one_of(st.sampled_from(["1", "0", "-1", "nan", "NaN", "Infinity", "1e999", "true", "null", "[]", "{}",
                                    '"iou"', "iou", "transformer", '{"a": 1}', "", "=", "[" * 3000, "9" * 5000]),
                   st.text(max_size=12))


@FUZZ
@given(items=st.lists(st.one_of(st.tuples(st.sampled_from(KEYS), VALUES).map(lambda kv: f"{kv[0]}={kv[1]}"),
                                st.text(max_size=10)), min_size=1, max_size=3))
def test_cli_set_overrides_only_raise_input_error(items):
    from tracker.run import RunSpec, parse_settings, video_tracker_config

    try:
        video_tracker_config(RunSpec(overrides=parse_settings(items)))
    except InputError:
        pass


@FUZZ
@given(text=st.text(max_size=30))
def test_positions_only_raise_input_error(text):
    try:
        parse_position(text, "--start")
    except InputError as exc:
        assert "--start" in str(exc)


@FUZZ
@given(data=st.binary(max_size=300), kind=st.sampled_from(["det", "gt", "result"]))
def test_random_bytes_in_every_mot_file_kind(tmp_path_factory, data, kind):
    path = tmp_path_factory.mktemp("fuzz") / f"{kind}.txt"
    path.write_bytes(data)
    try:
        read_mot_file(path, kind, seq_length=50)
    except InputError as exc:
        assert str(path) in str(exc)


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_in_seqinfo(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("seq")
    (folder / "seqinfo.ini").write_bytes(data)
    try:
        read_seqinfo(folder)
    except InputError:
        pass


def test_mutations_of_real_gt_files(tmp_path):
    src = require(MOT_ROOT / "TUD-Campus" / "gt" / "gt.txt")
    text = src.read_text()
    rng = random.Random(1)
    errors = 0
    for trial in range(120):
        path = tmp_path / f"gt{trial}.txt"
        path.write_text(mutate_lines(text, rng))
        try:
            read_mot_file(path, "gt", seq_length=71)
        except FileFormatError as exc:
            errors += 1
            assert str(exc).startswith(f"{path}:")
        except InputError as exc:
            assert str(path) in str(exc)
    assert errors > 0


def test_mutations_of_real_seqinfo_files(tmp_path):
    srcs = sorted(require(MOT_ROOT).glob("*/seqinfo.ini"))
    rng = random.Random(2)
    outcomes = set()
    for trial in range(150):
        folder = tmp_path / f"s{trial}"
        folder.mkdir()
        (folder / "seqinfo.ini").write_text(mutate_lines(rng.choice(srcs).read_text(), rng))
        try:
            read_seqinfo(folder)
            outcomes.add("ok")
        except InputError as exc:
            outcomes.add("error")
            assert "seqinfo.ini" in str(exc)
    assert outcomes == {"ok", "error"}


def test_mutated_detection_files_through_the_cli(tmp_path, capsys):
    """A malformed detection file given to ``track``: exit 2 with ``file:line``, never a
    traceback; a valid one (after a harmless mutation) runs."""
    from test_video_support import SQUARE, square_positions, write_synthetic_video
    from tracker import cli

    video = write_synthetic_video(tmp_path / "clip.avi", frames=6)
    rows = "\n".join(f"{i + 1},-1,{x},{y},{SQUARE},{SQUARE},0.9" for i in range(6) for x, y in square_positions(i))
    rng = random.Random(3)
    codes = set()
    for trial in range(25):
        det = tmp_path / f"det{trial}.txt"
        det.write_text(mutate_lines(rows, rng))
        code = cli.main([str(video), "--detections", str(det), "-o", str(tmp_path / f"o{trial}"), "--no-video",
                         "--quiet"])
        _, err = capsys.readouterr()
        assert code in (0, 2) and "Traceback" not in err, err
        if code == 2:
            assert f"{det}:" in err
        codes.add(code)
    assert codes == {0, 2}


def test_detection_file_rules_end_to_end(tmp_path):
    """The documented rules of tracker/io/mot.py, through ``load_detections``: rows in any order
    are sorted, exact duplicates kept once, frames beyond the sequence dropped and counted."""
    det = tmp_path / "det.txt"
    det.write_text("3,-1,1,1,5,5,0.5\n1,-1,1,1,5,5,0.9\n1,-1,1,1,5,5,0.9\n9,-1,1,1,5,5,0.9\n2,-1,2,2,5,5,0.8\n")
    ds = load_detections(det, seq_length=5)
    assert ds.frames == [1, 2, 3] and ds.duplicates_dropped == 1 and ds.beyond_length_dropped == 1
    assert ds.rows == 3
