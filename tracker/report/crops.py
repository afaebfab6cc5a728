"""Crops of every identity, cut out of the source video (or, when it is gone, the annotated
one) in one decoding pass per source, saved as JPEG under ``<folder>/crops/<source>/``."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from tracker.report.identities import Identity
from tracker.report.results import ResultSource

#: crops kept per identity and source, spread evenly over its observed frames
CROPS_PER_APPEARANCE = 6
#: crop height in the report (pixels; the width keeps the box's aspect)
CROP_HEIGHT = 128
#: the box is enlarged by this fraction of its size on every side before cutting
CROP_PADDING = 0.08
JPEG_QUALITY = 85
CROPS_DIR = "crops"


def _picks(source: ResultSource, track_ids: Sequence[int]) -> List[Tuple[int, np.ndarray]]:
    """(frame index, box xyxy) of up to ``CROPS_PER_APPEARANCE`` observed boxes, evenly spread."""
    rows = [(int(i), b) for k in track_ids for i, b, o in zip(source.tracks[k].index, source.tracks[k].box,
                                                              source.tracks[k].observed) if o]
    rows.sort(key=lambda r: r[0])
    if not rows:
        return []
    positions = np.unique(np.linspace(0, len(rows) - 1, min(CROPS_PER_APPEARANCE, len(rows))).round().astype(int))
    return [rows[p] for p in positions]


def _cut(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    x1, y1, x2, y2 = [float(v) for v in box]
    pad_x, pad_y = CROP_PADDING * (x2 - x1), CROP_PADDING * (y2 - y1)
    x1, y1 = int(max(0, np.floor(x1 - pad_x))), int(max(0, np.floor(y1 - pad_y)))
    x2, y2 = int(min(w, np.ceil(x2 + pad_x))), int(min(h, np.ceil(y2 + pad_y)))
    if x2 <= x1 or y2 <= y1:
        return np.zeros((CROP_HEIGHT, CROP_HEIGHT // 2, 3), np.uint8)
    crop = image[y1:y2, x1:x2]
    scale = CROP_HEIGHT / crop.shape[0]
    return cv2.resize(crop, (max(1, int(round(crop.shape[1] * scale))), CROP_HEIGHT), interpolation=cv2.INTER_AREA)


def extract_crops(folder: Path, sources: Sequence[ResultSource], identities: Sequence[Identity]) -> List[str]:
    """Fill every identity's ``crops`` (paths relative to ``folder``, time order per source) and
    return notes about sources whose video could not be read (their identities get no crops)."""
    from tracker.io.sources import open_source

    by_name = {s.name: s for s in sources}
    wanted: Dict[str, Dict[int, List[Tuple[Identity, np.ndarray, str]]]] = {}
    for ident in identities:
        for app in ident.appearances:
            for index, box in _picks(by_name[app.source], app.track_ids):
                rel = f"{CROPS_DIR}/{app.source}/{ident.id}_{index + 1:06d}.jpg"
                wanted.setdefault(app.source, {}).setdefault(index, []).append((ident, box, rel))
    notes = []
    for name, requests in wanted.items():
        source = by_name[name]
        video, annotated = source.source_video, False
        if video is None:
            video, annotated = source.annotated_video, True
        if video is None:
            notes.append(f"{name}: neither the source video nor the annotated one is there; no crops")
            continue
        # the annotated video holds the processed frames only, one after another
        if annotated:
            position = {int(i): p for p, i in enumerate(source.indices)}
            requests = {position[k]: v for k, v in requests.items() if k in position}
        out_dir = folder / CROPS_DIR / name
        out_dir.mkdir(parents=True, exist_ok=True)
        last = max(requests) if requests else -1
        try:
            with open_source(str(video)) as frames:
                for n, frame in enumerate(frames):
                    key = n if annotated else frame.index
                    for ident, box, rel in requests.get(key, ()):
                        cv2.imwrite(str(folder / rel), _cut(frame.image, box), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                        ident.crops.append(rel)
                    if key >= last:
                        break
        except Exception as exc:  # noqa: BLE001 - a report is still written without the crops
            notes.append(f"{name}: could not read {video} for crops ({exc})")
    return notes
