"""The command line of the test server: ``python -m otelagents.testing.server`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys

from .server import OpenAICompatServer, Reply

_CLI_DESCRIPTION = """\
Serve an OpenAI-compatible API on 127.0.0.1 that streams the same scripted answer to every request:
POST /v1/responses (Responses API) and POST /v1/chat/completions (Chat Completions), over real SSE.
Any API key is accepted. Point a client or otelagents at it with OPENAI_BASE_URL=<the printed address>.
Stop it with Ctrl-C."""

_CLI_EPILOG = """\
On start it prints one line: 'serving OpenAI-compatible API on http://127.0.0.1:PORT/v1 ...' (on stdout; with
--print-port on stderr, and stdout gets only the bare port number, for scripts).

examples:
  python -m otelagents.testing.server --port 8000
  python -m otelagents.testing.server --port 0 --print-port --deltas 20000
  python -m otelagents.testing.server --deltas 100 --ttft 0.5 --gap 0.02"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m otelagents.testing.server", description=_CLI_DESCRIPTION,
                                     epilog=_CLI_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0,
                        help="TCP port to listen on (default 0: any free port, printed at start)")
    parser.add_argument("--print-port", action="store_true",
                        help="also print the bare port number on stdout once listening (for scripts)")
    parser.add_argument("--deltas", type=int, default=50, help="text deltas in every answer (default 50)")
    parser.add_argument("--piece", default="tok ", help="the text of each delta (default 'tok ')")
    parser.add_argument("--ttft", type=float, default=0.0,
                        help="seconds before the first delta (default 0)")
    parser.add_argument("--gap", type=float, default=0.0, help="seconds between deltas (default 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.deltas < 0 or args.ttft < 0 or args.gap < 0:
        parser.error("--deltas, --ttft and --gap must not be negative")
    reply = Reply.long(args.deltas, args.piece, ttft=args.ttft, gap=args.gap)
    try:
        server = OpenAICompatServer(responder=lambda request: reply, port=args.port)
    except OSError as exc:
        parser.exit(1, f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}. "
                       "Pick another --port (0 picks a free one).\n")
    print(f"serving OpenAI-compatible API on {server.base_url} (Responses and Chat Completions, "
          f"{args.deltas} deltas per answer); set OPENAI_BASE_URL={server.base_url}; Ctrl-C stops",
          file=sys.stderr if args.print_port else sys.stdout, flush=True)
    if args.print_port:
        print(server.port, flush=True)
    try:
        server._httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
