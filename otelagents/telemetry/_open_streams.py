"""Streams in flight: the open and stalled model streams, as gauges that are right at every scrape.

Per-call metrics are recorded when a call ends, so a stream that hangs is invisible to them until it ends.
``OpenStreams`` keeps the calls that are open now; each call's last output chunk is already on the call (the
hot path appends its timestamp), so nothing is added per chunk. The gauges are computed from them:

* ``otelagents.client.streams.open``: streams requested and not yet ended;
* ``otelagents.client.streams.stalled``: open streams whose last output chunk is older than the stall
  threshold. A stream still waiting for its first output is not stalled: that wait is its time to first
  token, and it shows in the open gauge.

Sinks with a ``before_collect`` hook (the ``MetricsEngine`` behind ``/metrics`` and SDK providers, and the
OpenTelemetry-API sink, whose gauges are observable) get the gauges computed at each collection, so a stall
shows in the first scrape or export after it passes the threshold. A sink without one gets them set
whenever a stream opens or ends.

A call abandoned without ending (its event loop was closed under it, its task never finished) is not open:
the registry holds its streams weakly (a live call is held by its run anyway), so an abandoned one and its
run can be collected, and it drops a stream whose event loop is closed at the next count, even while
something else keeps the stream alive (anyio keeps the task of a cancel scope that never exited, and with
it the task's frames). A sink without collect hooks sees that at the next stream's open or end.

One registry per sink (``open_streams_for``): several ``Telemetry`` objects recording into one engine (the
default telemetry and an application's own, on the same provider) share it, so neither overwrites the
other's gauges. Each stream brings its own stall threshold.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import Counter
from collections.abc import Callable
from time import perf_counter
from typing import Any, Protocol

from otelagents.telemetry import semconv as sc
from otelagents.telemetry._instruments import AttrItems

MAX_LABEL_SETS = 1000  # label sets remembered so their gauges can go back to 0; beyond it, idle ones are forgotten


class OpenStream(Protocol):
    stream_key: AttrItems

    @property
    def stall_threshold_s(self) -> float: ...

    def last_output(self) -> float:
        """``perf_counter()`` of the last output chunk, or 0.0 before the first one."""
        ...


class OpenStreams:
    def __init__(self, sink: Any) -> None:
        self._open_gauge = sink.gauge(sc.METRIC_STREAMS_OPEN)
        self._stalled_gauge = sink.gauge(sc.METRIC_STREAMS_STALLED)
        self._lock = threading.Lock()
        # each open stream, with the event loop it was opened on (None outside one)
        self._open: weakref.WeakKeyDictionary[OpenStream, asyncio.AbstractEventLoop | None] = (
            weakref.WeakKeyDictionary())
        self._keys: dict[AttrItems, None] = {}
        hook: Callable[[Callable[[], None]], None] | None = getattr(sink, "before_collect", None)
        self.live = callable(hook)
        if hook is not None and self.live:
            hook(self.refresh)

    def opened(self, stream: OpenStream) -> None:
        with self._lock:
            self._open[stream] = _running_loop()
            self._keys[stream.stream_key] = None
        if not self.live:
            self.refresh()

    def closed(self, stream: OpenStream) -> None:
        with self._lock:
            if self._open.pop(stream, _NOT_OPEN) is _NOT_OPEN:
                return
        if not self.live:
            self.refresh()

    def counts(self, now: float | None = None) -> tuple[Counter[AttrItems], Counter[AttrItems]]:
        """(open, stalled) streams per label set, at ``now`` (default: this moment)."""
        now = perf_counter() if now is None else now
        with self._lock:
            streams = self._live_streams()
        opened: Counter[AttrItems] = Counter()
        stalled: Counter[AttrItems] = Counter()
        for stream in streams:
            opened[stream.stream_key] += 1
            last = stream.last_output()
            if last and now - last > stream.stall_threshold_s:
                stalled[stream.stream_key] += 1
        return opened, stalled

    def _live_streams(self) -> list[OpenStream]:
        """The open streams, less (and forgetting) those whose event loop was closed under them."""
        live: list[OpenStream] = []
        dead: list[OpenStream] = []
        for stream, loop in list(self._open.items()):
            (dead if loop is not None and loop.is_closed() else live).append(stream)
        for stream in dead:
            self._open.pop(stream, None)
        return live

    def refresh(self) -> None:
        """Set both gauges for every label set seen (0 where nothing is open now)."""
        opened, stalled = self.counts()
        with self._lock:
            keys = list(self._keys)
        for key in keys:
            attributes = dict(key)
            self._open_gauge.set(opened[key], attributes)
            self._stalled_gauge.set(stalled[key], attributes)
        if len(keys) > MAX_LABEL_SETS:  # every idle one was just set to 0: forget them
            with self._lock:
                self._keys = {key: None for key in self._keys if key in opened}


_NOT_OPEN: Any = object()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


_registries: weakref.WeakKeyDictionary[Any, OpenStreams] = weakref.WeakKeyDictionary()
_registries_lock = threading.Lock()


def open_streams_for(sink: Any) -> OpenStreams:
    """The registry of open streams recording into ``sink`` (made on first use, shared afterwards)."""
    with _registries_lock:
        try:
            found = _registries.get(sink)
        except TypeError:  # a sink that cannot be weakly referenced gets a registry of its own
            return OpenStreams(sink)
        if found is None:
            found = _registries[sink] = OpenStreams(sink)
        return found
