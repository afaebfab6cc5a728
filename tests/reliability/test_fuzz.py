"""Fuzzing the parsers and loaders: every config loader with random values, the ``--set
KEY=VALUE`` parser, random bytes and MOT-like text in every MOT file kind (and through
``load_detections``) and in ``seqinfo.ini``, random mutations of real ``det.txt`` / ``gt.txt`` /
``seqinfo.ini`` files and of detection files fed to the CLI, and random option values through
every subcommand (exit codes, tracebacks, writes outside the output
folder). Only our documented exceptions may escape: ``InputError`` (files, CLI), ``ValueError`` (API
configs)."""
from __future__ import annotations

import contextlib
import os
import random
import signal
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.errors import FileFormatError, InputError
from tracker.io.mot import load_detections, read_mot_file, read_seqinfo
from tracker.io.sources import parse_position

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])

any_value = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6), st.lists(st.floats(-5, 500), max_size=3), st.lists(st.text(max_size=2), max_size=2),
    st.tuples(st.integers(-5, 200), st.integers(-5, 200)), st.dictionaries(st.text(max_size=6), st.floats(0, 2),
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
    @given(values=st.dictionaries(st.sampled_from(names), any_value, max_size=5))
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


#: random bytes, or random text made of the characters of MOT rows (so that many lines parse)
MOT_CONTENT = st.one_of(st.binary(max_size=400),
                        st.text(alphabet="0123456789,.-+eEnaif \n#x", max_size=300).map(str.encode))


@settings(FUZZ, max_examples=300)
@given(data=MOT_CONTENT, kind=st.sampled_from(["det", "gt", "result"]))
def test_random_content_in_every_mot_file_kind(tmp_path_factory, data, kind):
    """``read_mot_file`` with and without a sequence length, and ``load_detections`` for a
    detection file, raise only ``InputError`` (``read_mot_file``'s names the file)."""
    path = tmp_path_factory.mktemp("fuzz") / f"{kind}.txt"
    path.write_bytes(data)
    for seq_length in (50, None):
        try:
            read_mot_file(path, kind, seq_length=seq_length)
        except InputError as exc:
            assert str(path) in str(exc)
    if kind == "det":
        try:
            load_detections(path)
        except InputError:
            pass  # FileFormatError is an InputError: file:line message


@settings(FUZZ, max_examples=180)
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=200).map(str.encode)))
def test_random_content_in_seqinfo(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("seq")
    (folder / "seqinfo.ini").write_bytes(data)
    try:
        read_seqinfo(folder)
    except InputError:
        pass


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


def test_mutations_of_real_gt_files(tmp_path, shared_data, mutate_lines):
    src = shared_data.require(shared_data.mot / "TUD-Campus" / "gt" / "gt.txt")
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


def test_mutations_of_real_seqinfo_files(tmp_path, shared_data, mutate_lines):
    srcs = sorted(shared_data.require(shared_data.mot).glob("*/seqinfo.ini"))
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


def test_mutated_detection_files_through_the_cli(tmp_path, capsys, synth, mutate_lines):
    """A malformed detection file given to ``track``: exit 2 with ``file:line``, never a
    traceback; a valid one (after a harmless mutation) runs."""
    from tracker import cli

    video = synth.write_synthetic_video(tmp_path / "clip.avi", frames=6)
    rows = "\n".join(f"{i + 1},-1,{x},{y},{synth.SQUARE},{synth.SQUARE},0.9"
                     for i in range(6) for x, y in synth.square_positions(i))
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


# ---------------------------------------------------------------------------- every subcommand
# Random option values (huge, negative, NaN, empty, unicode, path-like) through the parser of
# every subcommand, run in-process through ``tracker.cli.main`` on tiny real inputs, from a
# working folder inside the test's sandbox. Asserted: exit 0, 2, 3 or 130 only, never a
# traceback, and no file written or changed outside the output folder (the base command's
# ``out/``, or a folder/file a fuzzed option named). A run that is still busy after
# ``RUN_BUDGET_S`` gets a real SIGINT (as a user's Ctrl-C) every second: it must then stop
# with 130, so valid-but-huge work sizes cannot make the test run for ever.

ALLOWED_EXIT_CODES = {0, 2, 3, 130}
RUN_BUDGET_S = 3.0
SIGINT_EVERY_S = 1.0
#: options not fuzzed: they reach other machines (Ray) rather than parse input, or write into
#: the evaluated weights by design (``embed-eval --record``, the shipped model included)
NOT_FUZZED = {"-h", "--help", "--engine", "--address", "--record"}
#: folders of the repository no command may change (shipped models, the documentation)
REPO_ROOT = Path(__file__).resolve().parents[2]
PROTECTED = (REPO_ROOT / "tracker" / "models", REPO_ROOT / "docs")
HUGE = ["9" * 400, "9" * 308, str(2 ** 63), "1e300", "100000000000", "-" + "9" * 30]
ODD = ["-1", "-0", "0", "1", "0.5", "-1e9", "nan", "NaN", "inf", "-inf", "", " ", "ü", "名前", "\u202e", "😀",
       "e\u0301", "1x1", "0x0", "1s", "-5s", "a,b", ",", "3-1", "1-0", "=", "k=v", "lost_horizon_s=1e300", "auto",
       "default", "off", "ftp://x/y", "rtsp://", "http://127.0.0.1:9/none"]
#: ``fifo`` is a named pipe in the working folder: as an input it must not be read (it would
#: block), as an output it must not be replaced (the sandbox's stand-in for ``/dev/null`` and
#: ``/dev/zero``, which are never given: as root, a rename over them replaces the system's node)
SANDBOX_FIFO = "fifo"
PATH_LIKE = ["out2", "out/../out3", "sub/dir/file.txt", ".", "./", "a b", SANDBOX_FIFO, "missing.txt",
             "out/w.json", "out/p.png", "out/x.txt", "../work/out4"]
FUZZ_VALUE = st.one_of(st.sampled_from(HUGE + ODD + PATH_LIKE),
                       st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8))


def _sandbox(root: Path, synth) -> dict:
    """Tiny real inputs under ``root/inputs``; the commands run from ``root/work``."""
    inputs = root / "inputs"
    inputs.mkdir(parents=True)
    (root / "work").mkdir()
    os.mkfifo(root / "work" / SANDBOX_FIFO)
    video = synth.write_synthetic_video(inputs / "v.avi", frames=6, fps=10.0)
    rows = [(i + 1, k + 1, x, y) for i in range(6) for k, (x, y) in enumerate(synth.square_positions(i))]
    det = inputs / "det.txt"
    det.write_text("".join(f"{f},-1,{x},{y},{synth.SQUARE},{synth.SQUARE},0.9\n" for f, _, x, y in rows))
    gt = inputs / "gt.txt"
    gt.write_text("".join(f"{f},{k},{x},{y},{synth.SQUARE},{synth.SQUARE},1,-1,-1,-1\n" for f, k, x, y in rows))
    seq = inputs / "mot" / "SEQ"
    (seq / "det").mkdir(parents=True)
    (seq / "gt").mkdir()
    (seq / "det" / "det.txt").write_text(det.read_text())
    (seq / "gt" / "gt.txt").write_text(gt.read_text())
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=SEQ\nimDir=img1\nframeRate=10\nseqLength=6\nimWidth=160\n"
                                     "imHeight=120\nimExt=.jpg\n")
    listing = inputs / "list.txt"
    listing.write_text(f"{seq}\n")
    mot = str(inputs / "mot")
    return {
        "SOURCE": [str(video), "--detections", str(det), "-o", "out", "--no-video", "--appearance", "off", "-q"],
        "mot": ["mot", mot, "--output-dir", "out", "--quiet"],
        "eval": ["eval", "--gt", str(gt), "--results", str(gt)],
        "bench": ["bench", "--mot-root", mot, "--output-dir", "out", "--no-docs", "--trackers", "ours-iou",
                  "--quiet"],
        "batch": ["batch", str(listing), "-o", "out", "--workers", "1", "--no-video", "--appearance", "off", "-q"],
        "train": ["train", str(video), "--detections", str(det), "-o", "out/w.pt", "--steps", "1",
                  "--batch-size", "4", "--no-progress", "--threads", "1"],
        "embed-eval": ["embed-eval", str(video), "--gt", str(gt), "--step", "2", "--no-probe", "--no-random",
                       "--threads", "1"],
        "train-associator": ["train-associator", "--mot-root", mot, "--output", "out/a.npz", "--epochs", "1",
                             "--threads", "1"],
    }


def _options(command: str) -> list:
    """The option strings of ``command``'s parser that take a value or are flags."""
    import argparse
    import importlib

    from tracker import cli

    module_name = cli.SUBCOMMANDS[command][0] if command in cli.SUBCOMMANDS else cli.SOURCE_COMMAND
    parser = argparse.ArgumentParser(prog="x")
    importlib.import_module(module_name).configure(parser)
    opts = []
    for action in parser._actions:
        for opt in action.option_strings:
            if opt not in NOT_FUZZED:
                opts.append((opt, action.nargs != 0))
    return opts


def _tree(root: Path) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            try:
                st_ = p.lstat()
            except OSError:
                continue
            out[p] = (st_.st_size, st_.st_mtime_ns) if name in filenames else None
    return out


@contextlib.contextmanager
def _ctrl_c_after(seconds: float):
    """A real SIGINT to this process after ``seconds``, then every ``SIGINT_EVERY_S``."""
    active = [True]

    def fire(signum, frame):
        if active[0]:
            signal.raise_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds, SIGINT_EVERY_S)
    try:
        yield
    finally:
        active[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _allowed(path: Path, work: Path, named: list) -> bool:
    if path == work / "out" or (work / "out") in path.parents:
        return True
    for target in named:  # a fuzzed value names an output; its siblings (.json, .ckpt, .partial) too
        if path == target or target in path.parents or (path.parent == target.parent
                                                        and path.name.startswith(target.stem or target.name)):
            return True
    return False


#: folders of the (sandbox) home where libraries keep caches (matplotlib's font list)
HOME_CACHES = (".cache", ".config")
COMMANDS = ["SOURCE", "mot", "eval", "bench", "batch", "train", "embed-eval", "train-associator"]
#: examples per subcommand: bounded, so the whole sweep stays fast (derandomized: the same
#: examples every run); ``FUZZ_EXAMPLES=500`` (random) explores further
SUBCOMMAND_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
FUZZ_DERANDOMIZE = "FUZZ_EXAMPLES" not in os.environ


@pytest.mark.parametrize("command", COMMANDS)
def test_random_option_values_through_every_subcommand(tmp_path, monkeypatch, capsys, command, synth):
    from tracker import cli

    base = _sandbox(tmp_path, synth)[command]
    options = _options(command)
    work = tmp_path / "work"
    monkeypatch.chdir(work)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # "~" expands inside the sandbox
    caches = [home / name for name in HOME_CACHES]
    runs = []
    # the base command works as given (the harness is sound), and its imports are done: an
    # interrupt of a later example cannot land inside a half-finished import of this process
    assert cli.main(list(base)) == 0, capsys.readouterr().err[-3000:]
    capsys.readouterr()

    @settings(max_examples=SUBCOMMAND_EXAMPLES, deadline=None, derandomize=FUZZ_DERANDOMIZE,
              suppress_health_check=list(HealthCheck))
    @given(picks=st.lists(st.tuples(st.sampled_from(options), FUZZ_VALUE), min_size=1, max_size=3),
           positional=st.one_of(st.none(), FUZZ_VALUE))
    def check(picks, positional):
        argv = list(base)
        if positional is not None and command == "SOURCE":
            argv[0] = positional
        for (opt, takes_value), value in picks:
            argv += [opt, value] if takes_value else [opt]
        before = _tree(tmp_path)
        protected = [_tree(folder) for folder in PROTECTED]
        with _ctrl_c_after(RUN_BUDGET_S):
            try:
                code = cli.main(argv)
            except KeyboardInterrupt:
                code = "KeyboardInterrupt escaped"
        err = capsys.readouterr().err
        runs.append((argv, code))
        assert code in ALLOWED_EXIT_CODES, f"{argv}: exit {code}\n{err[-3000:]}"
        assert "Traceback" not in err, f"{argv}:\n{err[-3000:]}"
        named = [(work / os.path.expanduser(v)).resolve() for (_, t), v in picks if t and v.strip()]
        if positional:
            named.append((work / os.path.expanduser(positional)).resolve())
        after = _tree(tmp_path)
        changed = [p for p, meta in after.items() if before.get(p, "new") != meta and meta is not None]
        outside = [p for p in changed if not _allowed(p.resolve(), work.resolve(), named)
                   and not any(c in p.parents for c in caches)]
        assert not outside, f"{argv}: wrote outside the output folder: {outside}"
        assert [_tree(folder) for folder in PROTECTED] == protected, f"{argv}: changed the repository"
        assert stat.S_ISFIFO(os.lstat(work / SANDBOX_FIFO).st_mode), f"{argv}: replaced the named pipe"
        for p in (tmp_path / "inputs").rglob("*"):
            assert p in before, f"{argv}: created {p} among the inputs"

    check()
    assert runs
