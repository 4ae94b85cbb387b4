"""An agent behind a web server with several worker processes, each serving its own ``/metrics``.

One module for both kinds of server: ``app`` is ASGI (uvicorn), ``wsgi_app`` is WSGI (gunicorn's sync
workers). Telemetry is configured at import. Each worker process takes the first free port of
``METRICS_PORTS`` (default 9464-9467) for ``/metrics``; list those ports as Prometheus targets. With
``OTEL_EXPORTER_OTLP_ENDPOINT`` set, every worker also pushes over OTLP with its own
``service.instance.id``, so a Collector keeps the workers' series apart.

    uvicorn --workers 4 examples.workers.app:app
    gunicorn --workers 4 examples.workers.app:wsgi_app
    gunicorn --preload --workers 4 -c examples/workers/gunicorn_conf.py examples.workers.app:wsgi_app

With ``OTELAGENTS_METRICS_DIR`` set (and ``METRICS_PORTS`` a single port), the workers write their metrics
to that directory and one ``/metrics`` serves them all, merged.

With ``--preload`` the app, and so ``setup()``, is loaded once in the gunicorn master before the workers
are forked: the master keeps the first port, and each forked worker serves its own metrics once
``gunicorn_conf.post_fork`` calls ``setup()`` in it (give the range one more port than workers).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from otelagents import Agent, Runner
from otelagents.telemetry import setup


def metrics_ports() -> range:
    """``METRICS_PORTS=9464-9467`` (the default): the ports the workers' ``/metrics`` servers may take."""
    first, _, last = os.environ.get("METRICS_PORTS", "9464-9467").partition("-")
    return range(int(first), int(last or first) + 1)


handle = setup(service_name="agents-web", prometheus_port=metrics_ports())
agent = Agent("assistant", instructions="Answer briefly.", model=os.environ.get("AGENT_MODEL", "gpt-4.1"))

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """ASGI: ``GET /?q=...`` runs the agent on ``q`` and answers with its final output."""
    if scope["type"] == "lifespan":
        while True:
            kind = (await receive())["type"]
            done = kind == "lifespan.shutdown"
            await send({"type": "lifespan.shutdown.complete" if done else "lifespan.startup.complete"})
            if done:
                return
    question = _question(scope.get("query_string", b"").decode())
    result = await Runner.run(agent, question)
    body = str(result.final_output).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": body})


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """WSGI: the same, with ``Runner.run_sync`` (each call's client is closed with its event loop)."""
    result = Runner.run_sync(agent, _question(environ.get("QUERY_STRING", "")))
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [str(result.final_output).encode()]


def _question(query: str) -> str:
    from urllib.parse import parse_qs

    return parse_qs(query).get("q", ["Say hello."])[0]
