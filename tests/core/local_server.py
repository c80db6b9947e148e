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


class WebhookReceiver(LocalServer):
    """A hub's webhook endpoint for simulator tests: records every POST
    (answer, lower-cased headers, body) and can fail the first ones with 500."""

    def __init__(self, *, path: str, fail_first: int = 0, success_status: int = 200) -> None:
        self.path = path
        self.hits: list[tuple[int, dict[str, str], bytes]] = []
        self.fail_first = fail_first
        self.success_status = success_status
        self.changed = threading.Condition()
        super().__init__()

    @property
    def url(self) -> str:
        return self.base_url + self.path

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.changed:
                    failing = len(receiver.hits) < receiver.fail_first
                    status = 500 if failing else receiver.success_status
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.hits.append((status, headers, body))
                    receiver.changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def accepted(self) -> list[tuple[dict[str, str], bytes]]:
        with self.changed:
            return [(headers, body) for status, headers, body in self.hits if status < 300]

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.accepted()]

    def wait_for_count(self, count: int, timeout: float = 5.0
                       ) -> list[tuple[dict[str, str], bytes]]:
        """The accepted deliveries once there are at least `count` of them."""
        with self.changed:
            reached = self.changed.wait_for(
                lambda: sum(1 for status, _, _ in self.hits if status < 300) >= count, timeout)
        assert reached, f"{len(self.accepted())} of {count} webhooks arrived"
        return self.accepted()

    def wait_until(self, predicate, timeout: float = 5.0) -> list[dict]:
        """The accepted events once `predicate(events)` holds."""
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self.events()), timeout), \
                self.events()
        return self.events()
