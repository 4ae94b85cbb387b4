"""gunicorn settings for ``--preload``: serve each forked worker's metrics on its own port.

    gunicorn --preload --workers 4 -c examples/workers/gunicorn_conf.py examples.workers.app:wsgi_app
"""

from __future__ import annotations

from typing import Any


def post_fork(server: Any, worker: Any) -> None:
    """In each new worker: its telemetry was re-armed at the fork; serve its ``/metrics`` too."""
    from examples.workers.app import metrics_ports
    from otelagents.telemetry import setup

    setup(prometheus_port=metrics_ports())
