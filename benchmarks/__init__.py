"""otelagents benchmarks: ``python -m benchmarks`` prints one table of figures measured side by side.

Sections (``--only``): ``throughput`` (streamed events/s: raw floor, otelagents with telemetry off and on,
the openai-agents SDK with tracing off and with an OpenTelemetry instrumentation), ``cost`` (telemetry cost
per chunk), ``accuracy`` (recorded time to first token and chunk gaps against the server's send times) and
``scale`` (1000 concurrent streamed runs in one process). See ``benchmarks/README.md``.

The model server (``otelagents.testing.OpenAICompatServer``) and the OTLP collector run in separate
processes, so they do not share the benchmark's interpreter lock. Nothing runs at import time.
"""
