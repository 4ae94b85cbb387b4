"""``OpenAIProvider``: model names -> OpenAI models, and the process-wide OpenAI defaults.

Nothing is created at import or when an agent is built: the default ``AsyncOpenAI`` client is made at the
first model lookup of a run, from ``set_default_openai_key`` / ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``.
A local OpenAI-compatible server usually accepts any key, so with ``OPENAI_BASE_URL`` set and no key a
placeholder key is used.

One lazily made client is kept per event loop: an ``AsyncOpenAI`` pools connections bound to the loop that
opened them, and ``Runner.run_sync`` starts a new loop per call, so sharing one client across loops fails
with "Event loop is closed" on the second run. Each such client is closed when its loop shuts down
(``asyncio.run`` and ``Runner.run_sync`` do that), so runs leak neither sockets nor loops. A client you
pass in (``set_default_openai_client``, ``OpenAIProvider(openai_client=...)``) is used as is, and is
yours to close.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Literal, get_args

from openai import AsyncOpenAI

from ..exceptions import UserError
from .default_models import get_default_model
from .interface import Model, ModelProvider
from .openai_chatcompletions import OpenAIChatCompletionsModel
from .openai_responses import OpenAIResponsesModel

OpenAIApi = Literal["responses", "chat_completions"]
PLACEHOLDER_KEY = "not-needed"


class _LazyClients:
    """Clients made on demand, one per running event loop (and one for code outside any loop).

    Each client is closed when its loop shuts down (see ``_LoopClient``), and forgotten then, so a
    script that calls ``Runner.run_sync`` in a loop keeps neither sockets nor closed loops alive. A loop
    closed without ``shutdown_asyncgens()`` (a bare ``loop.close()``) has its client dropped at the next
    lookup, which lets the garbage collector release it.
    """

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = (
            weakref.WeakKeyDictionary()
        )
        self._outside: AsyncOpenAI | None = None
        self._lock = threading.Lock()

    def get(self, api_key: str | None, base_url: str | None) -> AsyncOpenAI:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            if self._outside is None:
                self._outside = _make_client(api_key, base_url)
            return self._outside
        try:
            entry = self._by_loop.get(loop)
        except TypeError:  # a loop type without weak references: share one client, as a last resort
            if self._outside is None:
                self._outside = _make_client(api_key, base_url)
            return self._outside
        if entry is None:
            self._forget_closed_loops()
            entry = _LoopClient(_make_client(api_key, base_url), self, loop)
            with self._lock:
                self._by_loop[loop] = entry
        return entry.client

    def forget(self, loop: asyncio.AbstractEventLoop, entry: _LoopClient) -> None:
        with self._lock:
            if self._by_loop.get(loop) is entry:
                del self._by_loop[loop]

    def _forget_closed_loops(self) -> None:
        with self._lock:
            for loop in [loop for loop in self._by_loop if loop.is_closed()]:
                del self._by_loop[loop]

    def clear(self) -> None:
        with self._lock:
            self._by_loop = weakref.WeakKeyDictionary()
        self._outside = None

    def __len__(self) -> int:
        return len(self._by_loop)


class _LoopClient:
    """A client made for one running loop, closed when that loop shuts its async generators down."""

    __slots__ = ("_closer", "client")

    def __init__(self, client: AsyncOpenAI, owner: _LazyClients, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        owner_ref = weakref.ref(owner)
        loop_ref = weakref.ref(loop)

        async def close_with_loop() -> AsyncGenerator[None, None]:
            # Only ever started, never finished: the loop closes it in ``shutdown_asyncgens()``
            # (``asyncio.run`` and ``Runner.run_sync`` call that before closing the loop), and closing it
            # closes the client inside that loop, while its sockets can still be closed cleanly.
            try:
                yield
            finally:
                owner_now, loop_now = owner_ref(), loop_ref()
                if owner_now is not None and loop_now is not None:
                    owner_now.forget(loop_now, self)
                await client.close()

        self._closer: AsyncGenerator[None, None] = close_with_loop()
        # Start it now, in the running loop, so the loop tracks it (its first-iteration hook); it stops at
        # the first ``yield`` without awaiting anything, so one synchronous step is enough.
        try:
            self._closer.asend(None).send(None)
        except StopIteration:
            pass


@dataclass
class _Defaults:
    client: AsyncOpenAI | None = None
    key: str | None = None
    api: OpenAIApi = "responses"
    use_for_tracing: bool = True
    lazy: _LazyClients = field(default_factory=_LazyClients)


_defaults = _Defaults()
_shared: OpenAIProvider | None = None


def _make_client(api_key: str | None, base_url: str | None) -> AsyncOpenAI:
    key = api_key or _defaults.key or os.environ.get("OPENAI_API_KEY") or None
    base = base_url or os.environ.get("OPENAI_BASE_URL") or None
    if key is None:
        if base is None:
            raise UserError(
                "No OpenAI API key: set OPENAI_API_KEY (or call set_default_openai_key), or set "
                "OPENAI_BASE_URL to a local OpenAI-compatible server, or give the agent a Model instance"
            )
        key = PLACEHOLDER_KEY
    return AsyncOpenAI(api_key=key, base_url=base)


def set_default_openai_client(client: AsyncOpenAI, use_for_tracing: bool = True) -> None:
    """Use ``client`` for every model looked up by name (unless a provider has its own)."""
    if not isinstance(client, AsyncOpenAI):
        raise UserError(f"set_default_openai_client expects an openai.AsyncOpenAI, not {type(client).__name__}")
    _defaults.client = client
    _defaults.use_for_tracing = use_for_tracing


def set_default_openai_key(key: str, use_for_tracing: bool = True) -> None:
    """The API key for the default client (made lazily). Replaces clients made with an earlier key."""
    if not isinstance(key, str) or not key:
        raise UserError("set_default_openai_key expects a non-empty string")
    _defaults.key = key
    _defaults.use_for_tracing = use_for_tracing
    _defaults.lazy.clear()


def set_default_openai_api(api: OpenAIApi) -> None:
    """Which API models looked up by name use: ``"responses"`` (default) or ``"chat_completions"``."""
    choices = get_args(OpenAIApi)
    if api not in choices:
        raise UserError(f"Unknown OpenAI API {api!r}; choose one of {', '.join(map(repr, choices))}")
    _defaults.api = api


def get_default_openai_api() -> OpenAIApi:
    return _defaults.api


def get_default_openai_client() -> AsyncOpenAI | None:
    """The client set with ``set_default_openai_client``, if any."""
    return _defaults.client


def default_client_used_for_tracing() -> bool:
    return _defaults.use_for_tracing


def reset_default_client() -> None:
    """Forget the lazily made default clients (tests: after changing ``OPENAI_BASE_URL``/``OPENAI_API_KEY``).

    The client given to ``set_default_openai_client`` is forgotten too; the default API is kept.
    """
    _defaults.client = None
    _defaults.lazy.clear()


class OpenAIProvider(ModelProvider):
    """Looks up OpenAI models by name, on the Responses API or Chat Completions.

    With no arguments it follows the process-wide defaults (``set_default_openai_*``, the environment).
    ``api_key``/``base_url`` give it clients of its own; ``openai_client`` a fixed client.
    ``use_responses`` overrides the default API for this provider.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        openai_client: AsyncOpenAI | None = None,
        use_responses: bool | None = None,
    ) -> None:
        if openai_client is not None and (api_key is not None or base_url is not None):
            raise UserError("OpenAIProvider: pass either openai_client or api_key/base_url, not both")
        self._api_key = api_key
        self._base_url = base_url
        self._client = openai_client
        self._use_responses = use_responses
        self._own_clients = _LazyClients() if (api_key is not None or base_url is not None) else None

    @classmethod
    def shared(cls) -> OpenAIProvider:
        """The provider the runner uses for model names when no other is configured."""
        global _shared
        if _shared is None:
            _shared = cls()
        return _shared

    def client(self) -> AsyncOpenAI:
        """The client this provider would use now (made on first use)."""
        if self._client is not None:
            return self._client
        if self._own_clients is not None:
            return self._own_clients.get(self._api_key, self._base_url)
        if _defaults.client is not None:
            return _defaults.client
        return _defaults.lazy.get(None, None)

    def get_model(self, model_name: str | None) -> Model:
        name = model_name or get_default_model()
        use_responses = self._use_responses if self._use_responses is not None else _defaults.api == "responses"
        client = self.client()
        if use_responses:
            return OpenAIResponsesModel(name, client)
        return OpenAIChatCompletionsModel(name, client)
