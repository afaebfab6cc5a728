"""Fixtures for the command-line tests: HTTP servers that misbehave like real cameras and web
servers (drop the connection, stall, refuse), and damaged videos."""
from __future__ import annotations

import contextlib
import http.server
import socket
import threading
import time
from pathlib import Path
from typing import List

import cv2
import numpy as np
import pytest


# ------------------------------------------------------------------------------------ servers
class _Server:
    """A threading HTTP server on 127.0.0.1 in a daemon thread; ``url(path)``; ``close()``."""

    def __init__(self, handler):
        self.connections: List[float] = []  # monotonic time of each request
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def _hang_up(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _serve_file_dropping(path: Path, drop_fraction: float = 0.5, down_s: float = 0.5) -> _Server:
    data = Path(path).read_bytes()
    state = {"dropped_at": None}

    class Handler(_Quiet):
        def do_GET(self):
            self.server.owner.connections.append(time.monotonic())
            dropped = state["dropped_at"]
            if dropped is not None and time.monotonic() - dropped < down_s:
                self._hang_up()
                return
            rng = self.headers.get("Range") or ""
            start = int(rng[6:].split("-")[0] or 0) if rng.startswith("bytes=") else 0
            body = data[start:]
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Type", "video/x-msvideo")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if dropped is None:
                self.wfile.write(body[:max(0, int(len(data) * drop_fraction) - start)])
                self.wfile.flush()
                state["dropped_at"] = time.monotonic()
                self._hang_up()
                return
            self.wfile.write(body)

    return _Server(Handler)


@pytest.fixture(scope="session")
def serve_file_dropping():
    """``serve_file_dropping(path, drop_fraction=0.5, down_s=0.5)``: serve one file (Range
    requests supported). The first response stops after ``drop_fraction`` of the file and closes
    the connection, and the server is then down for ``down_s`` seconds (every request hung up),
    as a web server that restarts: FFmpeg's own immediate retry fails, and the source's
    reconnection after its backoff is what brings the rest."""
    return _serve_file_dropping


@pytest.fixture(scope="session")
def serve_mjpeg_camera(synth):
    """``serve_mjpeg_camera(frames_per_connection, connections=1, stall_s=0.0)``: an IP camera:
    ``multipart/x-mixed-replace`` JPEG frames (no length: a live stream). Each of the first
    ``connections`` connections gets ``frames_per_connection`` frames (the frame counter
    continues across connections), then the camera hangs up -- or, with ``stall_s``, keeps the
    connection open and silent that long. Later connections are refused (closed at once)."""

    def serve(frames_per_connection: int, connections: int = 1, stall_s: float = 0.0) -> _Server:
        state = {"served": 0, "sent": 0}

        class Handler(_Quiet):
            def do_GET(self):
                self.server.owner.connections.append(time.monotonic())
                if state["served"] >= connections:
                    self._hang_up()
                    return
                state["served"] += 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                try:
                    for _ in range(frames_per_connection):
                        ok, jpg = cv2.imencode(".jpg", synth.synthetic_frame(state["sent"]))
                        data = jpg.tobytes()
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                         % len(data) + data + b"\r\n")
                        self.wfile.flush()
                        state["sent"] += 1
                    if stall_s:
                        time.sleep(stall_s)
                except OSError:
                    return
                self._hang_up()

        return _Server(Handler)

    return serve


# ------------------------------------------------------------------------------------ videos
@pytest.fixture(scope="session")
def damaged_videos(synth):
    """``damaged_videos(folder, frames=30)``: MJPG/AVI videos damaged in ways that happen to real
    files. Returns name -> path: ``cut_half`` (truncated download), ``zeroed_middle`` (a run of
    zero bytes mid-file), ``noise_middle`` (random bytes over the middle third), ``header_only``
    (nothing decodable)."""

    def make(folder: Path, frames: int = 30) -> dict:
        good = synth.write_synthetic_video(folder / "good.avi", frames=frames)
        data = bytearray(good.read_bytes())
        n = len(data)
        out = {}
        out["cut_half"] = data[: n // 2]
        zeroed = bytearray(data)
        zeroed[n // 3:n // 3 + 2000] = b"\0" * 2000
        out["zeroed_middle"] = zeroed
        noisy = bytearray(data)
        noisy[n // 3:2 * n // 3] = np.random.default_rng(0).integers(0, 256, 2 * n // 3 - n // 3,
                                                                      dtype=np.uint8).tobytes()
        out["noise_middle"] = noisy
        out["header_only"] = data[:600]
        paths = {}
        for name, content in out.items():
            paths[name] = folder / f"{name}.avi"
            paths[name].write_bytes(bytes(content))
        return paths

    return make
