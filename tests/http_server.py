"""A local HTTP server for the download tests: serves fixture files on 127.0.0.1, never the internet."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class FileServer(ThreadingHTTPServer):
    """Serves `files` (path -> bytes) at http://127.0.0.1:PORT/path and records each request as (path, Range).

    mode: 'normal' (honours Range), 'no-range' (always 200 with everything), 'cut' (announces the full
    length but never sends past the first half of the file).
    """

    def __init__(self, files: dict[str, bytes], mode: str = "normal"):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files, self.mode, self.requests = files, mode, []
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def ranges(self) -> list[str | None]:
        """The Range header of each request, in order (None: the whole file was asked for)."""
        return [header for _, header in self.requests]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        path, header = self.path.removeprefix("/"), self.headers.get("Range")
        server.requests.append((path, header))
        body = server.files.get(path)
        if body is None:
            self.send_error(404)
            return
        start = int(header.removeprefix("bytes=").rstrip("-")) if header and server.mode != "no-range" else 0
        if start >= len(body):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(body)}")
            self.end_headers()
            return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        stop = max(start, len(body) // 2) if server.mode == "cut" else len(body)
        self.wfile.write(body[start:stop])
        self.close_connection = True


@pytest.fixture
def serve():
    """`serve(files, mode='normal')` starts a FileServer on a free port; all are shut down after the test."""
    servers = []

    def start(files: dict[str, bytes], mode: str = "normal") -> FileServer:
        servers.append(FileServer(files, mode))
        return servers[-1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
