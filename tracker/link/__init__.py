"""Identities across sources (videos, cameras, shots): the parts ``track link`` is assembled from.

- ``identities.GlobalIdentities``: (source, local track id) -> global id, and the rewriting of a
  source's ``.txt`` / ``.jsonl`` results under global ids;
- ``greedy.link_greedy``: joins units across sources from any pair score (appearance cosine, or
  the offline stage's tracklet pair scorer) under the linking rules: units that co-exist in one
  source are different identities, an open-set threshold keeps one-off identities alone;
- ``appearance.track_embeddings``: the mean appearance embedding of every track of a results
  folder, recomputed from the source video (embeddings are not in the JSONL).

- ``api.link``: the whole of it for loaded results (``tracker.report.load_results``): track
  embeddings, cosine scores, ``link_greedy`` at ``DEFAULT_THRESHOLD`` (chosen by the
  leave-one-video-out folds of benchmarks/clip_links.py, docs/link.md); ``write_linked`` writes
  the results under global ids into a folder (``track link``).
"""
from tracker.link.api import DEFAULT_THRESHOLD, link, link_embeddings, write_linked
from tracker.link.appearance import track_embeddings
from tracker.link.greedy import Unit, link_greedy
from tracker.link.identities import GlobalIdentities

__all__ = ["DEFAULT_THRESHOLD", "GlobalIdentities", "Unit", "link", "link_embeddings", "link_greedy",
           "track_embeddings", "write_linked"]
