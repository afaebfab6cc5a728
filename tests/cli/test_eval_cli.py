"""``track eval`` end to end: folder form, comparison, single-file form, JSON, plot, errors."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tracker import exit_codes
from tracker.cli import main
from tracker.evaluation import evaluate_folder

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "mot"
PNG_MAGIC = b"\x89PNG"
SEQINFO = ("[Sequence]\nname={name}\nimDir=img1\nframeRate={fps}\nseqLength={length}\nimWidth=640\nimHeight=480\n"
           "imExt=.jpg\n")
LENGTH = 20
FPS = 10


def _person(i: int, frame: int):
    return 40.0 * i + frame, 50.0, 30.0, 80.0


def _write_seq(root: Path, name: str, mot17: bool) -> list:
    """Two people walking for LENGTH frames; MOT17 files get class/visibility columns."""
    seq = root / name
    (seq / "gt").mkdir(parents=True)
    (seq / "seqinfo.ini").write_text(SEQINFO.format(name=name, fps=FPS, length=LENGTH))
    rows = []
    for f in range(1, LENGTH + 1):
        for i in (1, 2):
            x, y, w, h = _person(i, f)
            tail = "1,1,1.0" if mot17 else "1,-1,-1,-1"
            rows.append(f"{f},{i},{x},{y},{w},{h},{tail}")
    (seq / "gt" / "gt.txt").write_text("\n".join(rows) + "\n")
    return rows


def _write_result(path: Path, switch_at=None):
    """A perfect result, or one whose person 1 changes id from frame ``switch_at`` on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for f in range(1, LENGTH + 1):
        for i in (1, 2):
            tid = 7 if (i == 1 and switch_at is not None and f >= switch_at) else i
            x, y, w, h = _person(i, f)
            lines.append(f"{f},{tid},{x:.2f},{y:.2f},{w:.2f},{h:.2f},0.9,-1,-1,-1")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture()
def gt_root(tmp_path):
    root = tmp_path / "gt"
    _write_seq(root, "SEQA", mot17=False)
    _write_seq(root, "MOT17-99-TOY", mot17=True)
    return root


def _table_rows(out: str) -> dict:
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 2 and not set(cells[1]) <= set("-:"):
            rows[cells[0].strip("*")] = cells[1:]
    return rows


def test_folder_form_prints_table_and_writes_json_and_plot(gt_root, tmp_path, capsys):
    res = tmp_path / "mine"
    _write_result(res / "SEQA.txt")
    _write_result(res / "MOT17-99-TOY.txt", switch_at=10)
    out_json, out_png = tmp_path / "o" / "r.json", tmp_path / "o" / "r.png"
    code = main(["eval", "--gt-root", str(gt_root), "--results", str(res), "--json", str(out_json),
                 "--plot", str(out_png)])
    captured = capsys.readouterr()
    assert code == exit_codes.OK, captured.err
    rows = _table_rows(captured.out)
    assert set(rows) >= {"Sequence", "SEQA", "MOT17-99-TOY", "COMBINED"}
    header = rows["Sequence"]
    assert rows["SEQA"][header.index("HOTA")] == "100.00"
    assert rows["MOT17-99-TOY"][header.index("IDsw")] == "1"
    # combined MOTA = (80 - 0 - 1) / 80
    assert rows["COMBINED"][header.index("MOTA")] == f"{100 * 79 / 80:.2f}"
    data = json.loads(out_json.read_text())
    rep = data["trackers"]["mine"]
    assert data["settings"]["benchmarks"] == {"MOT17-99-TOY": "MOT17", "SEQA": "MOT15"}
    assert data["settings"]["reentry_seconds"] == 1.0
    assert rep["per_sequence"]["MOT17-99-TOY"]["summary"]["IDSW"] == 1
    assert len(rep["per_sequence"]["SEQA"]["hota_per_alpha"]["HOTA"]) == 19
    assert rep["combined"]["summary"]["CLR_TP"] == 80
    assert rep["combined"]["summary"]["ReentryRecall"] is None  # no gaps: null, not NaN
    assert out_png.read_bytes()[:4] == PNG_MAGIC


def test_missing_sequence_counts_as_empty_with_warning(gt_root, tmp_path, capsys):
    res = tmp_path / "partial"
    _write_result(res / "SEQA.txt")
    code = main(["eval", "--gt-root", str(gt_root), "--results", str(res)])
    captured = capsys.readouterr()
    assert code == exit_codes.OK
    assert "MOT17-99-TOY: no result file" in captured.err
    rows = _table_rows(captured.out)
    header = rows["Sequence"]
    assert rows["MOT17-99-TOY"][header.index("HOTA")] == "0.00"
    assert rows["MOT17-99-TOY"][header.index("FN")] == str(2 * LENGTH)
    assert rows["COMBINED"][header.index("MOTA")] == "50.00"


def test_comparison_of_several_result_folders(gt_root, tmp_path, capsys):
    a, b = tmp_path / "runs" / "alpha", tmp_path / "runs" / "beta"
    for seq in ("SEQA", "MOT17-99-TOY"):
        _write_result(a / f"{seq}.txt")
        _write_result(b / "data" / f"{seq}.txt", switch_at=5)  # TrackEval layout works too
    png = tmp_path / "cmp.png"
    code = main(["eval", "--gt-root", str(gt_root), "--results", str(a), str(b), "--plot", str(png)])
    out = capsys.readouterr().out
    assert code == exit_codes.OK
    assert "HOTA alpha" in out and "HOTA beta" in out and "Per sequence" in out
    assert png.read_bytes()[:4] == PNG_MAGIC
    # --results-root: one folder per tracker, named after the folders
    code = main(["eval", "--gt-root", str(gt_root), "--results-root", str(tmp_path / "runs"), "--seqs", "SEQA"])
    out = capsys.readouterr().out
    assert code == exit_codes.OK
    rows = _table_rows(out)
    assert {"alpha", "beta", "SEQA", "COMBINED"} <= set(rows)
    assert "MOT17-99-TOY" not in rows


def test_single_file_form(gt_root, tmp_path, capsys):
    res = tmp_path / "one.txt"
    _write_result(res, switch_at=10)
    gt_file = shutil.copy(gt_root / "SEQA" / "gt" / "gt.txt", tmp_path / "loose_gt.txt")  # no seqinfo beside it
    code = main(["eval", "--gt", str(gt_file), "--results", str(res), "--fps", "10", "--seq-length", "20",
                 "--json", str(tmp_path / "one.json")])
    captured = capsys.readouterr()
    assert code == exit_codes.OK, captured.err
    rows = _table_rows(captured.out)
    assert "loose_gt" in rows and "COMBINED" in rows
    data = json.loads((tmp_path / "one.json").read_text())
    assert data["settings"]["fps"] == 10 and data["settings"]["seq_length"] == 20
    assert data["trackers"]["one"]["per_sequence"]["loose_gt"]["summary"]["IDSW"] == 1
    # without --fps and seqinfo.ini: a warning, and a default frame rate
    code = main(["eval", "--gt", str(gt_file), "--results", str(res)])
    assert code == exit_codes.OK
    assert "no frame rate" in capsys.readouterr().err


def test_malformed_result_line_is_an_error_with_file_and_line(gt_root, tmp_path, capsys):
    res = tmp_path / "bad"
    _write_result(res / "SEQA.txt")
    lines = (res / "SEQA.txt").read_text().splitlines()
    lines[2] = "3,1,12.0,abc,30,80,1,-1,-1,-1"
    (res / "SEQA.txt").write_text("\n".join(lines) + "\n")
    code = main(["eval", "--gt-root", str(gt_root), "--results", str(res)])
    err = capsys.readouterr().err
    assert code == exit_codes.BAD_INPUT
    assert f"{res / 'SEQA.txt'}:3:" in err


@pytest.mark.parametrize("extra, message", [
    (["--seqs", "NOPE"], "no sequence named NOPE"),
    (["--fps", "25"], "single-file form"),
    (["--reentry-seconds", "0"], "--reentry-seconds"),
])
def test_bad_arguments_exit_2(gt_root, tmp_path, capsys, extra, message):
    res = tmp_path / "r"
    _write_result(res / "SEQA.txt")
    code = main(["eval", "--gt-root", str(gt_root), "--results", str(res)] + extra)
    assert code == exit_codes.BAD_INPUT
    assert message in capsys.readouterr().err


def test_refuses_to_overwrite_an_input(gt_root, tmp_path, capsys):
    res = tmp_path / "one.txt"
    _write_result(res)
    code = main(["eval", "--gt", str(gt_root / "SEQA" / "gt" / "gt.txt"), "--results", str(res), "--json", str(res)])
    assert code == exit_codes.BAD_INPUT
    assert "refusing to overwrite" in capsys.readouterr().err


def test_api_evaluate_folder_matches_cli_numbers(gt_root, tmp_path):
    res = tmp_path / "mine"
    _write_result(res / "SEQA.txt", switch_at=10)
    report = evaluate_folder(gt_root, res, seqs=["SEQA"])
    assert list(report.per_sequence) == ["SEQA"]
    s = report.combined.summary()
    assert (s["IDSW"], s["CLR_TP"], s["CLR_FN"], s["CLR_FP"]) == (1, 40, 0, 0)
    assert s["MOTA"] == pytest.approx(39 / 40)
    # IDF1: person 1 is split 9/11 frames between ids 1 and 7: IDTP = 20 + 11, IDFN = IDFP = 9
    assert s["IDF1"] == pytest.approx(31 / (31 + 9))


@pytest.mark.skipif(not DATA.is_dir(), reason=f"MOT development data not found at {DATA}")
def test_real_sequence_gt_as_results(tmp_path, capsys):
    """On real data: gt copied as results scores 100 % where every gt row is scored (TUD-Campus)."""
    res = tmp_path / "gtcopy"
    res.mkdir()
    shutil.copy(DATA / "TUD-Campus" / "gt" / "gt.txt", res / "TUD-Campus.txt")
    code = main(["eval", "--gt-root", str(DATA), "--results", str(res), "--seqs", "TUD-Campus"])
    out = capsys.readouterr().out
    assert code == exit_codes.OK
    rows = _table_rows(out)
    header = rows["Sequence"]
    for metric in ("HOTA", "MOTA", "IDF1"):
        assert rows["TUD-Campus"][header.index(metric)] == "100.00"
