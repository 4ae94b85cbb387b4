"""An in-process OTLP receiver for traces and metrics, for tests, benchmarks and the demo.

It serves OTLP/gRPC and OTLP/HTTP (``http/protobuf``: ``POST /v1/traces`` and ``/v1/metrics``, gzip or
deflate bodies accepted) on 127.0.0.1 ports chosen by the OS, decodes what arrives into small dataclasses,
and keeps every request body for byte-level checks::

    with OTLPReceiver() as receiver:
        exporter = OTLPSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True)
        ...                                   # shut the provider down before the receiver stops
        spans = receiver.wait_for_spans(2)

Fault modes for reliability tests (``receiver.behaviour``): ``"ok"``; ``"refuse"`` answers gRPC
``UNAVAILABLE`` / HTTP 503; ``"hang"`` holds each request until :meth:`stop` (at most ``hang_limit_s``)
and then refuses it. Refused and hung requests are not decoded, but their bodies do count in
:meth:`raw_bytes`.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc  # type: ignore[import-untyped,unused-ignore]
from google.protobuf.message import DecodeError  # type: ignore[import-untyped,unused-ignore]
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from typing_extensions import Self

from otelagents.testing._otlp_decode import (
    ReceivedDataPoint,
    ReceivedEvent,
    ReceivedExemplar,
    ReceivedMetric,
    ReceivedSpan,
    _decode_metrics,
    _decode_spans,
)

__all__ = [
    "BEHAVIOURS",
    "OTLPReceiver",
    "ReceivedDataPoint",
    "ReceivedEvent",
    "ReceivedExemplar",
    "ReceivedMetric",
    "ReceivedSpan",
]

BEHAVIOURS = ("ok", "refuse", "hang")
_SERVICES = {
    "traces": "opentelemetry.proto.collector.trace.v1.TraceService",
    "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
}

_RESPONSES: dict[str, Any] = {"traces": ExportTraceServiceResponse(), "metrics": ExportMetricsServiceResponse()}


class OTLPReceiver:
    """Receives OTLP traces and metrics over gRPC and HTTP on 127.0.0.1 (ports chosen by the OS)."""

    def __init__(self, host: str = "127.0.0.1", *, hang_limit_s: float = 60.0) -> None:
        self.host = host
        self.hang_limit_s = hang_limit_s
        self._behaviour = "ok"
        self._cond = threading.Condition()
        self._spans: list[ReceivedSpan] = []
        self._metrics: list[ReceivedMetric] = []
        self._bodies: list[bytes] = []
        self._stopping = threading.Event()
        self._grpc: grpc.Server | None = None
        self._http: ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self.grpc_endpoint = ""
        self.http_endpoint = ""

    @property
    def behaviour(self) -> str:
        return self._behaviour

    @behaviour.setter
    def behaviour(self, value: str) -> None:
        if value not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {BEHAVIOURS}, not {value!r}")
        self._behaviour = value

    # -- lifecycle
    def start(self) -> Self:
        if self._grpc is not None:
            return self
        server = grpc.server(ThreadPoolExecutor(max_workers=8, thread_name_prefix="otlp-receiver-grpc"))
        for signal, service in _SERVICES.items():
            handler = grpc.unary_unary_rpc_method_handler(
                self._grpc_handler(signal), response_serializer=lambda r: r.SerializeToString())
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {"Export": handler}),))
        port = server.add_insecure_port(f"{self.host}:0")
        if port == 0:
            raise OSError(f"OTLP receiver could not bind a gRPC port on {self.host}")
        server.start()
        self._grpc = server
        self.grpc_endpoint = f"{self.host}:{port}"
        http = ThreadingHTTPServer((self.host, 0), _http_handler(self))
        http.daemon_threads = True
        self._http = http
        self._http_thread = threading.Thread(target=http.serve_forever, kwargs={"poll_interval": 0.1},
                                             name="otlp-receiver-http", daemon=True)
        self._http_thread.start()
        self.http_endpoint = f"http://{self.host}:{http.server_address[1]}"
        return self

    def stop(self) -> None:
        """Stop both servers; hung requests are released. Bounded (a few seconds) and idempotent."""
        self._stopping.set()
        grpc_server, self._grpc = self._grpc, None
        http, self._http = self._http, None
        if grpc_server is not None:
            grpc_server.stop(grace=0.5).wait(timeout=3)
        if http is not None:
            http.shutdown()
            http.server_close()
            if self._http_thread is not None:
                self._http_thread.join(timeout=2)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- results
    def spans(self) -> list[ReceivedSpan]:
        with self._cond:
            return list(self._spans)

    def metrics(self) -> list[ReceivedMetric]:
        """Every metric of every accepted export, in arrival order (cumulative exports repeat names)."""
        with self._cond:
            return list(self._metrics)

    def raw_bytes(self) -> bytes:
        """Every request body received (decompressed), accepted or not, concatenated."""
        with self._cond:
            return b"".join(self._bodies)

    def clear(self) -> None:
        with self._cond:
            self._spans.clear()
            self._metrics.clear()
            self._bodies.clear()

    def wait_for_spans(self, predicate_or_count: int | Callable[[ReceivedSpan], bool],
                       timeout_s: float = 10.0) -> list[ReceivedSpan]:
        """With a count: all spans once at least that many arrived. With a predicate: the matching spans
        once at least one matches. Raises TimeoutError listing what did arrive."""
        if isinstance(predicate_or_count, int):
            count = predicate_or_count
            return self._wait(lambda: list(self._spans) if len(self._spans) >= count else None, timeout_s,
                              f"{count} spans", lambda: [s.name for s in self._spans])
        predicate = predicate_or_count
        return self._wait(lambda: [s for s in self._spans if predicate(s)] or None, timeout_s,
                          "a span matching the predicate", lambda: [s.name for s in self._spans])

    def wait_for_metrics(self, name: str, timeout_s: float = 10.0) -> list[ReceivedMetric]:
        """Every received metric called ``name``, once at least one arrived (the latest export is last)."""
        return self._wait(lambda: [m for m in self._metrics if m.name == name] or None, timeout_s,
                          f"metric {name!r}", lambda: sorted({m.name for m in self._metrics}))

    def _wait(self, ready: Callable[[], list[Any] | None], timeout_s: float, what: str,
              have: Callable[[], list[str]]) -> list[Any]:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                result = ready()
                if result is not None:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"OTLP receiver: no {what} within {timeout_s} s; received so far: "
                                       f"{have()}. Were the providers flushed or shut down?")
                self._cond.wait(remaining)

    # -- request handling (shared by both transports)
    def _admit(self) -> bool:
        """Whether to accept the current request; in "hang" mode, blocks until stop first."""
        if self._behaviour == "hang":
            self._stopping.wait(self.hang_limit_s)
            return False
        return self._behaviour == "ok" and not self._stopping.is_set()

    def _ingest(self, signal: str, body: bytes, transport: str) -> None:
        """Decode and store ``body``; raises DecodeError for a malformed body."""
        decoded: list[Any] = _decode_spans(body, transport) if signal == "traces" else _decode_metrics(
            body, transport)
        with self._cond:
            (self._spans if signal == "traces" else self._metrics).extend(decoded)
            self._cond.notify_all()

    def _keep_body(self, body: bytes) -> None:
        with self._cond:
            self._bodies.append(body)

    def _grpc_handler(self, signal: str) -> Callable[[bytes, grpc.ServicerContext], Any]:
        def export(body: bytes, context: grpc.ServicerContext) -> Any:
            self._keep_body(body)
            if not self._admit():
                context.abort(grpc.StatusCode.UNAVAILABLE, f"OTLP receiver is in {self._behaviour!r} mode")
            try:
                self._ingest(signal, body, "grpc")
            except DecodeError as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"undecodable {signal} request: {exc}")
            return _RESPONSES[signal]
        return export


def _http_handler(receiver: OTLPReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            signal = {"/v1/traces": "traces", "/v1/metrics": "metrics"}.get(self.path.split("?")[0])
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if signal is None:
                return self._reply(404, b"unknown path: POST /v1/traces or /v1/metrics")
            encoding = (self.headers.get("Content-Encoding") or "").lower()
            try:
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
            except (OSError, zlib.error) as exc:
                return self._reply(400, f"cannot decompress {encoding} body: {exc}".encode())
            receiver._keep_body(body)
            if "json" in (self.headers.get("Content-Type") or ""):
                return self._reply(415, b"only application/x-protobuf is supported")
            if not receiver._admit():
                return self._reply(503, f"receiver is in {receiver.behaviour!r} mode".encode())
            try:
                receiver._ingest(signal, body, "http")
            except DecodeError as exc:
                return self._reply(400, f"undecodable {signal} request: {exc}".encode())
            self._reply(200, _RESPONSES[signal].SerializeToString(), "application/x-protobuf")

        def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read results, not access logs."""

    return Handler
