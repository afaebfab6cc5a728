"""``track link SOURCE... -o DIR``: one identity per person over several videos / result folders."""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from tracker.errors import InputError

DESCRIPTION = """Give each person one id over several sources (cameras, clips, shots of one story).

SOURCE is a video (tracked first, as 'track SOURCE -o DIR' would: DIR/<stem>.*) or the result
folder of an earlier track run (<stem>.jsonl + <stem>.summary.json: reused, not re-tracked; its
source video must still be there, for the appearance embeddings). Sources with the same stem
(clips of one video tracked into several folders) are named <folder>-<stem> in DIR.

Then the mean appearance embedding of every track is computed from its video, tracks of
different sources are joined from the most similar pair down when their cosine similarity is
at least --threshold (default chosen by leave-one-video-out folds, docs/link.md) and they never
are in one picture at once in one source, and DIR gets:
  <stem>.txt, <stem>.jsonl    the results with GLOBAL ids (the JSONL keeps each local_id)
  <stem>.summary.json         each source's run summary
  identities.json, report.html, crops/   as 'track report' (identities over every source)
  link.json                   the link decisions and their scores

examples:
  track link cam1.mp4 cam2.mp4 -o out/linked
  track link out/clip1 out/clip2 -o out/linked --threshold 0.85"""

LINK_SUMMARY_NAME = "link.json"


def configure(parser: argparse.ArgumentParser) -> None:
    from tracker.link.api import DEFAULT_THRESHOLD

    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="videos or result folders of track")
    parser.add_argument("-o", "--output-dir", type=Path, required=True, metavar="DIR", help="where the files go")
    parser.add_argument("--detections", nargs="+", default=None, metavar="DET",
                        help="MOTChallenge detection files, one per SOURCE in order (only videos read them; "
                             "write - for a result folder)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="S",
                        help=f"least cosine similarity of two tracks' mean embeddings to link them "
                             f"(default {DEFAULT_THRESHOLD:g}, docs/link.md)")
    parser.add_argument("--appearance", choices=("auto", "on", "off"), default="auto",
                        help="tracking of videos: use the appearance embedder (default auto)")
    parser.add_argument("--no-video", action="store_true", help="tracking of videos: no annotated video")
    parser.add_argument("--no-report", action="store_true", help="do not write report.html / crops/")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def _say(args, text: str) -> None:
    if not args.quiet:
        print(f"track link: {text}", file=sys.stderr)


def _track_video(args, video: Path, detections, out: Path) -> None:
    from tracker import exit_codes
    from tracker.commands import video as video_command

    parser = argparse.ArgumentParser(prog="track")
    video_command.configure(parser)
    argv = [str(video), "-o", str(out), "--appearance", args.appearance]
    if detections is not None:
        argv += ["--detections", str(detections)]
    if args.no_video:
        argv.append("--no-video")
    if args.quiet:
        argv.append("--quiet")
    with contextlib.redirect_stdout(sys.stderr):  # its summary is progress here: stdout has the links
        code = video_command.run(parser.parse_args(argv))
    if code not in (exit_codes.OK,):
        raise InputError(f"SOURCE {video}: tracking it ended with exit code {code}", "sources")


def _sources(args):
    """-> the ResultSources of every SOURCE in order (videos tracked into DIR first)."""
    from tracker.report.results import JSONL_SUFFIX, load_results

    if args.detections is not None and len(args.detections) != len(args.sources):
        raise InputError(f"--detections names {len(args.detections)} files for {len(args.sources)} sources "
                         "(one per source in order; - for a result folder)", "detections")
    out = []
    for i, text in enumerate(args.sources):
        path = Path(text)
        det = None if args.detections is None or args.detections[i] == "-" else Path(args.detections[i])
        if path.is_dir():
            if not any(path.glob(f"*{JSONL_SUFFIX}")):
                raise InputError(f"SOURCE {path}: a folder without <stem>.jsonl results (the output folder of "
                                 "track)", "sources")
            out += load_results(path)
        elif path.is_file():
            if any(Path(t).is_file() and Path(t).stem == path.stem for t in args.sources[:i]):
                raise InputError(f"SOURCE {path}: a second video with the stem {path.stem!r} (its files in DIR "
                                 "would replace the first's)", "sources")
            if det is not None and not det.is_file():
                raise InputError(f"--detections {det}: no such file", "detections")
            _say(args, f"tracking {path} ({i + 1}/{len(args.sources)})")
            _track_video(args, path, det, args.output_dir)
            out += [s for s in load_results(args.output_dir) if s.name == path.stem]
        else:
            raise InputError(f"SOURCE {path}: no such video or results folder", "sources")
    return out


def _distinct_names(sources):
    """Sources with one stem (clips of one video tracked into several folders) are named
    <folder>-<stem> instead, so that their files in DIR differ."""
    from collections import Counter

    counts = Counter(s.name for s in sources)
    for s in sources:
        if counts[s.name] > 1:
            s.name = f"{s.jsonl.parent.name}-{s.name}"
    return sources


def run(args) -> int:
    from tracker.link.api import check_names, embed_sources, link_embeddings, write_linked

    if not (-1.0 <= args.threshold <= 1.0):
        raise InputError(f"--threshold must be a cosine similarity in [-1, 1], got {args.threshold}", "threshold")
    sources = _distinct_names(_sources(args))
    check_names(sources)
    missing = [s.name for s in sources if s.source_video is None]
    if missing:
        raise InputError(f"SOURCE {', '.join(missing)}: the source video is not there any more (needed for the "
                         "appearance embeddings)", "sources")
    embeddings = embed_sources(sources, progress=lambda name: _say(args, f"embedding the tracks of {name}"))
    identities = link_embeddings(sources, embeddings, args.threshold)
    write_linked(identities, sources, args.output_dir)
    document = {"schema": "identitrack.link/1", "threshold": args.threshold,
                "sources": [s.name for s in sources],
                "identities": len(identities.groups()), "tracks": len(identities.ids),
                "decisions": [dict(d, global_id=identities.ids[tuple(d["a"])]) for d in identities.decisions]}
    from tracker.io.mot import write_text_atomic

    write_text_atomic(args.output_dir / LINK_SUMMARY_NAME, json.dumps(document, indent=1) + "\n")
    if not args.no_report:
        from tracker.report import write_report

        _say(args, "writing the report")
        files = write_report(args.output_dir, global_ids=True, title="track link")
        for note in files.notes:
            _say(args, f"note: {note}")
        _attach_decisions(args.output_dir / files.identities.name, identities)
    for d in identities.decisions:
        print(f"linked {d['a'][0]}#{d['a'][1]} ~ {d['b'][0]}#{d['b'][1]}  score {d['score']:.3f}  "
              f"-> id {identities.ids[tuple(d['a'])]}")
    print(f"{len(identities.ids)} tracks in {len(sources)} sources -> {len(identities.groups())} identities "
          f"({len(identities.decisions)} links at threshold {args.threshold:g}); files in {args.output_dir}/")
    return 0


def _attach_decisions(path: Path, identities) -> None:
    """identities.json: each identity's ``link`` field = its decisions (pairs and scores)."""
    from tracker.io.mot import write_text_atomic

    doc = json.loads(path.read_text(encoding="utf-8"))
    by_id = {}
    for d in identities.decisions:
        by_id.setdefault(identities.ids[tuple(d["a"])], []).append(d)
    for item in doc.get("identities", []):
        decisions = by_id.get(item["id"])
        item["link"] = {"decisions": decisions} if decisions else None
    write_text_atomic(path, json.dumps(doc, indent=1) + "\n")
