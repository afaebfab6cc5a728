"""Where the shared development data lives (``../shared/data`` from the repo root)."""
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
MOT_ROOT = SHARED_DATA / "mot"
VIDEO_ROOT = SHARED_DATA / "video"


def require(path: Path) -> Path:
    """Skip the calling test with a clear message when shared data is missing."""
    if not path.exists():
        pytest.skip(f"development data not found at {path} (see ../shared/data/README.md)")
    return path
