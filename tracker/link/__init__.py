"""Identities across sources (videos, cameras, shots): the parts ``track link`` is assembled from.

- ``identities.GlobalIdentities``: (source, local track id) -> global id, and the rewriting of a
  source's ``.txt`` / ``.jsonl`` results under global ids;
- ``greedy.Unit``: one local track of one source: its frames, shot, camera and seconds;
- ``greedy.link_greedy``: joins units across sources and shots from any pair score (appearance
  cosine, or the offline stage's tracklet pair scorer) under the linking rules: units that
  co-exist in one source are different identities (with ``same_time``: units of one camera
  seen at one instant too), an open-set threshold keeps one-off identities alone;
  ``link_vectors`` is the same from (U, D) embeddings without the (U, U) matrix (10 sources x
  1,000 tracks in 2-3 s on one core, docs/link.md);
- ``appearance.track_embeddings``: the mean appearance embedding of every track of a results
  folder, recomputed from the source video (embeddings are not in the JSONL).

- ``api.link``: the whole of it for loaded results (``tracker.report.load_results``, or a
  mapping name -> result folder): track embeddings, cosine scores, ``link_vectors`` at
  ``DEFAULT_THRESHOLD`` (chosen by the
  leave-one-video-out folds of benchmarks/clip_links.py, docs/link.md); ``write_linked`` writes
  the results under global ids into a folder (``track link``).
"""
from tracker.link.api import DEFAULT_THRESHOLD, link, link_embeddings, write_linked
from tracker.link.appearance import track_embeddings
from tracker.link.greedy import Unit, link_greedy, link_pairs, link_vectors
from tracker.link.identities import GlobalIdentities

__all__ = ["DEFAULT_THRESHOLD", "GlobalIdentities", "Unit", "link", "link_embeddings", "link_greedy", "link_pairs",
           "link_vectors", "track_embeddings", "write_linked"]
