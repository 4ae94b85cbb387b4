"""Fork safety for ``setup()``: pre-fork servers (gunicorn ``--preload``, ``multiprocessing`` with fork).

A forked child inherits the parent's memory but none of its threads. Without care, the child's exit hook
waits forever for a ``/metrics`` server loop that only runs in the parent, the OTLP metrics thread is gone,
and the child reports the parent's counts as its own. After ``fork()``, in the child, ``rearm`` gives the
handle that ``setup()`` made:

* no ``/metrics`` server: the port belongs to the parent (the child closes only its copy of the socket).
  Call ``setup(prometheus_port=...)`` in the worker to serve that worker's metrics on a port of its own;
* a fresh metrics engine and observer (the child counts its own runs only), and fresh OTLP metric
  exporters on a new export thread, with a new ``service.instance.id`` so a Collector or Prometheus keeps
  each worker's series apart; the tracer provider ``setup()`` built takes the same id, so the child's spans
  and metrics name the same instance (and the parent's spans carry the parent's id from the start);
* a fresh OTLP span exporter (an inherited gRPC channel or HTTP connection is not safe to share with the
  parent); the SDK's ``BatchSpanProcessor`` restarts its own thread;
* new locks, so a lock held by a parent thread at the moment of the fork cannot deadlock the child.

Exit stays bounded in the child: its ``atexit`` shutdown has the same timeout as in the parent.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.metrics.export import MetricExporter
from opentelemetry.sdk.resources import Resource

from otelagents.telemetry._export import SizeBoundedSpanExporter
from otelagents.telemetry._metrics import MetricsEngine, MetricsPortInUseError, MetricsServer, OTLPMetricsBridge
from otelagents.telemetry._metrics.multiprocess import MultiprocessSource, SnapshotWriter
from otelagents.telemetry._metrics.prometheus import SnapshotSource
from otelagents.telemetry._observer import Telemetry, install, installed

if TYPE_CHECKING:
    from otelagents.telemetry._setup import TelemetryHandle

__all__ = ["SERVICE_INSTANCE_ID", "ForkRecipe", "adopt", "register", "serve", "serve_metrics", "tag_spans",
           "with_instance_id"]

logger = logging.getLogger("otelagents.telemetry")

SERVICE_INSTANCE_ID = "service.instance.id"


@dataclass
class ForkRecipe:
    """What a forked child needs to rebuild the parts of a handle that cannot cross a fork."""

    resource: Resource
    interval_s: float
    metric_exporters: tuple[Callable[[], MetricExporter], ...] = ()
    span_exporters: tuple[SizeBoundedSpanExporter, ...] = ()
    metrics_dir: str | None = None
    pid: int = field(default_factory=os.getpid)


def with_instance_id(resource: Resource, *, fresh: bool = False) -> Resource:
    """``resource`` with a ``service.instance.id`` (a new one when ``fresh``, else kept if already set)."""
    if not fresh and SERVICE_INSTANCE_ID in resource.attributes:
        return resource
    return resource.merge(Resource({SERVICE_INSTANCE_ID: str(uuid.uuid4())}))


def tag_spans(provider: Any, resource: Resource) -> None:
    """Give the tracer provider ``setup()`` built the ``service.instance.id`` of ``resource``.

    An application's own provider is left alone. The SDK has no public setter: ``_update_resource``
    (in recent SDKs) also re-tags the tracers it already made; without it, the resource is swapped and the
    tracers made afterwards (the re-armed telemetry's) carry it."""
    instance = resource.attributes.get(SERVICE_INSTANCE_ID)
    current = getattr(provider, "resource", None)
    if instance is None or not isinstance(current, Resource):
        return
    update = Resource({SERVICE_INSTANCE_ID: instance})
    merge = getattr(provider, "_update_resource", None)
    if callable(merge):
        merge(update)
    else:
        provider._resource = current.merge(update)


_registered = False
_register_lock = threading.Lock()


def register() -> None:
    """Install the after-fork hook once per process (called by ``setup()``, never at import)."""
    global _registered
    with _register_lock:
        if _registered or not hasattr(os, "register_at_fork"):
            return
        os.register_at_fork(after_in_child=_after_in_child)
        _registered = True


def _after_in_child() -> None:
    from otelagents.telemetry import _setup

    _setup._active_lock = threading.Lock()
    handle = _setup._active
    if handle is None or handle.is_shut_down:
        return
    try:
        rearm(handle)
    except Exception:  # a fork must never fail because of telemetry
        logger.exception("otelagents telemetry: could not re-arm telemetry in the forked child")


def rearm(handle: TelemetryHandle) -> None:
    """Give ``handle`` fresh, child-owned metrics and exporters (see the module docstring)."""
    handle._lock = threading.Lock()
    if handle.span_losses is not None:
        handle.span_losses.reset_after_fork()
    server = handle.metrics_server
    if server is not None:
        server.forget_after_fork()
        handle.metrics_server = None
    recipe = handle.fork_recipe
    if recipe is None or handle.telemetry is None:
        return
    recipe.pid = os.getpid()
    recipe.resource = with_instance_id(recipe.resource, fresh=True)
    if handle.owns_tracer_provider:  # the child's spans carry its instance id too, as its metrics do
        tag_spans(handle.tracer_provider, recipe.resource)
    engine = MetricsEngine()
    old = handle.telemetry
    telemetry = Telemetry(tracer_provider=handle.tracer_provider, metrics=engine,
                          capture_content=old.capture_content, content_max_length=old.content_max_length,
                          stall_threshold_s=old.stall_threshold_s)
    bridges = tuple(OTLPMetricsBridge(engine, make(), interval_s=recipe.interval_s, resource=recipe.resource)
                    for make in recipe.metric_exporters)
    for exporter in recipe.span_exporters:
        exporter.rebuild()
    if installed() is old:
        install(telemetry)
    handle.telemetry, handle.engine, handle.metrics_exporters = telemetry, engine, bridges
    handle.forked = True
    if recipe.metrics_dir is not None:  # the parent serves the merged view; the child adds its own file
        handle.snapshot_writer = SnapshotWriter(engine, recipe.metrics_dir).start()
    for bridge in bridges:
        bridge.start()


def adopt(handle: TelemetryHandle, prometheus: bool, host: str, port: int | range) -> TelemetryHandle:
    """``setup()`` called again in a forked worker: serve this worker's metrics on ``host:port``."""
    recipe = handle.fork_recipe
    if recipe is not None and recipe.metrics_dir is not None:
        return handle  # one /metrics for every process: the parent's, merged from the directory
    if prometheus and handle.metrics_server is None and handle.engine is not None:
        handle.metrics_server = serve_metrics(handle.engine, host, port)
    return handle


def serve(engine: MetricsEngine, host: str, port: int | range,
          directory: str | os.PathLike[str] | None) -> MetricsServer | None:
    """``setup()``'s ``/metrics``: this process's engine, or with ``directory`` the merge of every process's
    files; then a taken port means another worker already serves them (None, logged)."""
    if directory is None:
        return serve_metrics(engine, host, port)
    try:
        return serve_metrics(MultiprocessSource(directory), host, port)
    except MetricsPortInUseError:
        logger.info("otelagents telemetry: /metrics on %s:%s is taken, by another worker serving the merged "
                    "metrics of %s, this process writes its own there", host, port, directory)
        return None


def serve_metrics(engine: MetricsEngine | SnapshotSource, host: str, port: int | range) -> MetricsServer:
    """Serve ``/metrics`` on ``port``, or on the first free port of a range (one port per worker process:
    list the range as Prometheus targets). Raises ``MetricsPortInUseError`` naming the port or range."""
    if isinstance(port, int):
        return MetricsServer(engine, host, port).start()
    for candidate in port:
        try:
            return MetricsServer(engine, host, candidate).start()
        except MetricsPortInUseError:
            continue
    error = MetricsPortInUseError(host, port.start)
    error.strerror = (f"cannot serve /metrics on {host}: every port of {port.start}-{port[-1]} is in use. "
                      "Widen the range to the number of worker processes, or push over OTLP.")
    raise error
