"""The model server for the benchmarks: ``OpenAICompatServer`` in a child process.

Parent side: :class:`ServerProcess` starts ``python -m benchmarks._server`` and reads the port it prints.
Child side (:func:`main`): one ``Reply.long`` answer for every request (``--deltas``, ``--ttft``, ``--gap``),
a listen backlog large enough for a thousand clients connecting at once, ``TCP_NODELAY`` on every
connection (as production HTTP servers set it), and, for the accuracy figures,
the time each delta was written to the socket: ``GET /_timings`` returns (and forgets) one record per
streamed request, ``{"received": t, "deltas": [t1, t2, ...]}``, in ``time.perf_counter()`` seconds
(``received``: when the request line was read, before the headers are parsed).

The send times come from a subclass of the server's request handler (it wraps the handler's ``_stream`` and
``_chunk`` steps); if a change to ``otelagents.testing.server`` removes those, the server still serves and
``/_timings`` answers 404, so the accuracy figures fall back to the configured delays.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from types import TracebackType
from typing import Any

from typing_extensions import Self

_START_TIMEOUT_S = 20.0
_BACKLOG = 2048


class ServerProcess:
    """``python -m benchmarks._server`` running in a child process; ``base_url`` is its ``/v1`` root."""

    def __init__(self, deltas: int, *, ttft: float = 0.0, gap: float = 0.0, piece: str = "tok ") -> None:
        self.deltas, self.ttft, self.gap = deltas, ttft, gap
        argv = [sys.executable, "-m", "benchmarks._server", "--deltas", str(deltas), "--ttft", repr(ttft),
                "--gap", repr(gap), "--piece", piece]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        self.port = _read_port(self.proc, "model server")
        self.root = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.root}/v1"

    def timings(self, timeout_s: float = 5.0) -> list[dict[str, Any]] | None:
        """The send times of the requests served since the last call, or None if the server cannot say."""
        try:
            with urllib.request.urlopen(f"{self.root}/_timings", timeout=timeout_s) as response:
                records: list[dict[str, Any]] = json.loads(response.read())
                return records
        except OSError:
            return None

    def close(self) -> None:
        _stop(self.proc)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _read_port(proc: subprocess.Popen[str], what: str) -> int:
    """The port the child prints on its first line; bounded by ``_START_TIMEOUT_S``."""
    assert proc.stdout is not None
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline() if proc.stdout else ""),
                              daemon=True)
    reader.start()
    reader.join(_START_TIMEOUT_S)
    line = box[0].strip() if box else ""
    if not line.isdigit():
        _stop(proc)
        raise RuntimeError(f"the {what} process did not print its port within {_START_TIMEOUT_S:.0f} s "
                           f"(got {line!r}); run `python -m benchmarks._server --deltas 10` to see why")
    return int(line)


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    if proc.stdout is not None:
        proc.stdout.close()
    if proc.stdin is not None:
        proc.stdin.close()


# --- child side ---------------------------------------------------------------------------------------------
def _timed_handler(base: type[Any], log: list[dict[str, Any]], lock: threading.Lock) -> type[Any]:
    """A subclass of the server's handler that notes when each delta frame was written."""

    class TimedHandler(base):  # type: ignore[misc]
        _received = 0.0
        _delta_ids: frozenset[int] = frozenset()
        _sent: list[float] | None = None

        def setup(self) -> None:
            super().setup()
            # Without it, the first body write waits for the ACK of the header write (Nagle), which the
            # client delays (~40 ms): every request would stall ~40 ms before its first bytes.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def parse_request(self) -> bool:
            self._received = time.perf_counter()  # the request line has just arrived
            ok: bool = super().parse_request()
            return ok

        def _stream(self, reply: Any, rendered: Any, garbage: Any) -> None:
            self._delta_ids = frozenset(id(frame.data) for frame in rendered.frames if frame.delta)
            self._sent = []
            try:
                super()._stream(reply, rendered, garbage)
            finally:
                with lock:
                    log.append({"received": self._received, "deltas": self._sent})
                self._sent = None

        def _chunk(self, data: bytes) -> None:
            super()._chunk(data)
            if self._sent is not None and id(data) in self._delta_ids:
                self._sent.append(time.perf_counter())

        def do_GET(self) -> None:
            if self.path != "/_timings":
                self.send_error(404)
                return
            with lock:
                payload = json.dumps(log).encode()
                log.clear()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return TimedHandler


def main(argv: list[str] | None = None) -> int:
    from otelagents.testing.server import OpenAICompatServer, Reply

    parser = argparse.ArgumentParser(description="The benchmarks' model server (prints its port).")
    parser.add_argument("--deltas", type=int, default=50)
    parser.add_argument("--piece", default="tok ")
    parser.add_argument("--ttft", type=float, default=0.0)
    parser.add_argument("--gap", type=float, default=0.0)
    args = parser.parse_args(argv)
    reply = Reply.long(args.deltas, args.piece, ttft=args.ttft, gap=args.gap)
    server = OpenAICompatServer(responder=lambda request: reply, port=0)
    httpd: Any = server._httpd
    base = httpd.RequestHandlerClass
    if all(hasattr(base, name) for name in ("_stream", "_chunk", "do_POST")):
        httpd.RequestHandlerClass = _timed_handler(base, [], threading.Lock())
    httpd.socket.listen(_BACKLOG)  # the default backlog (5) makes a burst of connections wait for SYN retries
    print(server.port, flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
