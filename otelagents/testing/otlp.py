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
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc  # type: ignore[import-untyped,unused-ignore]
from google.protobuf.message import DecodeError  # type: ignore[import-untyped,unused-ignore]
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from typing_extensions import Self

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


@dataclass(frozen=True)
class ReceivedEvent:
    name: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ReceivedSpan:
    """A decoded span. Ids are lowercase hex; ``parent_span_id`` is ``''`` for a root span."""

    name: str
    kind: str  # "INTERNAL", "CLIENT", "SERVER", "PRODUCER", "CONSUMER" or "UNSPECIFIED"
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]  # arrays decode to tuples
    status_code: str  # "UNSET", "OK" or "ERROR"
    status_message: str
    events: tuple[ReceivedEvent, ...]
    resource: dict[str, Any]
    scope_name: str
    start_time_unix_nano: int
    end_time_unix_nano: int
    transport: str  # "grpc" or "http"

    @property
    def duration_s(self) -> float:
        return (self.end_time_unix_nano - self.start_time_unix_nano) / 1e9


@dataclass(frozen=True)
class ReceivedExemplar:
    value: float
    trace_id: str  # hex, '' when absent
    span_id: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ReceivedDataPoint:
    """A number point (``value``) or a histogram point (``count``/``sum``/buckets)."""

    attributes: dict[str, Any]
    start_time_unix_nano: int
    time_unix_nano: int
    value: float | None = None
    count: int | None = None
    sum: float | None = None
    min: float | None = None
    max: float | None = None
    bucket_counts: tuple[int, ...] = ()
    explicit_bounds: tuple[float, ...] = ()
    exemplars: tuple[ReceivedExemplar, ...] = ()


@dataclass(frozen=True)
class ReceivedMetric:
    name: str
    unit: str
    description: str
    kind: str  # "histogram", "sum", "gauge", "exponential_histogram" or "summary"
    data_points: tuple[ReceivedDataPoint, ...]
    temporality: str  # "CUMULATIVE", "DELTA", or "" for gauges
    is_monotonic: bool
    resource: dict[str, Any]
    scope_name: str
    scope_version: str
    transport: str


# --- decoding ------------------------------------------------------------------------------------------

def _any(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return tuple(_any(v) for v in value.array_value.values)
    if which == "kvlist_value":
        return _attrs(value.kvlist_value.values)
    return getattr(value, which)


def _attrs(pairs: Any) -> dict[str, Any]:
    return {kv.key: _any(kv.value) for kv in pairs}


def _enum(name: str, prefix: str) -> str:
    return name.removeprefix(prefix)


def _decode_spans(body: bytes, transport: str) -> list[ReceivedSpan]:
    request = ExportTraceServiceRequest.FromString(body)
    out: list[ReceivedSpan] = []
    for rs in request.resource_spans:
        resource = _attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(ReceivedSpan(
                    name=s.name, kind=_enum(trace_pb2.Span.SpanKind.Name(s.kind), "SPAN_KIND_"),
                    trace_id=s.trace_id.hex(), span_id=s.span_id.hex(), parent_span_id=s.parent_span_id.hex(),
                    attributes=_attrs(s.attributes),
                    status_code=_enum(trace_pb2.Status.StatusCode.Name(s.status.code), "STATUS_CODE_"),
                    status_message=s.status.message,
                    events=tuple(ReceivedEvent(e.name, e.time_unix_nano, _attrs(e.attributes)) for e in s.events),
                    resource=resource, scope_name=ss.scope.name, start_time_unix_nano=s.start_time_unix_nano,
                    end_time_unix_nano=s.end_time_unix_nano, transport=transport,
                ))
    return out


def _exemplars(exemplars: Any) -> tuple[ReceivedExemplar, ...]:
    return tuple(
        ReceivedExemplar(value=getattr(e, e.WhichOneof("value") or "as_double"), trace_id=e.trace_id.hex(),
                         span_id=e.span_id.hex(), time_unix_nano=e.time_unix_nano,
                         attributes=_attrs(e.filtered_attributes))
        for e in exemplars
    )


def _number_point(p: Any) -> ReceivedDataPoint:
    return ReceivedDataPoint(_attrs(p.attributes), p.start_time_unix_nano, p.time_unix_nano,
                             value=getattr(p, p.WhichOneof("value") or "as_double"),
                             exemplars=_exemplars(p.exemplars))


def _histogram_point(p: Any) -> ReceivedDataPoint:
    return ReceivedDataPoint(
        _attrs(p.attributes), p.start_time_unix_nano, p.time_unix_nano, count=p.count,
        sum=p.sum if p.HasField("sum") else None, min=p.min if p.HasField("min") else None,
        max=p.max if p.HasField("max") else None, bucket_counts=tuple(p.bucket_counts),
        explicit_bounds=tuple(p.explicit_bounds), exemplars=_exemplars(p.exemplars),
    )


def _decode_metric(m: Any, resource: dict[str, Any], scope: Any, transport: str) -> ReceivedMetric:
    kind = m.WhichOneof("data") or ""
    data = getattr(m, kind) if kind else None
    if kind in ("sum", "gauge"):
        points = tuple(_number_point(p) for p in data.data_points)  # type: ignore[union-attr]
    elif kind == "histogram":
        points = tuple(_histogram_point(p) for p in data.data_points)  # type: ignore[union-attr]
    else:  # exponential histograms and summaries: attributes and times only
        points = tuple(ReceivedDataPoint(_attrs(p.attributes), p.start_time_unix_nano, p.time_unix_nano,
                                         count=p.count) for p in data.data_points) if data else ()
    temporality = ""
    if kind in ("sum", "histogram", "exponential_histogram"):
        temporality = _enum(metrics_pb2.AggregationTemporality.Name(data.aggregation_temporality),  # type: ignore[union-attr]
                            "AGGREGATION_TEMPORALITY_")
    return ReceivedMetric(
        name=m.name, unit=m.unit, description=m.description, kind=kind, data_points=points,
        temporality=temporality, is_monotonic=bool(kind == "sum" and data.is_monotonic),  # type: ignore[union-attr]
        resource=resource, scope_name=scope.name, scope_version=scope.version, transport=transport,
    )


def _decode_metrics(body: bytes, transport: str) -> list[ReceivedMetric]:
    request = ExportMetricsServiceRequest.FromString(body)
    out: list[ReceivedMetric] = []
    for rm in request.resource_metrics:
        resource = _attrs(rm.resource.attributes)
        for sm in rm.scope_metrics:
            out.extend(_decode_metric(m, resource, sm.scope, transport) for m in sm.metrics)
    return out


_RESPONSES: dict[str, Any] = {"traces": ExportTraceServiceResponse(), "metrics": ExportMetricsServiceResponse()}


# --- the receiver -------------------------------------------------------------------------------------

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
