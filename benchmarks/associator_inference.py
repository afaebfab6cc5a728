"""Why the Transformer associator runs twice (numpy at inference, torch in training): time per
association problem of the shipped network, numpy forward vs torch ``inference_mode``.

Builds one association problem of 41 tracks x 34 detections (the size the issue names: a busy
MOT17 frame) from synthetic walking tracks, runs the shipped weights' numpy forward (what
``Tracker.update`` calls, one BLAS thread) and the torch ``AssociatorNet`` loaded with the
same weights (``torch.inference_mode``, with 1 and with 2 torch threads, counting the
conversion of the token arrays into tensors), checks that they agree, and prints the median
milliseconds per problem. With ``--docs PATH`` it writes the table and the verdict there.

Usage (from the repository root)::

    python benchmarks/associator_inference.py
    python benchmarks/associator_inference.py --repeats 300 --docs docs/associator_inference.md
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import deque
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.association.base import Stage  # noqa: E402
from tracker.association.tokens import build_tokens  # noqa: E402
from tracker.association.transformer import AssociatorNetwork, _OneBlasThread, load_weights  # noqa: E402
from tracker.association.transformer import shipped_weights_path  # noqa: E402
from tracker.boxes import xyxy_to_cxcywh  # noqa: E402
from tracker.motion import MotionConfig, initiate  # noqa: E402

TRACKS, DETECTIONS = 41, 34
FRAME_DT = 1 / 30
IMAGE_SIZE = (1920, 1080)


def problem(tracks: int, detections: int, seed: int = 0):
    """Tokens of ``tracks`` walking people x ``detections`` boxes near some of them."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(tracks):
        x, y, vx = rng.uniform(0, 1800), rng.uniform(0, 900), rng.uniform(-80, 80)
        rows = [(k * FRAME_DT, x + vx * k * FRAME_DT, y, x + vx * k * FRAME_DT + 50, y + 120, 0.9)
                for k in range(12)]
        mean, cov = initiate(xyxy_to_cxcywh(np.array(rows[-1][1:5]))[0], MotionConfig())
        mean[4] = vx
        out.append(SimpleNamespace(history=deque(rows, maxlen=16), mean=mean, cov=cov, last_seen=rows[-1][0],
                                   score=0.9, class_id=0, embedding=None))
    picks = rng.choice(tracks, size=detections, replace=detections > tracks)
    det = np.array([[t.mean[0] - 25 + rng.normal(0, 3), t.mean[1] - 60, t.mean[0] + 25, t.mean[1] + 60]
                    for t in (out[i] for i in picks)])
    return build_tokens(out, det, rng.uniform(0.3, 1.0, detections), Stage.FIRST, 12 * FRAME_DT, IMAGE_SIZE)


def median_ms(fns, repeats: int) -> list:
    """Median milliseconds of each of ``fns``, run alternately (so load on a shared machine
    affects all of them alike)."""
    for fn in fns:
        fn()  # warm-up
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, spent in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - t0)
    return [1000 * statistics.median(t) for t in times]


def import_seconds(module: str, repeats: int = 3) -> float:
    """Median wall seconds of ``python -c "import MODULE"`` in a fresh process."""
    import subprocess

    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200, help="timed runs per variant (default 200)")
    parser.add_argument("--docs", type=Path, help="write the table and verdict to this markdown page")
    args = parser.parse_args(argv)

    import torch

    from tracker.training.associator_model import AssociatorNet, AssociatorNetConfig

    params, net_config, _ = load_weights(shipped_weights_path("default"))
    numpy_net = AssociatorNetwork(params, net_config)
    torch_net = AssociatorNet(AssociatorNetConfig(**net_config)).eval()
    torch_net.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    tok = problem(TRACKS, DETECTIONS)
    n_t, n_d = tok.num_tracks, tok.num_detections

    def run_numpy():
        with _OneBlasThread():
            return numpy_net(tok)

    def run_torch():
        with torch.inference_mode():
            inputs = [torch.from_numpy(a)[None] for a in (tok.history, tok.history_mask, tok.track_globals,
                                                           tok.det_tokens, tok.pairs)]
            inputs += [torch.ones(1, n_t, dtype=torch.bool), torch.ones(1, n_d, dtype=torch.bool)]
            return [x[0].numpy() for x in torch_net(*inputs)]

    for got, want in zip(run_numpy(), run_torch()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    threads_before = torch.get_num_threads()
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        numpy_ms, torch_ms = median_ms([run_numpy, run_torch], args.repeats)
        rows.append((f"numpy (what Tracker.update runs), 1 BLAS thread; torch at {threads} thread(s)", numpy_ms))
        rows.append((f"torch inference_mode, {threads} thread(s)", torch_ms))
    torch.set_num_threads(threads_before)
    numpy_ms = statistics.median(ms for name, ms in rows if name.startswith("numpy"))
    torch_best = min(ms for name, ms in rows if name.startswith("torch"))
    torch_worst = max(ms for name, ms in rows if name.startswith("torch"))
    numpy_import, torch_import = import_seconds("numpy"), import_seconds("torch")
    rows.append(("fresh process: import numpy (s)", numpy_import))
    rows.append(("fresh process: import torch (s)", torch_import))
    ratio = torch_best / numpy_ms
    verdict = (f"per problem, the fastest torch forward takes {ratio:.2f}x the numpy one, and torch at 2 threads "
               f"{torch_worst / numpy_ms:.1f}x (threads fight over 2 cores); importing torch costs "
               f"{torch_import - numpy_import:.1f} s per process. "
               + ("Numpy inference is kept: it is not slower, it keeps `track mot` and the core free of the "
                  "torch import and of torch's process-wide thread setting, and it keeps results "
                  "byte-identical; torch stays for training only, and "
                  "`test_associator.py::test_numpy_inference_matches_the_torch_network` checks they agree"
                  if ratio >= 0.9 else "Torch is clearly faster per problem: move inference to torch"))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    lines = [f"Association problem: {n_t} tracks x {n_d} detections, shipped weights; median of {args.repeats} "
             f"runs; {os.cpu_count()} CPU(s) ({cpu}), torch {torch.__version__}, numpy {np.__version__}.", "",
             "| forward | ms per problem |", "|---|---:|"]
    lines += [f"| {name} | {ms:.3f} |" for name, ms in rows]
    lines[2] = "| forward | ms per problem (imports: s) |"
    lines += ["", f"Verdict: {verdict}. Outputs agree within 1e-4."]
    if os.getloadavg()[0] > 1.0:
        lines += ["", f"(load average {os.getloadavg()[0]:.1f} during the run: the machine was shared.)"]
    text = "\n".join(lines)
    print(text)
    if args.docs:
        page = ["# The associator's two implementations: numpy inference, torch training", "",
                "Generated by `python benchmarks/associator_inference.py --docs docs/associator_inference.md`; "
                "do not edit by hand.", "", text, ""]
        args.docs.write_text("\n".join(page))
        print(f"\nwrote {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
