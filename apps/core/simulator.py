"""A small framework for local stand-ins of the external platforms.

A simulator is a plain object that turns a `SimRequest` into a
`SimResponse`. It keeps its own in-memory state and knows nothing about
Django models, so it behaves like a remote system the hub cannot see into.
`serve()` puts one on a real HTTP port (a thread of the stdlib
`ThreadingHTTPServer`), which is what both `manage.py run_simulators` and
the end-to-end tests use.

Every simulator gets the same fault knobs, settable at construction or at
run time through `POST /_sim/faults`:
  latency_seconds   added before each answer
  error_rate        share of requests answered with `error_status` (503)
  rate_limit_every  every Nth request answered 429 with Retry-After
  hang_seconds      share `hang_rate` of requests sleeps this long first
  malformed_rate    share of 2xx answers whose body is cut in half

What most simulators need on top (an OAuth token endpoint, a clock tests
can move, signed webhooks sent to the hub) is in `apps.core.simulator_kit`.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

CONTROL_PREFIX = "/_sim/"


@dataclass
class SimRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    path_params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError on a bad body."""
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {key: values[-1] for key, values in parsed.items()}


@dataclass
class SimResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> SimResponse:
        merged = {"Content-Type": content_type, **(headers or {})}
        return cls(status, json.dumps(payload).encode("utf-8"), merged)

    @classmethod
    def empty(cls, status: int, headers: dict[str, str] | None = None) -> SimResponse:
        return cls(status, b"", dict(headers or {}))


@dataclass
class FaultKnobs:
    latency_seconds: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    rate_limit_every: int = 0
    retry_after_seconds: int = 1
    hang_seconds: float = 0.0
    hang_rate: float = 0.0
    malformed_rate: float = 0.0

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise ValueError(f"unknown fault knob: {key}")
            setattr(self, key, type(getattr(self, key))(value))


Handler = Callable[[Any, SimRequest], SimResponse]


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Mark a simulator method as the handler of `METHOD /path/{param}`."""
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

    def decorate(func: Handler) -> Handler:
        func._sim_routes = [*getattr(func, "_sim_routes", []), (method.upper(), regex)]
        return func

    return decorate


class ControlError(Exception):
    """A control request the simulator refuses: answered `status` {"error": message}."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# What a control handler raises on a body it cannot read: a 400, not a crash.
BAD_CONTROL_BODY = (ValueError, TypeError, KeyError, AttributeError)


def control_route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """A /_sim/ route (`pattern` below /_sim): run under the simulator's lock,
    never faulted; a `ControlError` is its status, an exception the simulator's
    `control_error` maps is that answer, and a body it cannot read is a 400,
    each as {"error": ...}."""

    def decorate(func: Handler) -> Handler:
        @functools.wraps(func)
        def wrapper(self: Simulator, request: SimRequest) -> SimResponse:
            try:
                with self.lock:
                    self.control_prepare(request)
                    return func(self, request)
            except ControlError as exc:
                return SimResponse.json(exc.status, {"error": exc.message})
            except Exception as exc:
                answer = self.control_error(exc)
                if answer is not None:
                    return answer
                if isinstance(exc, BAD_CONTROL_BODY):
                    return SimResponse.json(400, {"error": str(exc)})
                raise

        return route(method, CONTROL_PREFIX.rstrip("/") + pattern)(wrapper)

    return decorate


class Simulator:
    """Base class: routing, fault injection and the /_sim/ control endpoints."""

    name = "simulator"

    def __init__(
        self,
        *,
        faults: FaultKnobs | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.faults = faults or FaultKnobs()
        self.random = random.Random(seed)
        self.clock = clock
        self.lock = threading.RLock()
        self.request_count = 0
        self.requests: list[tuple[float, str, str]] = []  # (time, method, path)
        self.base_url = ""  # set by serve()
        self._routes = [
            (method, regex, getattr(self, attr))
            for attr in dir(type(self))
            for method, regex in getattr(getattr(type(self), attr), "_sim_routes", [])
        ]

    # -- hooks for subclasses ---------------------------------------------
    def reset(self) -> None:
        """Forget all state (the /_sim/reset endpoint)."""

    def state(self) -> dict[str, Any]:
        """What /_sim/state shows; subclasses add their own."""
        return {"requests": self.request_count, "faults": asdict(self.faults)}

    def control_prepare(self, request: SimRequest) -> None:
        """Called under the lock before each control handler (expire options…)."""

    def control_error(self, exc: Exception) -> SimResponse | None:
        """The answer to a platform error a control handler raised, or None."""
        return None

    def not_found(self, request: SimRequest) -> SimResponse:
        return SimResponse.json(404, {"error": "not_found", "path": request.path})

    def method_not_allowed(self, request: SimRequest) -> SimResponse:
        return SimResponse.json(405, {"error": "method_not_allowed"})

    def bad_json(self, request: SimRequest) -> SimResponse:
        return SimResponse.json(400, {"error": "invalid_json"})

    def rate_limited(self, request: SimRequest, retry_after: int) -> SimResponse:
        return SimResponse.json(
            429, {"error": "rate_limited"}, headers={"Retry-After": str(retry_after)}
        )

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        return SimResponse.json(status, {"error": "unavailable"})

    # -- dispatch ----------------------------------------------------------
    def handle(self, request: SimRequest) -> SimResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return self._control(request)
        with self.lock:
            self.request_count += 1
            count = self.request_count
            self.requests.append((self.clock(), request.method, request.path))
        injected = self._inject_fault(request, count)
        if injected is not None:
            return injected
        response = self._dispatch(request)
        if 200 <= response.status < 300 and response.body and self._roll(
            self.faults.malformed_rate
        ):
            response = SimResponse(response.status, response.body[: len(response.body) // 2],
                                   response.headers)
        return response

    def _dispatch(self, request: SimRequest) -> SimResponse:
        path_matched = False
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if not match:
                continue
            path_matched = True
            if method == request.method:
                request.path_params = match.groupdict()
                try:
                    return handler(request)
                except json.JSONDecodeError:
                    return self.bad_json(request)
        return self.method_not_allowed(request) if path_matched else self.not_found(request)

    def _roll(self, rate: float) -> bool:
        return rate > 0 and self.random.random() < rate

    def _inject_fault(self, request: SimRequest, count: int) -> SimResponse | None:
        faults = self.faults
        if faults.latency_seconds:
            time.sleep(faults.latency_seconds)
        if faults.hang_seconds and (faults.hang_rate >= 1 or self._roll(faults.hang_rate)):
            time.sleep(faults.hang_seconds)
        if faults.rate_limit_every and count % faults.rate_limit_every == 0:
            return self.rate_limited(request, faults.retry_after_seconds)
        if self._roll(faults.error_rate):
            return self.server_error(request, faults.error_status)
        return None

    def _control(self, request: SimRequest) -> SimResponse:
        action = request.path[len(CONTROL_PREFIX):].strip("/")
        if action == "faults" and request.method == "POST":
            try:
                self.faults.update(request.json() or {})
            except (ValueError, TypeError) as exc:
                return SimResponse.json(400, {"error": str(exc)})
            return SimResponse.json(200, asdict(self.faults))
        if action == "faults":
            return SimResponse.json(200, asdict(self.faults))
        if action == "reset" and request.method == "POST":
            with self.lock:
                self.faults = FaultKnobs()
                self.request_count = 0
                self.requests.clear()
                self.reset()
            return SimResponse.json(200, {"reset": True})
        if action == "state":
            with self.lock:
                return SimResponse.json(200, self.state())
        # The simulator's own controls (`control_route`), else 404 or 405.
        return self._dispatch(request)


class _RequestHandler(BaseHTTPRequestHandler):
    simulator: Simulator  # set on the per-server subclass
    protocol_version = "HTTP/1.1"
    # Without this each response waits for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = SimRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = self.simulator.handle(request)
        except Exception:
            logger.exception("Simulator %s crashed on %s %s", self.simulator.name,
                             request.method, request.path)
            response = SimResponse.json(500, {"error": "simulator_crashed"})
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s: %s", self.simulator.name, format % args)


class RunningSimulator:
    def __init__(self, simulator: Simulator, server: ThreadingHTTPServer) -> None:
        self.simulator = simulator
        self.server = server
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}"
        # A short poll interval makes stop() near-instant (tests start many servers).
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name=f"sim-{simulator.name}", daemon=True)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> RunningSimulator:
    """Serve `simulator` on host:port (0: any free port) in a daemon thread."""
    handler = type("BoundHandler", (_RequestHandler,), {"simulator": simulator})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    running = RunningSimulator(simulator, server)
    simulator.base_url = running.url
    running.thread.start()
    return running
