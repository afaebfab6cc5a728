"""Identities across sources (videos, cameras, shots): the parts ``track link`` is assembled from.

- ``identities.GlobalIdentities``: (source, local track id) -> global id, and the rewriting of a
  source's ``.txt`` / ``.jsonl`` results under global ids;
- ``greedy.link_greedy``: joins units across sources from any pair score (appearance cosine, or
  the offline stage's tracklet pair scorer) under the linking rules: units that co-exist in one
  source are different identities, an open-set threshold keeps one-off identities alone;
- ``appearance.track_embeddings``: the mean appearance embedding of every track of a results
  folder, recomputed from the source video (embeddings are not in the JSONL).

The threshold of ``link_greedy`` has no default: it must be chosen by leave-clips-out folds
(issue 19's development protocol) with the embedder that is used.
"""
from tracker.link.appearance import track_embeddings
from tracker.link.greedy import Unit, link_greedy
from tracker.link.identities import GlobalIdentities

__all__ = ["GlobalIdentities", "Unit", "link_greedy", "track_embeddings"]
