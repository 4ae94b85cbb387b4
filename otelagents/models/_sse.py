"""A small, fast Server-Sent Events parser for the model adapters.

``SSEParser.feed(chunk)`` takes raw bytes as they come off the socket and returns the events completed by
that chunk as ``(event_name, data)`` pairs; ``data`` stays ``bytes`` so the JSON decoder can read it
without a UTF-8 round trip. Working per network chunk (not per line, not per event) keeps the Python
overhead per event to a couple of list operations, which is what makes long token streams cheap.

Framing follows the SSE spec as far as LLM servers use it: ``\\n``, ``\\r\\n`` and ``\\r`` line ends, ``event:``
and ``data:`` fields (one optional space after the colon), several ``data:`` lines joined with ``\\n``,
comments (``:`` lines) and ``id:``/``retry:`` ignored, and an event is dispatched at a blank line.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

SSEEvent = tuple["str | None", bytes]


class SSEParser:
    """Incremental SSE parser. Not thread-safe; one per HTTP response."""

    __slots__ = ("_cr", "_data", "_event", "_pending")

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # bytes of an unfinished line
        self._event: str | None = None
        self._data: list[bytes] = []
        self._cr = False  # the previous chunk ended with "\r" (a "\r\n" may be split across chunks)

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events completed by ``chunk``, in order."""
        if not chunk:
            return []
        if self._cr:
            self._cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            if chunk.endswith(b"\r"):
                self._cr = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if b"\n" not in chunk:
            self._pending.append(chunk)
            return []
        lines = chunk.split(b"\n")
        if self._pending:
            self._pending.append(lines[0])
            lines[0] = b"".join(self._pending)
            self._pending.clear()
        tail = lines.pop()
        if tail:
            self._pending.append(tail)
        return self._lines(lines)

    def flush(self) -> list[SSEEvent]:
        """At end of stream: the last event, if the server did not end it with a blank line."""
        lines: list[bytes] = []
        if self._pending:
            lines.append(b"".join(self._pending))
            self._pending.clear()
        lines.append(b"")
        return self._lines(lines)

    def _lines(self, lines: list[bytes]) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    out.append((self._event, data[0] if len(data) == 1 else b"\n".join(data)))
                    self._data = data = []
                self._event = None
            elif line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif line.startswith(b"event:"):
                self._event = (line[7:] if line[6:7] == b" " else line[6:]).decode("utf-8", "replace")
            # ":" comments, "id:", "retry:" and unknown fields are ignored.
        return out


async def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[SSEEvent]]:
    """Batches of events from a byte stream: one batch per network chunk (empty batches skipped)."""
    parser = SSEParser()
    async for chunk in chunks:
        events = parser.feed(chunk)
        if events:
            yield events
    last = parser.flush()
    if last:
        yield last
