"""benchmarks/takeover_sources.py: its recorder watches the tracker without changing what it
reports, keeps one snapshot per frame, and buckets the unseen frames as documented."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEQ = "TUD-Campus"



def test_unseen_buckets(benchmark_module):
    mod = benchmark_module("takeover_sources")
    assert [mod.unseen_bucket(n) for n in (1, 2, 3, 5, 6)] == [
        "lost, 1 frame unseen", "lost, 2 frames unseen", "lost, 3-5 frames unseen", "lost, 3-5 frames unseen",
        "lost, > 5 frames unseen"]


def test_recorder_does_not_change_the_results(shared_data, tmp_path, benchmark_module):
    """The recorded run's MOT rows equal an unrecorded run's of the same tracker on a real
    sequence; every frame has a snapshot of the live IDs."""
    from tracker.benchmarking.adapters import make_adapter
    from tracker.benchmarking.runner import FrameOrigin, run_sequence
    from tracker.config import TrackerConfig
    from tracker.io.mot import load_detections, read_seqinfo, write_mot_results

    seq_dir = shared_data.require(shared_data.mot / SEQ)
    mod = benchmark_module("takeover_sources")
    rec = mod.run_sequence_recorded(seq_dir, {}, tmp_path / "recorded.txt")
    info = read_seqinfo(seq_dir)
    dets = load_detections(seq_dir / "det" / "det.txt", seq_length=info.seq_length)
    adapter = make_adapter("ours-heldout", info.frame_rate, config=TrackerConfig(),
                           image_size=(info.width, info.height), sequence=info.name)
    plain = run_sequence(adapter, dets, info, FrameOrigin(None, None, "no frames"))
    write_mot_results(tmp_path / "plain.txt", plain.rows)
    assert (tmp_path / "recorded.txt").read_text() == (tmp_path / "plain.txt").read_text()
    assert sorted(rec.frames) == list(range(1, info.seq_length + 1))
    reported = {int(r[1]) for r in plain.rows}
    assert reported <= {tid for snap in rec.frames.values() for tid in snap}
