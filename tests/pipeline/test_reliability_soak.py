"""A short soak (the long one is ``benchmarks/soak.py``, 100,000 frames): an endless synthetic
street through ``track()`` with the real appearance embedder; live tracks and identity-memory
entries stay bounded and resident memory does not creep up."""
from __future__ import annotations

import pytest


def test_short_soak_stays_bounded(tmp_path, benchmark_module):
    soak = benchmark_module("soak")
    embedder, reason = soak.load_embedder()
    if embedder is None:
        pytest.skip(reason)
    result = soak.run_soak(frames=1500, people=5, sample_every=100, warmup=300, embedder=embedder)
    print("\n" + result.table())
    assert result.embedded_frames >= 1400  # the network really ran (a few frames have no detection)
    first, second = result.live_max
    assert max(first, second) <= result.live_bound()
    from tracker.pipeline import video_config

    assert result.memory_max <= video_config().memory.max_entries
    assert result.identities > 20 and result.track_ids <= 3 * result.identities  # people came and went
    assert result.rss_growth_mb < 50  # generous for 1,500 frames: the 100k run measures the real bound
    path = soak.plot(result, tmp_path / "soak.png")
    assert path.stat().st_size > 10_000
