"""The seed's two streaming examples, with only the import changed, against a default ScriptedModel.

The examples live once, in ``examples/`` (the Agents SDK's code with ``from otelagents import``); this test
runs those files' ``main()`` offline, and ``tests/test_readme.py`` runs them over real HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import pathlib
import runpy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import otelagents
from otelagents.testing import ScriptedModel, tool_call

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def default_model() -> Iterator[Callable[[Any], None]]:
    yield otelagents.set_default_model
    otelagents.set_default_model(None)


def run_example(name: str) -> str:
    """Load ``examples/<name>`` (not as ``__main__``), run its ``main()``, return what it printed."""
    main = runpy.run_path(str(EXAMPLES / name))["main"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        asyncio.run(main())
    return out.getvalue()


def test_the_examples_are_the_seed_code_with_only_the_import_changed() -> None:
    for name in ("stream_text.py", "stream_items.py"):
        source = (EXAMPLES / name).read_text()
        assert "from otelagents import" in source and "from agents import" not in source
        assert "otelagents.testing" not in source and "set_default_model" not in source


def test_raw_response_events_example(default_model: Callable[[Any], None]) -> None:
    jokes = "1. Why did the scarecrow win an award? Because he was outstanding in his field."
    model = ScriptedModel([jokes])
    default_model(model)
    assert run_example("stream_text.py") == jokes
    assert model.requests[0].system_instructions == "You are a helpful assistant."
    assert model.requests[0].input == [{"content": "Please tell me 5 jokes.", "role": "user"}]


def test_run_item_events_example(default_model: Callable[[Any], None]) -> None:
    model = ScriptedModel([[tool_call("how_many_jokes")], "Joke one. Joke two."])
    default_model(model)
    lines = run_example("stream_items.py").splitlines()
    assert lines[0] == "=== Run starting ==="
    assert lines[1] == "Agent updated: Joker"
    assert lines[2] == "-- Tool was called"
    assert lines[3].startswith("-- Tool output: ") and 1 <= int(lines[3].split(": ")[1]) <= 10
    assert lines[4:] == ["-- Message output:", " Joke one. Joke two.", "=== Run complete ==="]
    assert model.requests[0].tools == ["how_many_jokes"]
