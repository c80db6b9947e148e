"""A tiny platform on a local port, and an outbox handler that calls it.

`StubPlatform` creates things (POST /things {"key"}), finds them by key
(GET /things?key=...) and records every create; it can hang on the first
create so that a test can kill the worker mid-call. The handler
`test.stub.create` is registered on import, so a worker process started by
a test can run it: it reconciles (looks the key up) before creating again.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from apps.core.audit import LogContext
from apps.core.http import Platform, PlatformClient, RetryPolicy
from apps.core.operations import Done, operation_handler
from tests.core.local_server import JsonHandler, LocalServer

KIND = "test.stub.create"


class StubPlatform(LocalServer):
    def __init__(self, *, hang_first_create: bool = False) -> None:
        super().__init__()
        self.hang_first_create = hang_first_create
        self.creates: list[str] = []
        self.things: dict[str, int] = {}
        self.create_arrived = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __enter__(self) -> StubPlatform:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.release.set()
        self.stop()

    def _create(self, key: str) -> tuple[int, bool]:
        with self._lock:
            self.creates.append(key)
            first = len(self.creates) == 1
            thing_id = self.things.setdefault(key, len(self.things) + 1)
        self.create_arrived.set()
        return thing_id, first

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                thing_id, first = stub._create(body["key"])
                if first and stub.hang_first_create:
                    # Never answered: the worker is killed while it waits.
                    stub.release.wait(30)
                    return
                self._answer(201, {"id": thing_id, "key": body["key"]})

            def do_GET(self) -> None:
                key = parse_qs(urlparse(self.path).query).get("key", [""])[0]
                with stub._lock:
                    items = [{"id": stub.things[key], "key": key}] if key in stub.things else []
                self._answer(200, {"items": items})

        return Handler


@operation_handler(KIND)
def create_thing(operation, *, reconcile: bool) -> Done:
    client = PlatformClient(Platform(name="stub", base_url=operation.payload["base_url"],
                                     retry=RetryPolicy(max_attempts=1)))
    key = operation.idempotency_key
    if reconcile:
        found = client.get("/things", params={"key": key}, log=LogContext(
            action="thing.reconcile", entity_type="thing", entity_id=key,
            operation_id=operation.pk)).json()["items"]
        if found:
            return Done({"id": found[0]["id"], "reconciled": True})
    created = client.post("/things", json={"key": key}, idempotent=False, log=LogContext(
        action="thing.create", entity_type="thing", entity_id=key,
        operation_id=operation.pk)).json()
    return Done({"id": created["id"], "reconciled": False})
