"""A small PromQL scanner: enough to find metric selectors and the function around each.

It is not a parser (promtool parses, in the tests); it tokenizes well-formed expressions so that
checks can ask "which metrics does this query read, with which matchers, inside which function".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"'  # string
    r"|\{[^}]*\}"  # label matchers
    r"|\[[^\]]*\]"  # range window
    r"|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?"  # number
    r"|[A-Za-z_:][A-Za-z0-9_:]*"  # identifier
    r"|\S"
)
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = frozenset({
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
    "offset", "inf", "nan", "Inf", "NaN",
})
_LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Selector:
    """One vector selector: metric name, its matchers, its range window and the enclosing function."""

    name: str
    matchers: tuple[tuple[str, str, str], ...]  # (label, op, value)
    window: str  # "" for an instant selector
    function: str  # innermost enclosing function or aggregation, "" at top level

    def has(self, label: str, op: str, value: str) -> bool:
        return (label, op, value) in self.matchers


def selectors(expr: str) -> list[Selector]:
    tokens = _TOKEN.findall(expr)
    out: list[Selector] = []
    stack: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok == "(":
            stack.append("")
        elif tok == ")":
            if stack:
                stack.pop()
        elif _IDENT.fullmatch(tok):
            if tok in _LABEL_LISTS and nxt == "(":
                i = tokens.index(")", i) + 1  # skip the label list
                continue
            if tok in _KEYWORDS:
                pass
            elif nxt == "(":
                stack.append(tok)  # a function or aggregation call
                i += 2
                continue
            elif _is_aggregation_with_clause(tokens, i):
                stack.append(tok)
                i = tokens.index(")", i + 2) + 2  # skip "by (...) (" and enter the aggregation
                continue
            else:
                i = _selector(tokens, i, stack, out)
                continue
        i += 1
    return out


def _is_aggregation_with_clause(tokens: list[str], i: int) -> bool:
    return i + 2 < len(tokens) and tokens[i + 1] in ("by", "without") and tokens[i + 2] == "("


def _selector(tokens: list[str], i: int, stack: list[str], out: list[Selector]) -> int:
    name = tokens[i]
    i += 1
    matchers: tuple[tuple[str, str, str], ...] = ()
    window = ""
    if i < len(tokens) and tokens[i].startswith("{"):
        matchers = tuple(_MATCHER.findall(tokens[i]))
        i += 1
    if i < len(tokens) and tokens[i].startswith("["):
        window = tokens[i][1:-1].strip()
        i += 1
    out.append(Selector(name, matchers, window, stack[-1] if stack else ""))
    return i


def windows(expr: str) -> list[str]:
    """Every ``[...]`` range window in the expression."""
    return [tok[1:-1].strip() for tok in _TOKEN.findall(expr) if tok.startswith("[")]
