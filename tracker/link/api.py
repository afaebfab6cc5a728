"""``link(results_by_source) -> GlobalIdentities``: global identities over the results of several
sources, and the linked results written to a folder (what ``track link`` runs after tracking).

A unit is one local track of one source and shot (``source_units``: frames, shot from the
source's cuts, camera, seconds on the shared clock); its score against a unit of another
source or shot is the cosine similarity of their mean appearance embeddings
(``track_embeddings``); ``link_vectors`` joins them under the co-existence rules (with
``same_time``: per camera on one clock) and the open-set threshold ``DEFAULT_THRESHOLD``.
The rules are defined in ``tracker.link.greedy`` and docs/link.md.
"""
from __future__ import annotations

import shutil
from bisect import bisect_right
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from tracker.errors import InputError
from tracker.link.appearance import EMBEDDINGS_PER_TRACK, track_embeddings
from tracker.link.greedy import Unit, link_vectors
from tracker.link.identities import GlobalIdentities
from tracker.report.results import ResultSource

#: the least cosine similarity of the mean embeddings (Embedder.default()) of two tracks of
#: different sources for ``link`` to join them: the median of the four leave-one-video-out
#: choices of benchmarks/clip_links.py with clips tracked --appearance on (docs/link.md); each fold
#: chose on three videos only
DEFAULT_THRESHOLD = 0.92
#: which ``Embedder`` vectors a track's mean is taken over: ``learned`` (``embed``) or
#: ``fused`` (``embed_fused``: with the colour histogram); chosen in docs/link.md
EMBEDDING = "learned"
EMBEDDINGS = ("learned", "fused")
#: score of a pair that cannot be linked (a track without an embedding)
NO_SCORE = -np.inf
MOT_SUFFIX = ".txt"
SUMMARY_SUFFIX = ".summary.json"

Embed = Callable[[np.ndarray, np.ndarray], np.ndarray]


def track_shot(source: ResultSource, first_frame: int) -> int:
    """The 0-based shot of ``source`` that its 1-based frame ``first_frame`` is in (the number of
    cuts at or before it; ``source.cuts`` are the first frames of the shots after the first)."""
    return bisect_right(sorted(source.cuts), int(first_frame))


def _times(source: ResultSource, rows) -> Tuple[float, float]:
    """Seconds of a track's first and last frame on the source's clock (the JSONL ``time``;
    where it has none, index / fps; NaN when the source states no fps either)."""
    t = rows.time[[0, -1]].astype(np.float64)
    if not np.isfinite(t).all() and source.fps > 0:
        t = np.where(np.isfinite(t), t, rows.index[[0, -1]] / source.fps)
    return float(t[0]), float(t[1])


def source_units(source: ResultSource, camera: str = "", clock_offset: float = 0.0) -> List[Unit]:
    """Every local track of ``source`` as a ``Unit``: its reported frames (1-based), its shot
    (``track_shot``), ``camera`` ("" = the source is a camera of its own) and its time span
    (seconds, ``_times``, plus ``clock_offset``: where the source's 0 is on a shared clock)."""
    out = []
    for tid, rows in sorted(source.tracks.items()):
        if not len(rows.index):
            continue
        first, last = int(rows.index.min()) + 1, int(rows.index.max()) + 1
        start_s, end_s = (t + clock_offset for t in _times(source, rows))
        out.append(Unit(source.name, int(tid), first, last, track_shot(source, first), camera, start_s, end_s))
    return out


def cosine_scores(units: Sequence[Unit], embeddings: Mapping[Tuple[str, int], np.ndarray]) -> np.ndarray:
    """units (U,); embeddings: unit key -> (D,) unit vector -> (U, U) cosine similarities,
    ``NO_SCORE`` for a unit without an embedding (the straightforward form of ``unit_vectors``
    + ``link_vectors``; for small cases and tests)."""
    n = len(units)
    have = [u.key in embeddings for u in units]
    scores = np.full((n, n), NO_SCORE)
    idx = [i for i in range(n) if have[i]]
    if idx:
        m = np.stack([np.asarray(embeddings[units[i].key], np.float64) for i in idx])
        scores[np.ix_(idx, idx)] = m @ m.T
    return scores


def unit_vectors(units: Sequence[Unit], embeddings: Mapping[Tuple[str, int], np.ndarray]) -> np.ndarray:
    """units (U,); embeddings: unit key -> (D,) unit vector -> (U, D) float64, a NaN row for a
    unit without an embedding."""
    dims = {np.asarray(v).shape for v in embeddings.values()}
    if len(dims) > 1:
        raise InputError(f"embeddings: vectors of different shapes {sorted(dims)}", "embeddings")
    d = dims.pop()[0] if dims else 1
    out = np.full((len(units), d), np.nan)
    for i, u in enumerate(units):
        v = embeddings.get(u.key)
        if v is not None:
            out[i] = np.asarray(v, np.float64)
    return out


def check_names(sources: Sequence[ResultSource]) -> None:
    """Source names are the keys of the identities: they must differ."""
    seen = set()
    for s in sources:
        if s.name in seen:
            raise InputError(f"sources: two sources are named {s.name!r} (the file stems must differ)", "sources")
        seen.add(s.name)


def _known_names(sources: Sequence[ResultSource], mapping: Mapping, parameter: str) -> None:
    names = {s.name for s in sources}
    unknown = sorted(set(mapping) - names)
    if unknown:
        raise InputError(f"{parameter}: no source is named {', '.join(map(repr, unknown))} (sources: "
                         f"{', '.join(sorted(names))})", parameter)


def _cameras(sources: Sequence[ResultSource], cameras: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """source name -> camera name: ``cameras``, else the source's own ``camera`` ("" = a camera
    of its own); names of no source are errors."""
    cameras = dict(cameras or {})
    _known_names(sources, cameras, "cameras")
    for name, camera in cameras.items():
        if not isinstance(camera, str) or not camera.strip():
            raise InputError(f"cameras: source {name!r} has an empty camera name", "cameras")
    return {s.name: cameras.get(s.name, s.camera) for s in sources}


def _offsets(sources: Sequence[ResultSource], clock_offsets: Optional[Mapping[str, float]]) -> Dict[str, float]:
    """source name -> seconds of its time 0 on the shared clock: ``clock_offsets``, else the
    source's own ``clock_offset``; names of no source and non-finite values are errors."""
    offsets = dict(clock_offsets or {})
    _known_names(sources, offsets, "clock_offsets")
    for name, value in offsets.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise InputError(f"clock_offsets: source {name!r}: a finite number of seconds, got {value!r}",
                             "clock_offsets")
    return {s.name: float(offsets.get(s.name, s.clock_offset)) for s in sources}


def all_units(sources: Sequence[ResultSource], cameras: Optional[Mapping[str, str]] = None,
              clock_offsets: Optional[Mapping[str, float]] = None) -> List[Unit]:
    """The units of every source, in source then local id order (``source_units``)."""
    check_names(sources)
    camera_of, offset_of = _cameras(sources, cameras), _offsets(sources, clock_offsets)
    return [u for s in sources for u in source_units(s, camera_of[s.name], offset_of[s.name])]


def link_embeddings(sources: Sequence[ResultSource], embeddings: Mapping[Tuple[str, int], np.ndarray],
                    threshold: float = DEFAULT_THRESHOLD, cameras: Optional[Mapping[str, str]] = None,
                    same_time: bool = False,
                    clock_offsets: Optional[Mapping[str, float]] = None) -> GlobalIdentities:
    """Global identities of every track of ``sources`` from precomputed track embeddings
    ((source name, local id) -> (D,) unit vector); tracks without one stay alone. ``cameras``,
    ``same_time``, ``clock_offsets``: as for ``link``."""
    units = all_units(sources, cameras, clock_offsets)
    return link_vectors(units, unit_vectors(units, embeddings), threshold, same_time)


def embed_sources(sources: Sequence[ResultSource], embed: Optional[Embed] = None,
                  per_track: int = EMBEDDINGS_PER_TRACK,
                  progress: Optional[Callable[[str], None]] = None) -> Dict[Tuple[str, int], np.ndarray]:
    """(source name, local id) -> mean track embedding, from each source's video. embed:
    ``(frame, xyxy) -> (N, D)`` (default: ``Embedder.default()``'s, by ``EMBEDDING``); progress: called
    with each source's name before it is decoded."""
    if embed is None:
        from tracker.embedding import Embedder

        embedder = Embedder.default()
        embed = embedder.embed_fused if EMBEDDING == "fused" else embedder.embed
    out: Dict[Tuple[str, int], np.ndarray] = {}
    for s in sources:
        if progress is not None:
            progress(s.name)
        for tid, v in track_embeddings(s, embed, per_track).items():
            out[(s.name, tid)] = v
    return out


ResultsBySource = Union[Sequence[ResultSource], Mapping[str, Union[ResultSource, str, Path]]]


def as_sources(results_by_source: ResultsBySource) -> List[ResultSource]:
    """A sequence of ``ResultSource`` (names as they are), or a mapping name -> ``ResultSource``
    or the results folder of one ``track`` run (renamed to the key) -> the sources in order."""
    from tracker.report.results import load_results

    if not isinstance(results_by_source, Mapping):
        sources = list(results_by_source)
        for s in sources:
            if not isinstance(s, ResultSource):
                raise InputError(f"results_by_source: expected ResultSource items (tracker.report.load_results), "
                                 f"got {type(s).__name__}", "results_by_source")
        return sources
    out = []
    for name, value in results_by_source.items():
        if not isinstance(value, ResultSource):
            loaded = load_results(value)
            named = [s for s in loaded if s.name == name]
            if len(loaded) != 1 and len(named) != 1:
                raise InputError(f"results_by_source: {value} holds {len(loaded)} results "
                                 f"({', '.join(s.name for s in loaded)}) and none is named {name!r}",
                                 "results_by_source")
            value = named[0] if named else loaded[0]
        value.name = str(name)
        out.append(value)
    return out


def link(results_by_source: ResultsBySource, threshold: float = DEFAULT_THRESHOLD, embed: Optional[Embed] = None,
         per_track: int = EMBEDDINGS_PER_TRACK, cameras: Optional[Mapping[str, str]] = None,
         same_time: bool = False, clock_offsets: Optional[Mapping[str, float]] = None) -> GlobalIdentities:
    """Global identities over the results of several sources.

    results_by_source: ``tracker.report.load_results`` sources (names must differ), or a mapping
        source name -> a ``ResultSource`` or the output folder of one ``track`` run; each source's
        video must still be where its summary says (the embeddings are computed from it).
    threshold: the least cosine similarity (in [-1, 1]) of two tracks' mean appearance
        embeddings to join them (default ``DEFAULT_THRESHOLD``, docs/link.md).
    embed: ``(frame (H, W, 3) uint8 BGR, boxes (N, 4) xyxy px) -> (N, D)`` unit vectors
        (default ``Embedder.default()``); per_track: boxes embedded per track.
    cameras: source name -> camera name (default: each source's ``camera``, "" = a camera of
        its own); only ``same_time`` reads it.
    same_time: the sources are synchronised cameras on one clock (each frame's JSONL ``time``,
        seconds, plus its source's clock offset): two tracks of one camera visible at one
        instant are then different identities even in two sources; tracks of different cameras
        may still be one identity at one instant. Without it the sources' clocks are unrelated
        and only tracks of one source visible in one frame are kept apart.
    clock_offsets: source name -> seconds from the shared clock's 0 to the source's time 0
        (default: each source's ``clock_offset``, 0.0: all sources start together; a video's
        times are its position, a clip tracked with ``--start`` keeps its video's clock);
        only ``same_time`` reads it.

    Every local track is a unit of its source and shot (``track_shot``: the tracker never
    continues a track across a cut); units of different sources or shots are joined from the
    most similar pair down (``link_vectors``) under the rules above. Returns
    ``GlobalIdentities``: ``ids`` (source, local id) -> global id, ``decisions`` (the joined
    pairs and their similarities), ``units`` (frames, shot, camera, seconds of every track).
    """
    sources = as_sources(results_by_source)
    check_names(sources)
    _cameras(sources, cameras)
    _offsets(sources, clock_offsets)
    return link_embeddings(sources, embed_sources(sources, embed, per_track), threshold, cameras, same_time,
                           clock_offsets)


def write_linked(identities: GlobalIdentities, sources: Sequence[ResultSource],
                 folder: Union[str, Path]) -> List[Path]:
    """Write ``<folder>/<name>.txt`` and ``<name>.jsonl`` of every source under global ids
    (local ids kept as ``local_id`` in the JSONL) and copy its summary beside. Sources may
    already be in ``folder`` (rewritten in place). Returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for s in sources:
        mot = s.jsonl.with_name(s.jsonl.name[:-len(".jsonl")] + MOT_SUFFIX)
        if mot.is_file():
            out = folder / f"{s.name}{MOT_SUFFIX}"
            identities.rewrite_mot(s.name, mot, out)
            written.append(out)
        out = folder / f"{s.name}.jsonl"
        identities.rewrite_jsonl(s.name, s.jsonl, out)
        written.append(out)
        if s.summary_path is not None:
            target = folder / f"{s.name}{SUMMARY_SUFFIX}"
            if s.summary_path.resolve() != target.resolve():
                shutil.copyfile(s.summary_path, target)
            written.append(target)
    return written
