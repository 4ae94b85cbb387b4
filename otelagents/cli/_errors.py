"""Errors a user of the CLI can cause, and their one-line explanations."""

from __future__ import annotations

import openai

from otelagents.exceptions import AgentsException

EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """Something the user can fix. Printed as one line on stderr; exit 2 for usage, 1 otherwise."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = EXIT_USAGE if usage else EXIT_RUNTIME


def explain_run_error(exc: BaseException, server: str) -> CLIError | None:
    """A one-line explanation of a run's failure against ``server``, or None for an unexpected error."""
    if isinstance(exc, openai.APITimeoutError):
        return CLIError(f"the model server at {server} did not answer in time ({exc}). Check that it is up, "
                        "or try again.")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        detail = f": {cause}" if cause is not None and str(cause) else ""
        return CLIError(f"cannot reach the model server at {server}{detail}. Is it running? Check --base-url "
                        "(or OPENAI_BASE_URL).")
    if isinstance(exc, openai.AuthenticationError):
        return CLIError(f"the model server at {server} rejected the API key (HTTP 401). Set OPENAI_API_KEY "
                        "to a valid key.")
    if isinstance(exc, openai.NotFoundError):
        return CLIError(f"the model server at {server} answered 404 ({_message(exc)}). Check --model and "
                        "--base-url (an OpenAI-compatible base URL usually ends in /v1).")
    if isinstance(exc, openai.APIStatusError):
        return CLIError(f"the model server at {server} answered HTTP {exc.status_code}: {_message(exc)}")
    if isinstance(exc, AgentsException):
        return CLIError(f"the run failed: {type(exc).__name__}: {_first_line(str(exc))}")
    return None


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return _first_line(str(error["message"]))
    return _first_line(exc.message)


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else text
