"""Benchmark groups: which sequences are summed together in a group row.

A result must hold per condition, not only on the mean: a lead on static cameras can hide a
loss on moving ones. Built-in groupings (``GROUPINGS``):

- ``camera``: ``real static``, ``real moving`` (the MOTChallenge sequences filmed from a moving
  platform, ``REAL_MOVING``) and ``virtual moving`` (sequences made by
  ``tracker.benchmarking.virtual_camera``, named ``<SEQ>-vcam<seed>``);
- ``conventions``: ``MOT15`` or ``MOT17`` evaluation conventions (``detect_benchmark``).

A group file maps sequences to groups of the user's own: one ``<sequence> <group>`` pair per
line (whitespace or tab separated; a group name may contain spaces after the first field;
``#`` starts a comment). A sequence may be in several groups; sequences a file leaves out
are in no group of it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from tracker.errors import InputError
from tracker.evaluation.conventions import MOT15, detect_benchmark

REAL_STATIC = "real static"
REAL_MOVING = "real moving"
VIRTUAL_MOVING = "virtual moving"
#: MOTChallenge training sequences filmed by a moving camera (MOT15 and MOT16/17 sequence
#: lists); MOT17 names match whatever detector suffix they carry
REAL_MOVING_SEQUENCES = ("ETH-Bahnhof", "ETH-Sunnyday", "ETH-Pedcross2", "KITTI-13", "KITTI-17", "ADL-Rundle-8",
                         "MOT17-05", "MOT17-10", "MOT17-11", "MOT17-13", "MOT16-05", "MOT16-10", "MOT16-11",
                         "MOT16-13")
VIRTUAL_MARKER = "-vcam"
GROUPINGS = ("camera", "conventions")
ALL_GROUPINGS = "all"


def camera_group(sequence: str) -> str:
    """``virtual moving``, ``real moving`` or ``real static`` for a sequence name."""
    if VIRTUAL_MARKER in sequence:
        return VIRTUAL_MOVING
    if any(sequence == s or sequence.startswith(s + "-") for s in REAL_MOVING_SEQUENCES):
        return REAL_MOVING
    return REAL_STATIC


def conventions_group(sequence: str, benchmark: Optional[str] = None) -> str:
    """``MOT15`` or ``MOT17`` (MOT16/17/20 conventions); ``benchmark`` is the one the
    evaluation used, else it is guessed from the name."""
    benchmark = benchmark or detect_benchmark(sequence)
    return MOT15 if benchmark == MOT15 else "MOT17"


def builtin_groups(sequences: Sequence[str], groupings: Sequence[str],
                   benchmarks: Optional[Mapping[str, str]] = None) -> Dict[str, List[str]]:
    """``{group: [sequences]}`` for the named built-in groupings, groups in first-seen order;
    ``benchmarks``: the evaluation conventions each sequence was scored with."""
    unknown = [g for g in groupings if g not in GROUPINGS]
    if unknown:
        raise InputError(f"groups: unknown grouping(s) {', '.join(unknown)}; choose from {', '.join(GROUPINGS)}, "
                         f"{ALL_GROUPINGS} or a group file", "groups")
    groups: Dict[str, List[str]] = {}
    for grouping in groupings:
        for seq in sequences:
            if grouping == "camera":
                name = camera_group(seq)
            else:
                name = conventions_group(seq, (benchmarks or {}).get(seq))
            groups.setdefault(name, []).append(seq)
    return groups


def read_group_file(path, sequences: Sequence[str]) -> Dict[str, List[str]]:
    """``{group: [sequences]}`` from a group file; a sequence it names that is not benchmarked
    is an error naming the line (a typo would silently empty a group)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"groups {path}: cannot read the group file ({exc})", "groups") from None
    known = set(sequences)
    groups: Dict[str, List[str]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 1)
        if len(parts) != 2:
            raise InputError(f"groups {path}:{number}: expected '<sequence> <group>', got {raw.strip()!r}", "groups")
        seq, group = parts[0], parts[1].strip()
        if seq not in known:
            raise InputError(f"groups {path}:{number}: sequence {seq!r} is not among the benchmarked ones "
                             f"({', '.join(sorted(known))})", "groups")
        members = groups.setdefault(group, [])
        if seq not in members:
            members.append(seq)
    if not groups:
        raise InputError(f"groups {path}: the group file names no sequence", "groups")
    return groups


def resolve_groups(spec: Optional[str], sequences: Sequence[str],
                   benchmarks: Optional[Mapping[str, str]] = None) -> Dict[str, List[str]]:
    """``spec``: None (no groups), ``all``, a comma-separated list of ``GROUPINGS``, or the path
    of a group file. Groups in order, sequences in benchmark order."""
    if spec is None or spec == "":
        return {}
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if names == [ALL_GROUPINGS]:
        names = list(GROUPINGS)
    if all(n in GROUPINGS for n in names):
        return builtin_groups(sequences, names, benchmarks)
    if Path(spec).is_file():
        groups = read_group_file(spec, sequences)
        order = {s: i for i, s in enumerate(sequences)}
        return {g: sorted(m, key=order.__getitem__) for g, m in groups.items()}
    raise InputError(f"groups {spec!r} is neither a grouping ({', '.join(GROUPINGS)}, {ALL_GROUPINGS}) "
                     "nor a group file", "groups")
