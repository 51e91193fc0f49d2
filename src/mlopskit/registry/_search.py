"""Search filters over model versions, in the syntax of MLflow's search API.

The syntax follows MLflow's search filter (https://mlflow.org/docs/1.29.0/search-runs.html,
"Syntax", "Identifier", "Comparator", "Constant"): one or more expressions joined by
``AND`` (no ``OR``), each ``<identifier> <comparator> <constant>``.

- identifiers: ``metrics.<key>``, ``params.<key>``, ``tags.<key>`` (a key with special
  characters in double quotes or backticks: ``metrics."f1-score"``), and the version's
  attributes ``name``, ``version``, ``alias``, ``digest``, ``serializer``,
  ``archived``, ``run_id`` (also as ``attributes.<name>``);
- comparators: ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` for numbers (metrics,
  numeric params, ``version``); ``=``, ``!=``, ``LIKE`` and ``ILIKE`` (``%`` any run,
  ``_`` one character; ``ILIKE`` ignores case) for strings;
- constants: numbers, or strings in single or double quotes; ``true``/``false`` for
  ``archived``.

As in MLflow, a version that lacks the metric, param or tag an expression names does
not match it. ``alias = 'production'`` matches a version holding that alias.

What does *not* belong here: reading versions (``_registry.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mlopskit.errors import RegistryError

__all__ = ["Condition", "matches", "parse_filter"]

_ATTRIBUTES = ("name", "version", "alias", "digest", "serializer", "archived", "run_id")
_KEY = r'(?:"(?P<dq>[^"]*)"|`(?P<bq>[^`]*)`|(?P<plain>[A-Za-z0-9_.:/-]+))'
_EXPRESSION = re.compile(
    r"\s*(?:(?P<kind>metrics|params|tags|attributes)\.)?"
    + _KEY
    + r"\s*(?P<op><=|>=|!=|==|=|<|>|\bI?LIKE\b)\s*"
    r"(?P<value>'[^']*'|\"[^\"]*\"|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|true|false)\s*",
    re.IGNORECASE,
)
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)
_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE")


@dataclass(frozen=True)
class Condition:
    """One parsed expression: ``kind`` (metrics/params/tags/attributes), key, op, value."""

    kind: str
    key: str
    op: str
    value: Any


def _constant(text: str) -> Any:
    if text[0] in "'\"":
        return text[1:-1]
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return float(text)


def _split(text: str, word: str = "AND") -> list[str]:
    """Split on ``word`` outside quotes."""
    parts, quote, start = [], "", 0
    for match in re.finditer(rf"['\"`]|\s+{word}\s+", text, re.IGNORECASE):
        token = match.group(0)
        if token in ("'", '"', "`"):
            quote = "" if quote == token else (quote or token)
        elif not quote:
            parts.append(text[start : match.start()])
            start = match.end()
    parts.append(text[start:])
    return parts


def parse_filter(text: Any) -> tuple[Condition, ...]:
    """Parse a filter string; raise :class:`RegistryError` saying what is wrong.

    Examples
    --------
    >>> parse_filter("metrics.auc > 0.9 and tags.team = 'crm'")[0]
    Condition(kind='metrics', key='auc', op='>', value=0.9)
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return ()
    if not isinstance(text, str):
        raise RegistryError(
            f"`filter` must be a string like \"metrics.auc > 0.9 and tags.team = 'crm'\". "
            f"Got {type(text).__name__} instead."
        )
    if len(_split(text, "OR")) > 1:
        raise RegistryError(
            "`filter` does not support OR (as in MLflow); run two searches."
        )
    conditions = []
    for part in _split(text):
        match = _EXPRESSION.fullmatch(part)
        if match is None:
            raise RegistryError(
                f"Cannot parse {part.strip()!r} in the filter {text!r}. Write "
                "<identifier> <comparator> <constant>, e.g. metrics.auc >= 0.9, "
                "tags.team = 'crm', name LIKE 'churn%', version > 3; join with AND."
            )
        conditions.append(_condition(match, text))
    return tuple(conditions)


def _condition(match: re.Match[str], text: str) -> Condition:
    key = match.group("dq") or match.group("bq") or match.group("plain")
    kind = (match.group("kind") or "attributes").lower()
    op = match.group("op").upper().replace("==", "=")
    value = _constant(match.group("value"))
    if kind == "attributes" and key not in _ATTRIBUTES:
        raise RegistryError(
            f"Unknown identifier {key!r} in the filter {text!r}. Use metrics.<key>, "
            f"params.<key>, tags.<key> or one of {', '.join(_ATTRIBUTES)}."
        )
    numeric = isinstance(value, float)
    if (numeric and op not in _NUMERIC_OPS) or (not numeric and op not in _STRING_OPS):
        kind_of = "a number" if numeric else "a string"
        allowed = _NUMERIC_OPS if numeric else _STRING_OPS
        raise RegistryError(
            f"{op} cannot compare with {kind_of} in {match.group(0).strip()!r}; use "
            f"one of {', '.join(allowed)}."
        )
    if kind == "tags" and numeric:
        raise RegistryError(
            f"Tags are strings: quote the value in {match.group(0).strip()!r}."
        )
    return Condition(kind=kind, key=key, op=op, value=value)


def _like(pattern: str, value: str, ignore_case: bool) -> bool:
    regex = "".join(
        ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern
    )
    flags = re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL
    return re.fullmatch(regex, value, flags) is not None


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(expected, float):
        if isinstance(actual, bool) or not isinstance(actual, int | float):
            return False
        actual = float(actual)
    elif isinstance(expected, bool):
        return op in ("=", "!=") and ((actual == expected) == (op == "="))
    else:
        if not isinstance(actual, str):
            return False
        if op in ("LIKE", "ILIKE"):
            return _like(expected, actual, op == "ILIKE")
    return bool(
        {
            "=": actual == expected,
            "!=": actual != expected,
            "<": actual < expected,
            "<=": actual <= expected,
            ">": actual > expected,
            ">=": actual >= expected,
        }[op]
    )


def matches(conditions: tuple[Condition, ...], version: Any) -> bool:
    """Whether a :class:`ModelVersion` satisfies every condition."""
    for c in conditions:
        if c.kind == "attributes":
            if c.key == "alias":  # "=": holds that alias; "!=": does not hold it
                op = "=" if c.op == "!=" else c.op
                hit = any(_compare(a, op, c.value) for a in version.aliases)
                if hit == (c.op == "!="):
                    return False
                continue
            actual = (
                version.lineage.run_id if c.key == "run_id" else getattr(version, c.key)
            )
        else:
            group = getattr(version, c.kind)
            if c.key not in group:
                return False
            actual = group[c.key]
        if not _compare(actual, c.op, c.value):
            return False
    return True
