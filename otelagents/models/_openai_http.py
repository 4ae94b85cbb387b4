"""What both OpenAI adapters share: opening a streamed POST through the client, reading its bytes with
the right error mapping, closing it, and the small conversions of settings, tools and input items.

The request goes through the ``openai`` client's own ``post`` (its base URL, auth and default headers,
retries with backoff and ``Retry-After``, and mapping of HTTP errors to ``openai.APIStatusError``
subclasses), asking for the raw streaming HTTP response instead of the client's per-event parsing. The
adapters then read the SSE bytes themselves.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import anyio
import openai
from pydantic import BaseModel

from .._hosted_tools import HOSTED_TOOLS
from ..exceptions import ModelBehaviorError, UserError
from ..model_settings import ModelSettings
from .interface import ModelInfo, notify_request_sent

try:  # openai >= 3 talks httpx2; older releases talk httpx
    import httpx2 as _http
except ImportError:  # pragma: no cover - depends on the installed openai
    import httpx as _http  # type: ignore[no-redef]


def _http_modules() -> list[Any]:
    modules: list[Any] = [_http]
    try:
        import httpx  # a client built with a legacy httpx.AsyncClient raises httpx's exceptions

        if httpx is not _http:
            modules.append(httpx)
    except ImportError:  # pragma: no cover
        pass
    return modules


_TIMEOUTS: tuple[type[BaseException], ...] = tuple(m.TimeoutException for m in _http_modules())
_TRANSPORT: tuple[type[BaseException], ...] = (
    *(m.TransportError for m in _http_modules()), ssl.SSLError, anyio.EndOfStream, anyio.BrokenResourceError,
)
_DRAIN_SECONDS = 0.1

HttpResponse = Any  # an httpx2 (or httpx) streaming Response


async def _on_request(request: Any) -> None:
    notify_request_sent()


def _watch_requests(client: openai.AsyncOpenAI) -> None:
    """Hook the client's HTTP transport once, so the run learns when each request really leaves."""
    http = getattr(client, "_client", None)
    hooks = getattr(http, "event_hooks", None)
    if isinstance(hooks, dict) and _on_request not in hooks.get("request", []):
        hooks.setdefault("request", []).append(_on_request)
        http.event_hooks = hooks  # type: ignore[union-attr]


async def open_stream(client: openai.AsyncOpenAI, path: str, body: dict[str, Any],
                      settings: ModelSettings) -> HttpResponse:
    """POST ``body`` to ``path`` through the client and return the raw streaming response (2xx only)."""
    _watch_requests(client)
    options: dict[str, Any] = {"security": {"bearer_auth": True}}
    if settings.extra_headers:
        options["headers"] = dict(settings.extra_headers)
    if settings.extra_query:
        options["params"] = dict(settings.extra_query)
    if settings.extra_body:
        options["extra_json"] = dict(settings.extra_body)
    response = await client.post(path, cast_to=_http.Response, body=body,  # type: ignore[call-overload]
                                 options=options, stream=True)
    await _check_content_type(response)
    return response


_SNIPPET_BYTES = 200


async def _check_content_type(response: HttpResponse) -> None:
    """A 2xx answer to a streamed request must be ``text/event-stream`` (a missing header is tolerated).
    Anything else (a web page, a proxy's login page, a JSON body from a server that ignores ``stream``)
    is a ``ModelBehaviorError`` that names the Content-Type and says what to check."""
    content_type = response.headers.get("content-type")
    if content_type is None or content_type.split(";")[0].strip().lower() == "text/event-stream":
        return
    snippet = b""
    with anyio.CancelScope(shield=True):
        try:
            with anyio.move_on_after(_DRAIN_SECONDS):
                async for chunk in response.aiter_bytes():
                    snippet += chunk
                    if len(snippet) >= _SNIPPET_BYTES:
                        break
        except Exception:  # noqa: BLE001, S110 - the snippet is only a hint in the message
            pass
        await response.aclose()
    text = snippet[:_SNIPPET_BYTES].decode("utf-8", "replace")
    raise ModelBehaviorError(
        f"{response.request.url} answered {response.status_code} with Content-Type {content_type!r}, not "
        f"'text/event-stream', so it is not a streamed OpenAI-compatible API response (body starts: {text!r}). "
        "Check the base URL (OPENAI_BASE_URL or base_url=, usually ending in /v1) and any proxy in between, "
        "and that the server supports stream=true."
    )


async def iter_bytes(response: HttpResponse, what: str) -> AsyncIterator[bytes]:
    """The response body. A read timeout is ``openai.APITimeoutError`` (as the client maps it); a connection
    that breaks off is a ``ModelBehaviorError`` saying so."""
    try:
        async for chunk in response.aiter_bytes():
            yield chunk
    except _TIMEOUTS as exc:
        raise openai.APITimeoutError(request=response.request) from exc
    except _TRANSPORT as exc:
        raise ModelBehaviorError(
            f"{what} from {response.request.url} broke off: connection closed before the response completed "
            f"({type(exc).__name__}: {exc}). The server or a proxy dropped the stream; retry the run."
        ) from exc


async def close_stream(response: HttpResponse, readers: list[Any], *, drain: bool) -> None:
    """Close the readers (async generators over the body) and the response, even when cancelled. After a
    complete answer, first read what is left of the body (briefly) so the connection can be reused."""
    with anyio.CancelScope(shield=True):
        if drain and readers:
            try:
                with anyio.move_on_after(_DRAIN_SECONDS):
                    async for _ in readers[0]:
                        pass
            except Exception:  # noqa: BLE001, S110 - cleanup must not turn a complete answer into an error
                pass
        for reader in readers:
            try:
                await reader.aclose()
            except Exception:  # noqa: BLE001, S110 - the reader already raised to the caller, or is done
                pass
        await response.aclose()


def describe_client(client: openai.AsyncOpenAI, model: str, api: str) -> ModelInfo:
    url = client.base_url
    port = url.port or {"https": 443, "http": 80}.get(url.scheme)
    return ModelInfo(request_model=model, provider_name="openai", api=api, server_address=url.host or None,
                     server_port=port)


def to_plain(value: Any) -> Any:
    """A pydantic object as a JSON-ready dict (only the fields that were set); anything else unchanged."""
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=True, mode="json")
    return value


def merge_extra_args(body: dict[str, Any], settings: ModelSettings) -> None:
    for key, value in (settings.extra_args or {}).items():
        if key in body:
            raise TypeError(
                f"ModelSettings.extra_args key {key!r} clashes with the request field the adapter sets; "
                f"set it through the matching ModelSettings field instead"
            )
        body[key] = value


def function_tools(tools: list[Any], handoffs: list[Any]) -> list[tuple[str, str, dict[str, Any], bool]]:
    """``(name, description, parameters, strict)`` of the agent's tools, then of its handoffs."""
    out: list[tuple[str, str, dict[str, Any], bool]] = []
    for tool in tools:
        if isinstance(tool, HOSTED_TOOLS):
            raise UserError(
                f"Hosted tools are not supported with the ChatCompletions API. Got tool type: {type(tool)}, "
                f"tool: {tool}. Use the Responses API model (OpenAIResponsesModel) for hosted tools"
            )
        if not hasattr(tool, "params_json_schema"):
            raise UserError(
                f"The OpenAI adapters support function tools only, got {type(tool).__name__}; "
                "wrap it with @function_tool"
            )
        out.append((tool.name, tool.description, tool.params_json_schema, bool(tool.strict_json_schema)))
    for handoff in handoffs:
        out.append((handoff.tool_name, handoff.tool_description, handoff.input_json_schema,
                    bool(handoff.strict_json_schema)))
    return out
