"""Foundation quality gate on the real development data (issue: MOTA >= 45.0, IDF1 >= 52.5
combined over the 12 sequences, counts summed; motmetrics with our own IoU distances)."""
import subprocess
import sys


MOTA_FLOOR = 45.0
IDF1_FLOOR = 52.5


def test_track_mot_cli_and_quality_gate(tmp_path, shared_data, combined_mota_idf1):
    root = shared_data.require(shared_data.mot)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "tracker.cli", "mot", str(root), "--output-dir", str(out),
                           "--associator", "iou"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "| MOT17-04-FRCNN |" in proc.stdout
    files = sorted(p.name for p in out.glob("*.txt"))
    assert len(files) == 12
    result = combined_mota_idf1(root, out)
    print(f"\ncombined over 12 sequences: MOTA {result['MOTA']:.2f}  IDF1 {result['IDF1']:.2f}  IDsw {result['IDsw']}")
    for name, r in result["per_sequence"].items():
        print(f"  {name:16s} MOTA {r['MOTA']:6.2f}  IDF1 {r['IDF1']:6.2f}  IDsw {r['IDsw']}")
    assert result["MOTA"] >= MOTA_FLOOR
    assert result["IDF1"] >= IDF1_FLOOR


def test_track_mot_reports_bad_path_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tracker.cli", "mot", str(tmp_path / "missing"),
                           "--output-dir", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "not found" in proc.stderr and "Traceback" not in proc.stderr
