"""The shipped models: where each kind lives, how a weights file is written and read back.

Five kinds ship inside the package (``tracker/models/<folder>/``, package data, no network):
the embedded detector (a third-party ONNX file with its licence and provenance), the appearance
embedder, the Transformer associator, and the offline stage's pair scorer and appearance
aggregator (trained here). ``MODEL_KINDS`` names them; each
``ModelKind`` knows its shipped files, the format tag our weights files carry, and its metadata
record (a ``.json`` beside the weights).

Writing is one rule for every kind (``write_weights``): the file is written to a temporary name
beside it and renamed (a reader never sees half a file), never over a device node, and its
metadata ``.json`` is written next to it. Reading errors are one line (``not_weights``) that
never repeat a loader's advice to load unsafely.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional

import numpy as np

from tracker.errors import InputError
from tracker.special_paths import check_replaceable

#: where the shipped models live (package data)
MODELS_DIR = Path(__file__).resolve().parent / "models"
#: the suffix of the metadata record beside a weights file
METADATA_SUFFIX = ".json"


@dataclass(frozen=True)
class ModelKind:
    """One kind of shipped model.

    name: what messages call it; folder: its folder under ``MODELS_DIR``; shipped: shipped
    name -> file; weights_format: the ``format`` tag our weights files of this kind carry (None
    for a third-party file); metadata_file: a fixed metadata file in the folder (None: the
    ``.json`` beside each weights file).
    """

    name: str
    folder: str
    shipped: Mapping[str, str] = field(default_factory=dict)
    weights_format: Optional[str] = None
    metadata_file: Optional[str] = None

    @property
    def directory(self) -> Path:
        return MODELS_DIR / self.folder

    def shipped_path(self, name: str = "default") -> Path:
        """The shipped file ``name`` (``InputError`` listing the shipped ones otherwise)."""
        if name not in self.shipped:
            raise InputError(f"unknown shipped {self.name} {name!r}; choose one of {sorted(self.shipped)}", "name")
        return self.directory / self.shipped[name]

    def metadata_path(self, path: Optional[Path] = None) -> Path:
        """The metadata record of ``path`` (default: the shipped default model)."""
        if self.metadata_file is not None:
            return self.directory / self.metadata_file
        return Path(path if path is not None else self.shipped_path()).with_suffix(METADATA_SUFFIX)

    def metadata(self, path: Optional[Path] = None) -> dict:
        """The metadata record (training data, date, metrics; licence and provenance for a
        third-party model); ``InputError`` when it is missing or unreadable."""
        record = self.metadata_path(path)
        try:
            return json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{record}: the {self.name}'s metadata cannot be read ({exc})") from None

    def check_format(self, path: Path, found: object) -> None:
        """``InputError`` unless ``found`` is this kind's ``weights_format``."""
        if found != self.weights_format:
            raise InputError(f"{path}: not an identitrack weights file ({self.name} format is not "
                             f"{self.weights_format!r})")

    def not_weights(self, path: Path, error: BaseException) -> InputError:
        """The one-line error for a file the loader cannot read as this kind's weights: the
        loader's own message is not repeated (torch's and NumPy's suggest unsafe loading)."""
        return InputError(f"{path}: not an identitrack weights file (cannot be read as {self.name} weights: "
                          f"{type(error).__name__})")

    def missing(self, path: Path) -> InputError:
        return InputError(f"{path}: {self.name} weights not found")

    def existing(self, path: Optional[Path] = None) -> Path:
        """``path`` (default: the shipped model) when it is a file; ``InputError`` otherwise."""
        path = Path(path) if path is not None else self.shipped_path()
        if not path.is_file():
            raise self.missing(path)
        return path

    def read_npz(self, path: Path) -> Dict[str, np.ndarray]:
        """The arrays of one of our ``.npz`` weights files of this kind (read without pickle),
        its ``format`` entry checked and removed; one-line ``InputError``s otherwise."""
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise self.not_weights(Path(path), exc) from None
        self.check_format(Path(path), str(arrays.pop("format", "")))
        return arrays


DETECTOR = ModelKind("detector", "detector", {"default": "ssdlite_mobilenet_v2_pedestrian.onnx"},
                     metadata_file="metadata.json")
#: "default": 2400 steps on the 4 development videos; "holdout": the same without vtest frames
#: 478-795; "unlabeled": 2400 steps on the unlabeled clips plus the development videos (issue 18,
#: not the default: docs/embedder.md, benchmarks/embedder_shipped.py)
EMBEDDER = ModelKind("embedder", "embedder", {"default": "embedder.pt", "holdout": "embedder_holdout478.pt",
                                              "unlabeled": "embedder_unlabeled.pt"},
                     "identitrack-embedder/1")
#: "default": trained on the development gt; "selfsupervised": trained on the unlabeled clips
#: without identity labels (docs/ablation.md, benchmarks/associator_ssl.py)
ASSOCIATOR = ModelKind("associator", "associator", {"default": "associator.npz",
                                                    "selfsupervised": "selfsupervised.npz"},
                       "identitrack-associator/1")
OFFLINE_SCORER = ModelKind("offline pair scorer", "offline", {"default": "pair_scorer.npz"},
                           "identitrack-offline-scorer/1")
OFFLINE_AGGREGATOR = ModelKind("offline aggregator", "offline", {"default": "aggregator.npz"},
                               "identitrack-offline-aggregator/1")
MODEL_KINDS: Dict[str, ModelKind] = {kind.name: kind for kind in (DETECTOR, EMBEDDER, ASSOCIATOR, OFFLINE_SCORER,
                                                                   OFFLINE_AGGREGATOR)}


def write_weights(path, write: Callable[[Path], None], metadata: dict, temporary_suffix: str = ".tmp") -> Path:
    """Write a weights file with ``write(temporary path)``, rename it to ``path``, then write
    ``metadata`` as the ``.json`` beside it. Never over a device node; the folder is created."""
    path = Path(path)
    check_replaceable(path)
    check_replaceable(path.with_suffix(METADATA_SUFFIX))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + temporary_suffix)
    write(temporary)
    temporary.replace(path)
    path.with_suffix(METADATA_SUFFIX).write_text(json.dumps(metadata, indent=2) + "\n")
    return path
