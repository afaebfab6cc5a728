"""Fuzz the MOT parsers and config loaders: only documented exceptions may escape."""
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.config import TrackerConfig
from tracker.errors import InputError
from tracker.io.mot import load_detections, read_mot_file, read_seqinfo


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400))
def test_random_bytes_in_detection_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "det.txt"
    path.write_bytes(data)
    try:
        load_detections(path)
    except InputError:
        pass  # FileFormatError is an InputError: file:line message


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet="0123456789,.-+eEnaif \n#x", max_size=300))
def test_random_text_in_gt_and_result_files(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "gt.txt"
    path.write_text(text)
    for kind in ("gt", "result"):
        try:
            read_mot_file(path, kind)
        except InputError as exc:
            assert str(path) in str(exc)


def test_mutations_of_a_real_file(tmp_path, shared_data, mutate_lines):
    src = shared_data.require(shared_data.mot / "TUD-Campus" / "det" / "det.txt")
    text = src.read_text()
    rng = random.Random(0)
    errors = 0
    for trial in range(200):
        mutated = mutate_lines(text, rng)
        path = tmp_path / f"m{trial}.txt"
        path.write_text(mutated)
        try:
            load_detections(path)
        except InputError as exc:
            errors += 1
            assert f"{path}:" in str(exc)
    assert errors > 0  # the mutations do produce malformed lines, and they are reported


@settings(max_examples=150, deadline=None)
@given(values=st.dictionaries(st.sampled_from(TrackerConfig.field_names() + ["bogus", "motion"]),
                              st.one_of(st.floats(allow_nan=True), st.integers(-5, 500), st.booleans(), st.text(max_size=5),
                                        st.none(), st.dictionaries(st.text(max_size=6), st.floats(0, 2), max_size=2)),
                              max_size=5))
def test_config_loader_only_raises_value_error(values):
    try:
        TrackerConfig.from_dict(values)
    except ValueError:
        pass


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200))
def test_seqinfo_fuzz(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("seq")
    (folder / "seqinfo.ini").write_text(text)
    try:
        read_seqinfo(folder)
    except InputError:
        pass
