"""``GlobalIdentities``: which global id each (source, local track id) has, and the results
of a source rewritten under those ids."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple, Union

from tracker.errors import InputError

Key = Tuple[str, int]


@dataclass(frozen=True)
class GlobalIdentities:
    """``ids``: (source name, local track id) -> global id (positive ints 1, 2, ..., numbered by
    each identity's smallest key: source name, then local id); ``decisions``: per joined pair of
    units, ``{"a": [source, id], "b": [source, id], "score": s}`` in the order they were joined
    (for the summary); ``units``: the linked ``tracker.link.Unit``s (spans, shot, camera) when
    known, else empty."""

    ids: Mapping[Key, int]
    decisions: Tuple[dict, ...] = field(default_factory=tuple)
    units: Tuple = field(default_factory=tuple)

    @classmethod
    def from_groups(cls, groups: Iterable[Sequence[Key]], decisions: Sequence[dict] = (),
                    units: Sequence = ()) -> "GlobalIdentities":
        """Each group of units is one identity; ids are numbered by the groups' smallest unit
        (source name, then local id). ``units``: the ``Unit``s linked (kept for their shots)."""
        ordered = sorted((sorted(g) for g in groups if len(g)), key=lambda g: g[0])
        ids: Dict[Key, int] = {}
        for number, group in enumerate(ordered, 1):
            for key in group:
                if key in ids:
                    raise InputError(f"groups: unit {key} is in two identities", "groups")
                ids[key] = number
        return cls(ids, tuple(decisions), tuple(units))

    def shots(self) -> Dict[Key, int]:
        """(source, local id) -> the 0-based shot of the source the track is in (units known)."""
        return {u.key: int(u.shot) for u in self.units}

    def global_id(self, source: str, track_id: int) -> int:
        try:
            return self.ids[(source, int(track_id))]
        except KeyError:
            raise InputError(f"source {source!r}: track {track_id} has no global identity", "source") from None

    def groups(self) -> Dict[int, List[Key]]:
        out: Dict[int, List[Key]] = {}
        for key, gid in sorted(self.ids.items(), key=lambda kv: (kv[1], kv[0])):
            out.setdefault(gid, []).append(key)
        return out

    def rewrite_mot(self, source: str, path: Union[str, Path], out: Union[str, Path]) -> int:
        """``out``: the MOTChallenge rows of ``path`` with the track id column set to the global
        id. Returns the rows written."""
        from tracker.io.mot import write_text_atomic

        lines = []
        for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split(",")
            try:
                parts[1] = str(self.global_id(source, int(float(parts[1]))))
            except (IndexError, ValueError):
                raise InputError(f"path {path}:{number}: not a MOTChallenge row", "path") from None
            lines.append(",".join(parts))
        write_text_atomic(out, "".join(line + "\n" for line in lines))
        return len(lines)

    def rewrite_jsonl(self, source: str, path: Union[str, Path], out: Union[str, Path]) -> int:
        """``out``: the JSONL lines of ``path`` with every track's ``id`` the global id and its
        local id kept as ``local_id``. Returns the lines written."""
        from tracker.io.mot import write_text_atomic

        lines = []
        for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                for t in record["tracks"]:
                    t["local_id"] = t["id"]
                    t["id"] = self.global_id(source, t["id"])
            except (ValueError, KeyError, TypeError):
                raise InputError(f"path {path}:{number}: not a track JSONL line", "path") from None
            lines.append(json.dumps(record, separators=(",", ":")))
        write_text_atomic(out, "".join(line + "\n" for line in lines))
        return len(lines)
