"""Shared test helpers and fixtures. Keep each helper small and documented; append new fixtures below."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from otelagents.telemetry._metrics.engine import MetricsEngine
from otelagents.testing.otlp import OTLPReceiver


def require_binary(name: str) -> str:
    """The path of an external binary (e.g. ``prometheus``, ``promtool``), or skip the test without it.

    Under CI (``CI=true``) a missing binary fails the test instead: CI must run every test.
    """
    path = shutil.which(name)
    if path is not None:
        return path
    message = f"{name} not installed: apt-get install prometheus (ships prometheus and promtool)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI=true requires it")
    pytest.skip(message)
    raise AssertionError("unreachable")  # pytest.skip raises; this keeps type checkers content


@pytest.fixture
def metrics_engine() -> MetricsEngine:
    """A fresh engine over the full ``semconv.METRICS`` table."""
    return MetricsEngine()


@pytest.fixture
def otlp_receiver() -> Iterator[OTLPReceiver]:
    """A started in-process OTLP receiver (gRPC and HTTP), stopped after the test.

    Shut your providers/exporters down inside the test, before this fixture stops the receiver.
    """
    with OTLPReceiver() as receiver:
        yield receiver
