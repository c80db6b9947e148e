"""A threaded HTTP server on 127.0.0.1, on a port the system picks, for test stubs.

A stub subclasses `LocalServer` and returns its request handler from
`_handler_class()`; the handler, a `JsonHandler`, answers with `_answer()`.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class JsonHandler(BaseHTTPRequestHandler):
    def _answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # The test reads what the stub recorded, not its access log.
        pass


class LocalServer:
    def __init__(self) -> None:
        # Port 0: tests running at once never compete for a port.
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        # A short poll interval, so that `stop()` does not wait half a second.
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
