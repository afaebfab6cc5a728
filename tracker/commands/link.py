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

A video with shot cuts (an edited video; tracking ends every track at a cut) is split into its
shots: the shots are linked like separate sources, so one person may get one id in several
shots of one video.

Then the mean appearance embedding of every track is computed from its video, and tracks of
different sources or shots are joined from the most similar pair down when their cosine
similarity is at least --threshold (default chosen by leave-one-video-out folds, docs/link.md)
and the joined identity is never twice in one picture of one source. Tracks of different
sources may be one identity at the same time (overlapping cameras) or one after the other.

--same-time: the sources are synchronised cameras on one clock. A frame's time on it is its
time in the JSONL (seconds from the start of its video; a clip cut with --start keeps its
video's clock) plus its SOURCE's --clock-offset (default 0: every SOURCE starts at the same
instant). Then one identity cannot be in two places of one camera at once but can be in two
cameras: two tracks of one camera visible at one instant are kept apart even when they are in
two files of that camera (--camera gives the camera of each SOURCE; by default every SOURCE is
a camera of its own, and then --same-time changes nothing). Without --same-time the sources'
times are unrelated.

DIR gets:
  <stem>.txt, <stem>.jsonl    the results with GLOBAL ids (the JSONL keeps each local_id and shot)
  <stem>.summary.json         each source's run summary (its shot cuts)
  identities.json, report.html, crops/   as 'track report' (identities over every source; each
                              appearance lists its local tracks with their shots)
  link.json                   every local track (source, shot, camera, span, global id) and the
                              link decisions with their scores

examples:
  track link cam1.mp4 cam2.mp4 -o out/linked
  track link edited_film.mp4 -o out/linked           (the shots of one video)
  track link out/clip1 out/clip2 -o out/linked --threshold 0.85
  track link lobby_0900.mp4 lobby_0930.mp4 door.mp4 -o out/multi \
      --same-time --camera lobby lobby door --clock-offset 0 1800 0"""

LINK_SUMMARY_NAME = "link.json"
LINK_SCHEMA = "identitrack.link/2"


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
    parser.add_argument("--same-time", action="store_true",
                        help="the sources are synchronised cameras on one clock: one camera never shows one "
                             "identity twice at one instant (two cameras may)")
    parser.add_argument("--camera", nargs="+", default=None, metavar="NAME", dest="cameras",
                        help="the camera of each SOURCE, in order (- = a camera of its own, the default); "
                             "only --same-time reads it")
    parser.add_argument("--clock-offset", nargs="+", type=float, default=None, metavar="S", dest="clock_offsets",
                        help="seconds from the shared clock's 0 to each SOURCE's time 0, in order (default "
                             "0 each); only --same-time reads it")
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
    if args.cameras is not None and len(args.cameras) != len(args.sources):
        raise InputError(f"--camera names {len(args.cameras)} cameras for {len(args.sources)} sources "
                         "(one per source in order; - for a camera of its own)", "cameras")
    if args.clock_offsets is not None and len(args.clock_offsets) != len(args.sources):
        raise InputError(f"--clock-offset names {len(args.clock_offsets)} offsets for {len(args.sources)} "
                         "sources (one per source in order, seconds)", "clock_offsets")
    for text in args.sources:  # every SOURCE is there before anything is tracked
        if not Path(text).exists():
            raise InputError(f"SOURCE {text}: no such video or results folder", "sources")
    out = []
    for i, text in enumerate(args.sources):
        path = Path(text)
        det = None if args.detections is None or args.detections[i] == "-" else Path(args.detections[i])
        if path.is_dir():
            if not any(path.glob(f"*{JSONL_SUFFIX}")):
                raise InputError(f"SOURCE {path}: a folder without <stem>.jsonl results (the output folder of "
                                 "track)", "sources")
            out += _with_camera(args, i, load_results(path))
        elif path.is_file():
            if any(Path(t).is_file() and Path(t).stem == path.stem for t in args.sources[:i]):
                raise InputError(f"SOURCE {path}: a second video with the stem {path.stem!r} (its files in DIR "
                                 "would replace the first's)", "sources")
            if det is not None and not det.is_file():
                raise InputError(f"--detections {det}: no such file", "detections")
            _say(args, f"tracking {path} ({i + 1}/{len(args.sources)})")
            _track_video(args, path, det, args.output_dir)
            out += _with_camera(args, i, [s for s in load_results(args.output_dir) if s.name == path.stem])
        else:
            raise InputError(f"SOURCE {path}: no such video or results folder", "sources")
    return out


def _with_camera(args, i: int, sources):
    """The sources loaded for SOURCE number ``i``, with its --camera and --clock-offset."""
    camera = "" if args.cameras is None or args.cameras[i] == "-" else args.cameras[i]
    offset = 0.0 if args.clock_offsets is None else float(args.clock_offsets[i])
    for s in sources:
        s.camera, s.clock_offset = camera, offset
    return sources


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
    identities = link_embeddings(sources, embeddings, args.threshold, same_time=args.same_time)
    write_linked(identities, sources, args.output_dir)
    document = link_document(identities, sources, args.threshold, args.same_time)
    from tracker.io.mot import write_text_atomic

    write_text_atomic(args.output_dir / LINK_SUMMARY_NAME, json.dumps(document, indent=1) + "\n")
    if not args.no_report:
        from tracker.report import write_report

        _say(args, "writing the report")
        files = write_report(args.output_dir, global_ids=True, title="track link")
        for note in files.notes:
            _say(args, f"note: {note}")
        _attach_decisions(args.output_dir / files.identities.name, identities)
    shots = identities.shots()
    cut = {s.name for s in sources if s.cuts}

    def name(key) -> str:
        return f"{key[0]}#{key[1]}" + (f" (shot {shots[tuple(key)]})" if key[0] in cut else "")

    for d in identities.decisions:
        print(f"linked {name(d['a'])} ~ {name(d['b'])}  score {d['score']:.3f}  -> id {identities.ids[tuple(d['a'])]}")
    n_shots = sum(len(s.cuts) + 1 for s in sources)
    print(f"{len(identities.ids)} tracks in {len(sources)} sources ({n_shots} shots) -> {len(identities.groups())} "
          f"identities ({len(identities.decisions)} links at threshold {args.threshold:g}"
          f"{', same time' if args.same_time else ''}); files in {args.output_dir}/")
    return 0


def link_document(identities, sources, threshold: float, same_time: bool) -> dict:
    """``link.json``: the settings, every source (cuts, shots, camera, clock offset), every local
    track (source, local id, shot, camera, 1-based frames, seconds on the shared clock, global id) and every decision
    (the two tracks, their shots, the cosine similarity, the global id)."""
    shots = identities.shots()
    return {
        "schema": LINK_SCHEMA, "threshold": threshold, "same_time": bool(same_time),
        "sources": [{"name": s.name, "cuts": list(s.cuts), "shots": len(s.cuts) + 1,
                     "camera": s.camera or s.name, "clock_offset": s.clock_offset} for s in sources],
        "identities": len(identities.groups()), "tracks": len(identities.ids),
        "units": [{"source": u.source, "local_id": u.track_id, "shot": u.shot, "camera": u.camera_name,
                   "first_frame": u.first_frame, "last_frame": u.last_frame,
                   "start_s": None if u.start_s != u.start_s else round(u.start_s, 3),
                   "end_s": None if u.end_s != u.end_s else round(u.end_s, 3),
                   "global_id": identities.ids[u.key]} for u in identities.units],
        "decisions": [dict(d, shot_a=shots.get(tuple(d["a"])), shot_b=shots.get(tuple(d["b"])),
                           global_id=identities.ids[tuple(d["a"])]) for d in identities.decisions]}


def _attach_decisions(path: Path, identities) -> None:
    """identities.json: each identity's ``link`` field = its decisions (pairs and scores), and
    each appearance's ``local_tracks``: the local tracks it joins, with their shot and frames."""
    from tracker.io.mot import write_text_atomic

    doc = json.loads(path.read_text(encoding="utf-8"))
    by_id = {}
    for d in identities.decisions:
        by_id.setdefault(identities.ids[tuple(d["a"])], []).append(d)
    local = {}
    for u in identities.units:
        local.setdefault((identities.ids[u.key], u.source), []).append(
            {"local_id": u.track_id, "shot": u.shot, "first_frame": u.first_frame, "last_frame": u.last_frame})
    for item in doc.get("identities", []):
        decisions = by_id.get(item["id"])
        item["link"] = {"decisions": decisions} if decisions else None
        for appearance in item.get("appearances", []):
            appearance["local_tracks"] = local.get((item["id"], appearance["source"]), [])
    write_text_atomic(path, json.dumps(doc, indent=1) + "\n")
