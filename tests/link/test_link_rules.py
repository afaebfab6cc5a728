"""The linking rules by hand (shots of one video linked like sources; ``same_time``: one
camera shows an identity once at one instant, two cameras may show it at once) and the fast
path (``link_vectors``: blockwise candidate pairs, interval sets) against a straightforward
implementation written from the rules, on random cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tracker.errors import InputError
from tracker.link import Unit, link_greedy, link_vectors
from tracker.link.greedy import candidate_pairs


def _scores(n: int, pairs: dict) -> np.ndarray:
    s = np.full((n, n), -1.0)
    for (i, j), v in pairs.items():
        s[i, j] = s[j, i] = v
    return s


def test_shots_of_one_video_are_linked_like_sources_but_a_shot_never_with_itself():
    # one video "V", cut at frame 51: tracks 1, 2 in shot 0 (co-existing), 3, 4 in shot 1
    units = [Unit("V", 1, 1, 50, 0), Unit("V", 2, 10, 40, 0), Unit("V", 3, 51, 90, 1), Unit("V", 4, 60, 99, 1)]
    s = _scores(4, {(0, 1): 0.99, (0, 2): 0.95, (1, 2): 0.9, (1, 3): 0.85, (2, 3): 0.97})
    ids = link_greedy(units, s, 0.8)
    # 3-4 (0.97, one shot: never scored) and 1-2 (0.99, one shot) are skipped; 1-3 (0.95) joins
    # across the cut; 2-3 (0.9) would put 1 and 2 (co-existing) together: refused; 2-4 (0.85) joins
    assert ids.groups() == {1: [("V", 1), ("V", 3)], 2: [("V", 2), ("V", 4)]}
    assert ids.shots() == {("V", 1): 0, ("V", 2): 0, ("V", 3): 1, ("V", 4): 1}
    # the same units as one shot (no cut found): nothing links within one source
    flat = [Unit(u.source, u.track_id, u.first_frame, u.last_frame) for u in units]
    assert len(link_greedy(flat, s, 0.8).groups()) == 4


def _cameras_case():
    """Two files of camera "lobby" (a: 0-60 s, b: 30-90 s on the shared clock) and camera "door"."""
    units = [Unit("a", 1, 1, 250, 0, "lobby", 0.0, 10.0),     # lobby, 0-10 s
             Unit("b", 1, 1, 250, 0, "lobby", 5.0, 15.0),     # lobby, 5-15 s: overlaps a#1 in time
             Unit("b", 2, 400, 500, 0, "lobby", 20.0, 24.0),  # lobby, later
             Unit("d", 1, 1, 250, 0, "door", 2.0, 12.0)]      # door, at the same time as a#1 and b#1
    s = _scores(4, {(0, 1): 0.99, (0, 3): 0.97, (1, 3): 0.96, (0, 2): 0.95})
    return units, s


def test_same_time_one_camera_cannot_show_one_identity_twice_at_one_instant():
    units, s = _cameras_case()
    # sources unrelated in time: a#1 ~ b#1 (0.99), then d#1 (0.97) joins, b#1 ~ d#1 is inside
    # it, and b#2 (frames 400-500, after b#1's 1-250 in its source) joins too (0.95)
    free = link_greedy(units, s, 0.9)
    assert free.groups() == {1: [("a", 1), ("b", 1), ("b", 2), ("d", 1)]}
    # one clock: a#1 and b#1 are both in the lobby camera between 5 and 10 s: two people.
    # a#1 ~ d#1 (0.97; two cameras at once is allowed), b#1 ~ d#1 (0.96) refused (b#1 would be
    # in the lobby with a#1 at once), a#1 ~ b#2 (0.95: lobby at 20-24 s, after a#1) joins
    synced = link_greedy(units, s, 0.9, same_time=True)
    assert synced.groups() == {1: [("a", 1), ("b", 2), ("d", 1)], 2: [("b", 1)]}
    # without camera names every source is a camera of its own: same_time changes nothing here
    own = [Unit(u.source, u.track_id, u.first_frame, u.last_frame, 0, "", u.start_s, u.end_s) for u in units]
    assert link_greedy(own, s, 0.9, same_time=True).groups() == free.groups()


def test_same_time_needs_times():
    with pytest.raises(InputError, match="same_time"):
        link_greedy([Unit("a", 1, 1, 5), Unit("b", 1, 1, 5)], np.eye(2), 0.5, same_time=True)
    with pytest.raises(InputError, match="units"):
        link_greedy([Unit("a", 1, 9, 5)], np.eye(1), 0.5)


def _reference(units, scores, threshold, same_time):
    """Straight from the rules: every pair of different (source, shot) at or above the threshold
    from the highest score down (ties: row-major); a join is refused when any member of one
    identity co-exists with any member of the other."""
    n = len(units)
    pairs = [(scores[i, j], i, j) for i in range(n) for j in range(i + 1, n)
             if (units[i].source, units[i].shot) != (units[j].source, units[j].shot) and scores[i, j] >= threshold]
    pairs.sort(key=lambda p: -p[0])  # stable: row-major among ties
    where = list(range(n))
    for _, i, j in pairs:
        gi, gj = where[i], where[j]
        if gi == gj:
            continue
        a = [k for k in range(n) if where[k] == gi]
        b = [k for k in range(n) if where[k] == gj]
        if any(units[x].coexists(units[y], same_time) for x in a for y in b):
            continue
        where = [gi if w == gj else w for w in where]
    groups = {}
    for k in range(n):
        groups.setdefault(where[k], []).append(units[k].key)
    return sorted(sorted(g) for g in groups.values())


def _random_case(rng, n_sources=4, per_source=12, identities=8, dim=6):
    centres = rng.normal(size=(identities, dim))
    units, vectors = [], []
    for s in range(n_sources):
        cuts = sorted(rng.choice(np.arange(20, 180), size=rng.integers(0, 3), replace=False).tolist())
        for k in range(per_source):
            first = int(rng.integers(1, 190))
            last = first + int(rng.integers(0, 40))
            shot = sum(c <= first for c in cuts)
            if shot < len(cuts):
                last = min(last, cuts[shot] - 1)  # a track ends at the next cut
            camera = f"cam{s % 2}" if rng.random() < 0.7 else ""
            offset = float(rng.uniform(0, 3))
            units.append(Unit(f"s{s}", k + 1, first, last, shot, camera, first / 10 + offset, last / 10 + offset))
            v = centres[rng.integers(identities)] + rng.normal(size=dim) * 0.5
            vectors.append(v / np.linalg.norm(v))
    vectors = np.array(vectors)
    vectors[rng.integers(len(units))] = np.nan  # a unit without an embedding stays alone
    return units, vectors


@pytest.mark.parametrize("seed", range(12))
def test_fast_path_gives_the_groups_of_the_straightforward_one(seed):
    rng = np.random.default_rng(seed)
    units, vectors = _random_case(rng)
    scores = np.where(np.isnan(vectors).any(1)[:, None] | np.isnan(vectors).any(1)[None, :], -np.inf,
                      np.nan_to_num(vectors) @ np.nan_to_num(vectors).T)
    for threshold in (0.3, 0.7):
        for same_time in (False, True):
            expected = _reference(units, scores, threshold, same_time)
            fast = link_vectors(units, vectors, threshold, same_time)
            assert sorted(sorted(g) for g in fast.groups().values()) == expected
            dense = link_greedy(units, scores, threshold, same_time)
            assert dense.groups() == fast.groups()
            assert len(fast.groups()) < len(units)  # the case links something
            # every decision was a pair at or above the threshold of different (source, shot)
            shot = {u.key: u.shot for u in units}
            for d in fast.decisions:
                assert d["score"] >= threshold - 1e-9
                assert (d["a"][0], shot[tuple(d["a"])]) != (d["b"][0], shot[tuple(d["b"])])


def test_candidate_pairs_do_not_depend_on_the_block_size():
    rng = np.random.default_rng(5)
    units, vectors = _random_case(rng, n_sources=3, per_source=20)
    full = candidate_pairs(units, vectors, 0.2, block_rows=10_000)
    for block in (1, 7, 16):
        part = candidate_pairs(units, vectors, 0.2, block_rows=block)
        assert np.array_equal(full[0], part[0]) and np.array_equal(full[1], part[1])
        assert np.allclose(full[2], part[2], rtol=0, atol=1e-12)
    rows, cols, sims = full
    assert len(rows) and (rows < cols).all()
    assert all((units[i].source, units[i].shot) != (units[j].source, units[j].shot) for i, j in zip(rows, cols))
    assert math.isclose(float(sims[0]), float(vectors[rows[0]] @ vectors[cols[0]]), abs_tol=1e-12)


def _results(root, names, fps=10.0, frames=10):
    """Result folders holding one source each (one track, id 1, frames 1..frames at ``fps``)."""
    import json

    from tracker.report import load_results

    out = {}
    for name in names:
        folder = root / name
        folder.mkdir()
        lines = [json.dumps({"frame": f + 1, "index": f, "time": round(f / fps, 6), "shot": 0,
                             "tracks": [{"id": 1, "box": [10, 10, 50, 110]}]}) for f in range(frames)]
        (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
        (folder / f"{name}.summary.json").write_text(json.dumps({"source": {"kind": "video", "fps": fps}}))
        (out[name],) = load_results(folder)
    return out


def test_api_cameras_and_clock_offsets_decide_same_time(tmp_path):
    from tracker.link.api import as_sources, link_embeddings

    by_name = _results(tmp_path, ["a", "b"])
    sources = as_sources(by_name)
    emb = {("a", 1): np.array([1.0, 0.0]), ("b", 1): np.array([1.0, 0.0])}
    lobby = {"a": "lobby", "b": "lobby"}

    def groups(**kw):
        return len(link_embeddings(sources, emb, 0.5, **kw).groups())

    assert groups() == 1  # unrelated clocks: one identity
    assert groups(same_time=True) == 1  # two cameras (one per source) at once: allowed
    assert groups(same_time=True, cameras=lobby) == 2  # one camera, 0-0.9 s in both files: two people
    assert groups(same_time=True, cameras=lobby, clock_offsets={"b": 0.95}) == 1  # b follows a
    assert groups(same_time=True, cameras=lobby, clock_offsets={"b": 0.9}) == 2  # b's first frame is a's last
    ids = link_embeddings(sources, emb, 0.5, same_time=True, cameras=lobby, clock_offsets={"b": 60.0})
    (u_a, u_b) = ids.units
    assert (u_a.camera_name, u_a.start_s, u_a.end_s) == ("lobby", 0.0, 0.9)
    assert (u_b.start_s, u_b.end_s) == (60.0, 60.9)
    with pytest.raises(InputError, match="cameras: no source is named 'c'"):
        link_embeddings(sources, emb, 0.5, cameras={"c": "x"})
    with pytest.raises(InputError, match="clock_offsets"):
        link_embeddings(sources, emb, 0.5, clock_offsets={"a": float("nan")})
    # a mapping names the sources: result folders are loaded and renamed to the keys
    named = as_sources({"left": tmp_path / "a", "right": by_name["b"]})
    assert [s.name for s in named] == ["left", "right"]
    with pytest.raises(InputError, match="results_by_source"):
        as_sources(["not a source"])
