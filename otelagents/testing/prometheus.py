"""A real Prometheus process on 127.0.0.1, for tests and the demo.

::

    with PrometheusServer(["127.0.0.1:9464"]) as prom:     # exemplar storage on by default
        prom.wait_for_scrapes(2)
        prom.query('sum(rate(gen_ai_client_operation_duration_seconds_count[1m]))')

The config (written as JSON, which is valid YAML) and the TSDB live in a temporary directory removed on
:meth:`PrometheusServer.stop`. Every wait is bounded. HTTP goes through the standard library only.

Timing: Prometheus 2.42 is ready in ~0.1 s, but its scrape manager applies new targets on a fixed 5 s tick,
so the first scrape comes ~5 s after start; ``wait_for_scrapes(2)`` then needs one more interval.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from typing_extensions import Self

__all__ = ["JOB_NAME", "PrometheusQueryError", "PrometheusServer", "PrometheusStartError"]

JOB_NAME = "otelagents"


class PrometheusStartError(RuntimeError):
    """Prometheus could not be started or did not become ready; the message carries its log tail."""


class PrometheusQueryError(RuntimeError):
    """Prometheus answered a query with an error."""

    def __init__(self, promql: str, error: str) -> None:
        super().__init__(f"Prometheus rejected {promql!r}: {error}")
        self.promql = promql
        self.error = error


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrometheusServer:
    """Runs ``prometheus`` scraping ``scrape_targets`` (``"127.0.0.1:PORT"``) under job ``otelagents``."""

    def __init__(self, scrape_targets: Sequence[str], *, scrape_interval_s: float = 1.0,
                 rule_files: Sequence[str] = (), binary: str | None = None,
                 extra_flags: Sequence[str] = ("--enable-feature=exemplar-storage",)) -> None:
        self.scrape_targets = list(scrape_targets)
        self.scrape_interval_s = scrape_interval_s
        self.rule_files = [str(Path(f).resolve()) for f in rule_files]
        self.binary = binary
        self.extra_flags = list(extra_flags)
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None

    # -- lifecycle
    def start(self, timeout_s: float = 20.0) -> Self:
        if self._proc is not None:
            return self
        binary = self.binary or shutil.which("prometheus")
        if binary is None:
            raise PrometheusStartError("prometheus binary not found on PATH: apt-get install prometheus, "
                                       "or pass binary=")
        self._dir = Path(tempfile.mkdtemp(prefix="otelagents-prometheus-"))
        config = self._dir / "prometheus.yml"
        config.write_text(json.dumps(self._config(), indent=2))
        deadline = time.monotonic() + timeout_s
        for attempt in range(3):  # the free port can be taken between probing and binding
            port = _free_port()
            self.url = f"http://127.0.0.1:{port}"
            log_path = self._dir / f"prometheus-{attempt}.log"
            with open(log_path, "wb") as log:
                self._proc = subprocess.Popen(
                    [binary, f"--config.file={config}", f"--storage.tsdb.path={self._dir / 'data'}",
                     f"--web.listen-address=127.0.0.1:{port}", *self.extra_flags],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                )
            if self._wait_ready(deadline):
                return self
            tail = self._log_tail(log_path)
            self._terminate()
            if "address already in use" not in tail or time.monotonic() >= deadline:
                self._cleanup()
                raise PrometheusStartError(
                    f"Prometheus ({binary}) did not become ready on {self.url} within {timeout_s} s. "
                    f"Log tail:\n{tail}")
        self._cleanup()
        raise PrometheusStartError("Prometheus could not find a free port after 3 attempts")

    def _config(self) -> dict[str, Any]:
        interval = f"{max(int(self.scrape_interval_s * 1000), 100)}ms"
        return {
            "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
            "rule_files": self.rule_files,
            "scrape_configs": [{
                "job_name": JOB_NAME, "scrape_interval": interval, "scrape_timeout": interval,
                "static_configs": [{"targets": self.scrape_targets}],
            }],
        }

    def _wait_ready(self, deadline: float) -> bool:
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        return False

    @staticmethod
    def _log_tail(path: Path, lines: int = 20) -> str:
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(log unreadable: {exc})"

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def _cleanup(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def stop(self) -> None:
        """Terminate Prometheus (kill after 5 s) and remove its directory. Idempotent."""
        self._terminate()
        self._cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log(self) -> str:
        """The current Prometheus log (for failure messages)."""
        if self._dir is None:
            return ""
        logs = sorted(self._dir.glob("prometheus-*.log"))
        return self._log_tail(logs[-1], lines=200) if logs else ""

    # -- HTTP API
    def _api(self, path: str, params: dict[str, str], promql: str) -> Any:
        if not self.url:
            raise RuntimeError("PrometheusServer is not started; call start() first")
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:  # 400/422/503 carry a JSON error body
            try:
                body = json.load(exc)
            except ValueError:
                raise PrometheusQueryError(promql, f"HTTP {exc.code}") from exc
        if body.get("status") != "success":
            raise PrometheusQueryError(promql, f"{body.get('errorType', '?')}: {body.get('error', body)}")
        return body["data"]

    def query(self, promql: str, time: float | None = None) -> list[dict[str, Any]]:
        """An instant query; the ``result`` list (for vectors: ``{"metric": {...}, "value": [ts, "v"]}``)."""
        params = {"query": promql}
        if time is not None:
            params["time"] = f"{time:.3f}"
        data = self._api("/api/v1/query", params, promql)
        result = data["result"]
        return result if data.get("resultType") in ("vector", "matrix") else [{"value": result}]

    def query_exemplars(self, selector: str, start: float, end: float) -> list[dict[str, Any]]:
        """``/api/v1/query_exemplars``: ``[{"seriesLabels": {...}, "exemplars": [{"labels", "value",
        "timestamp"}]}]``."""
        data = self._api("/api/v1/query_exemplars",
                         {"query": selector, "start": f"{start:.3f}", "end": f"{end:.3f}"}, selector)
        return list(data or [])

    def wait_until(self, promql: str, timeout_s: float = 20.0) -> list[dict[str, Any]]:
        """Re-run ``promql`` until it returns a non-empty result; TimeoutError after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = self.query(promql)
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{promql!r} stayed empty for {timeout_s} s. Prometheus log tail:\n"
                                   f"{self._log_tail_short()}")
            time.sleep(min(0.2, self.scrape_interval_s / 4))

    def wait_for_scrapes(self, n: int = 2, timeout_s: float = 20.0) -> None:
        """Wait until every target has been scraped successfully at least ``n`` times."""
        promql = f'sum_over_time(up{{job="{JOB_NAME}"}}[1h])'
        deadline = time.monotonic() + timeout_s
        while True:
            counts = [float(r["value"][1]) for r in self.query(promql)]
            if len(counts) == len(self.scrape_targets) and min(counts) >= n:
                return
            if time.monotonic() >= deadline:
                health = self._target_health()
                raise TimeoutError(f"targets not scraped {n} times within {timeout_s} s (successful scrapes: "
                                   f"{counts}); target health: {health}")
            time.sleep(min(0.2, self.scrape_interval_s / 4))

    def _target_health(self) -> list[dict[str, Any]]:
        try:
            data = self._api("/api/v1/targets", {}, "targets")
        except (PrometheusQueryError, OSError) as exc:
            return [{"error": str(exc)}]
        return [{k: t.get(k) for k in ("scrapeUrl", "health", "lastError")} for t in data.get("activeTargets", [])]

    def _log_tail_short(self) -> str:
        return "\n".join(self.log().splitlines()[-10:])
