"""``link(sources)``: global identities over results of several sources, and the linked results
written to a folder (what ``track link`` runs after tracking).

A unit is one local track of one source; its score against a unit of another source is the
cosine similarity of their mean appearance embeddings (``track_embeddings``); ``link_greedy``
joins them under the co-existence rule and the open-set threshold ``DEFAULT_THRESHOLD``.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from tracker.errors import InputError
from tracker.link.appearance import EMBEDDINGS_PER_TRACK, track_embeddings
from tracker.link.greedy import Unit, link_greedy
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


def source_units(source: ResultSource) -> List[Unit]:
    """Every local track of ``source`` as a ``Unit`` spanning its reported frames (1-based)."""
    return [Unit(source.name, int(tid), int(rows.index.min()) + 1, int(rows.index.max()) + 1)
            for tid, rows in sorted(source.tracks.items()) if len(rows.index)]


def cosine_scores(units: Sequence[Unit], embeddings: Mapping[Tuple[str, int], np.ndarray]) -> np.ndarray:
    """units (U,); embeddings: unit key -> (D,) unit vector -> (U, U) cosine similarities,
    ``NO_SCORE`` for a unit without an embedding."""
    n = len(units)
    have = [u.key in embeddings for u in units]
    scores = np.full((n, n), NO_SCORE)
    idx = [i for i in range(n) if have[i]]
    if idx:
        m = np.stack([np.asarray(embeddings[units[i].key], np.float64) for i in idx])
        scores[np.ix_(idx, idx)] = m @ m.T
    return scores


def check_names(sources: Sequence[ResultSource]) -> None:
    """Source names are the keys of the identities: they must differ."""
    seen = set()
    for s in sources:
        if s.name in seen:
            raise InputError(f"sources: two sources are named {s.name!r} (the file stems must differ)", "sources")
        seen.add(s.name)


def link_embeddings(sources: Sequence[ResultSource], embeddings: Mapping[Tuple[str, int], np.ndarray],
                    threshold: float = DEFAULT_THRESHOLD) -> GlobalIdentities:
    """Global identities of every track of ``sources`` from precomputed track embeddings
    ((source name, local id) -> (D,) unit vector); tracks without one stay alone."""
    check_names(sources)
    units = [u for s in sources for u in source_units(s)]
    return link_greedy(units, cosine_scores(units, embeddings), threshold)


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


def link(sources: Sequence[ResultSource], threshold: float = DEFAULT_THRESHOLD, embed: Optional[Embed] = None,
         per_track: int = EMBEDDINGS_PER_TRACK) -> GlobalIdentities:
    """The results of several sources (``tracker.report.load_results``; names must differ)
    -> their global identities: appearance embeddings from each source's video, linked by
    ``link_greedy`` at ``threshold`` (cosine similarity; default ``DEFAULT_THRESHOLD``)."""
    check_names(sources)
    return link_embeddings(sources, embed_sources(sources, embed, per_track), threshold)


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
