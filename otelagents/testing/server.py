"""A real OpenAI-compatible HTTP server for tests and benchmarks.

It speaks the Responses API (``POST /v1/responses``, reference §11.1) and Chat Completions
(``POST /v1/chat/completions``, §11.2) over real SSE, from a script of ``Reply`` turns or a callable,
records every request, and can misbehave on cue (HTTP errors, dropped connections, garbage, failed or
incomplete responses, missing terminal events, stalls).

In a test::

    with OpenAICompatServer([Reply.text("Hello"), Reply.tool_calls([("get_weather", {"city": "Paris"})])]) as srv:
        client = AsyncOpenAI(base_url=srv.base_url, api_key="test")
        ...
        assert srv.requests[0].body["model"] == "gpt-test"

As a separate process (for benchmarks)::

    python -m otelagents.testing.server --port 0 --print-port --deltas 20000
"""

from __future__ import annotations

import itertools
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from typing_extensions import Self

from ._openai_wire import (
    FAULTS,
    Fault,
    Frame,
    Rendered,
    Reply,
    ToolCallSpec,
    chat_frames,
    garbage_frame,
    responses_frames,
)

__all__ = ["FAULTS", "Fault", "OpenAICompatServer", "RecordedRequest", "Reply", "ToolCallSpec"]

_BATCH_BYTES = 64 * 1024


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # the parsed JSON body (or the raw text when it is not JSON)
    time: float
    # ``perf_counter()`` when the body had been read, and when each delta of a timed reply (``ttft`` or
    # ``gap`` set) was written: the server's side of a latency, on the clock of an in-process client.
    received: float = 0.0
    delta_times: list[float] = field(default_factory=list, compare=False, repr=False)

    @property
    def api(self) -> str:
        return "chat_completions" if self.path.endswith("/chat/completions") else "responses"


Responder = Callable[[RecordedRequest], Reply]


class OpenAICompatServer:
    """An HTTP server on 127.0.0.1 (port 0 by default) running in a background thread."""

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        responder: Responder | None = None,
        port: int = 0,
        default_model: str = "gpt-test",
    ) -> None:
        self._replies: deque[Reply] = deque(replies)
        self._responder = responder
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._disconnects = 0
        self._connections = 0
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self.default_model = default_model
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="openai-compat-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving; stalled streams are released. Bounded by ``timeout`` seconds."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --- scripting and inspection -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def add(self, *replies: Reply) -> None:
        """Queue more turns (served in order, one per request, across both APIs)."""
        with self._lock:
            self._replies.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._replies)

    def _record_and_pick(self, request: RecordedRequest) -> Reply | None:
        with self._lock:
            self._requests.append(request)
            if self._replies:
                return self._replies.popleft()
        return self._responder(request) if self._responder is not None else None

    @property
    def disconnects(self) -> int:
        """How many streams the client closed before the server had sent them in full."""
        with self._lock:
            return self._disconnects

    @property
    def connections(self) -> int:
        """How many TCP connections clients opened (keep-alive reuses one for several requests)."""
        with self._lock:
            return self._connections

    def _connected(self) -> None:
        with self._lock:
            self._connections += 1

    def _disconnected(self) -> None:
        with self._lock:
            self._disconnects += 1

    def _next_id(self) -> int:
        return next(self._ids)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 resets a burst of concurrent connects (load tests, benchmarks).
    request_queue_size = 4096

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away (a cancelled run, a dropped stream) is routine here, not worth a traceback.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)
    owner: OpenAICompatServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    _delta_times: list[float]

    def setup(self) -> None:
        super().setup()
        # Without TCP_NODELAY the first body write waits on a delayed ACK (~40 ms per request).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.owner._connected()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests assert on recorded requests instead

    def do_POST(self) -> None:
        owner = self.server.owner
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        path = self.path.split("?", 1)[0]
        request = RecordedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                  time.time(), time.perf_counter())
        self._delta_times = request.delta_times
        if not path.endswith(("/responses", "/chat/completions")):
            self._json_error(404, f"OpenAICompatServer serves /v1/responses and /v1/chat/completions, not {path}")
            return
        reply = owner._record_and_pick(request)
        if reply is None:
            self._json_error(400, f"OpenAICompatServer: no scripted reply left for POST {path}; "
                                  "queue more with server.add(Reply...) or pass responder=")
            return
        if reply.http_status is not None:
            self._json_error(reply.http_status, reply.error_message or f"Scripted HTTP {reply.http_status}",
                             retry_after=reply.retry_after)
            return
        if reply.raw_frames is not None:
            self._stream(reply, Rendered([Frame(f, True) for f in reply.raw_frames], mid=0), Frame(b""))
            return
        model = reply.model or (body.get("model") if isinstance(body, dict) else None) or owner.default_model
        number, created = owner._next_id(), int(time.time())
        streaming = not isinstance(body, dict) or body.get("stream") is True  # absent: not streaming, as OpenAI
        if path.endswith("/chat/completions"):
            options = body.get("stream_options") if isinstance(body, dict) else None
            include_usage = bool(isinstance(options, dict) and options.get("include_usage")) or not streaming
            rendered = chat_frames(reply, model, f"chatcmpl-{number:06d}", created, include_usage)
            garbage = garbage_frame(None)
        else:
            rendered = responses_frames(reply, model, f"resp_{number:06d}", created)
            garbage = garbage_frame("response.output_text.delta")
        if not streaming:
            self._whole(reply, path, rendered)  # a non-streaming call (the Agents SDK's Runner.run)
            return
        self._stream(reply, rendered, garbage)

    def _html_page(self) -> None:
        page = b"<!doctype html><html><head><title>Sign in</title></head><body>Please sign in.</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def _whole(self, reply: Reply, path: str, rendered: Rendered) -> None:
        """A non-streaming request: the answer as one JSON body, after ``reply.ttft`` (500 for a failure)."""
        from ._nonstream import chat_body, responses_body

        body = chat_body(rendered) if path.endswith("/chat/completions") else responses_body(rendered)
        if body is None:
            self._json_error(500, reply.error_message or "Scripted failure (non-streaming call)")
            return
        if reply.ttft > 0:
            self.server.owner._stopping.wait(reply.ttft)
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _json_error(self, status: int, message: str, retry_after: float | None = None) -> None:
        kind = {400: "invalid_request_error", 401: "invalid_api_key", 404: "not_found", 429: "rate_limit_exceeded"}
        payload = json.dumps({"error": {"message": message, "type": kind.get(status, "server_error"),
                                        "param": None, "code": kind.get(status, "server_error")}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if retry_after is not None:
            self.send_header("Retry-After", f"{retry_after:g}")
        self.end_headers()
        self.wfile.write(payload)

    # --- streaming ----------------------------------------------------------------------------------------
    def _stream(self, reply: Reply, rendered: Rendered, garbage: Frame) -> None:
        stopping = self.server.owner._stopping
        frames, fault = rendered.frames, reply.fault_kind
        if fault == "html_page":
            self._html_page()
            return
        cut: int | None = None
        if fault in ("drop_mid_stream", "stall"):
            cut = rendered.mid
        elif fault == "garbage":
            frames = [*frames[: rendered.mid], garbage, *frames[rendered.mid:]]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            self._write_frames(frames if cut is None else frames[:cut], reply, stopping)
            if fault == "drop_mid_stream":
                self._drop()
                return
            if fault == "stall":
                stopping.wait(reply.stall_seconds)
                self._drop()
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nothing more to say
            self.server.owner._disconnected()

    def _write_frames(self, frames: list[Frame], reply: Reply, stopping: threading.Event) -> None:
        timed = reply.ttft > 0 or reply.gap > 0
        batch: list[bytes] = []
        size = 0
        first_delta = True
        for frame in frames:
            if timed and frame.delta:
                if batch:
                    self._chunk(b"".join(batch))
                    batch, size = [], 0
                delay = reply.ttft if first_delta else reply.gap
                first_delta = False
                if delay > 0 and stopping.wait(delay):
                    return
                self._delta_times.append(time.perf_counter())  # before the write: a client cannot read it earlier
                self._chunk(frame.data)
                continue
            batch.append(frame.data)
            size += len(frame.data)
            if size >= _BATCH_BYTES:
                self._chunk(b"".join(batch))
                batch, size = [], 0
        if batch:
            self._chunk(b"".join(batch))

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the connection abruptly, leaving the chunked body unfinished."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main(argv: list[str] | None = None) -> int:
    """``python -m otelagents.testing.server``: see ``--help``."""
    from ._server_cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
