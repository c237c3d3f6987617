"""The SOQL the fake understands: what ml-connector and simple-salesforce send, nothing more.

  SELECT f1, f2 | COUNT() FROM Object
    [WHERE cond [AND cond ...]]   cond: Field = | != value, Field IN (value, ...)
    [ORDER BY Field [ASC|DESC]] [LIMIT n]
  value: 'text' (with \\' escapes), true, false, null, a number.

Anything else is MALFORMED_QUERY; an unknown field is INVALID_FIELD, as Salesforce answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from integrations.salesforce.sandbox.state import SalesforceError

_TOKEN = re.compile(
    r"\s*(?:('(?:[^'\\]|\\.)*')|(!=|=|<=|>=|<|>|,|\(|\))|([A-Za-z_][A-Za-z0-9_.]*\(\)|[A-Za-z_][A-Za-z0-9_.]*)|(-?\d+(?:\.\d+)?))"
)


@dataclass
class Query:
    sobject: str
    fields: list[str]
    count: bool = False
    where: list[tuple[str, str, object]] = field(default_factory=list)
    order_by: str = ""
    descending: bool = False
    limit: int | None = None


def _tokens(text: str) -> list[tuple[str, object]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SalesforceError(400, "MALFORMED_QUERY", f"unexpected token: '{text[pos : pos + 20]}'")
        string, op, word, number = m.groups()
        if string is not None:
            out.append(("value", string[1:-1].replace("\\'", "'").replace("\\\\", "\\")))
        elif op is not None:
            out.append(("op", op))
        elif number is not None:
            out.append(("value", Decimal(number)))
        else:
            lowered = word.lower()
            if lowered in ("true", "false"):
                out.append(("value", lowered == "true"))
            elif lowered == "null":
                out.append(("value", None))
            else:
                out.append(("word", word))
        pos = m.end()
    return out


def parse(text: str) -> Query:
    toks = _tokens(text)
    pos = 0

    def at(kind: str, word: str = "") -> bool:
        if pos >= len(toks) or toks[pos][0] != kind:
            return False
        return not word or (isinstance(toks[pos][1], str) and toks[pos][1].upper() == word)

    def take(kind: str, word: str = ""):
        nonlocal pos
        if not at(kind, word):
            found = toks[pos][1] if pos < len(toks) else "end of query"
            raise SalesforceError(400, "MALFORMED_QUERY", f"unexpected token: '{found}'")
        pos += 1
        return toks[pos - 1][1]

    take("word", "SELECT")
    fields, count = [], False
    while True:
        word = take("word")
        if word.upper() == "COUNT()":
            count = True
        else:
            fields.append(word)
        if not at("op", ","):
            break
        take("op", ",")
    take("word", "FROM")
    query = Query(sobject=take("word"), fields=fields, count=count)
    if at("word", "WHERE"):
        take("word")
        while True:
            name = take("word")
            if at("word", "IN"):
                take("word")
                take("op", "(")
                values = [take("value")]
                while at("op", ","):
                    take("op", ",")
                    values.append(take("value"))
                take("op", ")")
                query.where.append((name, "IN", values))
            else:
                op = take("op")
                if op not in ("=", "!="):
                    raise SalesforceError(400, "MALFORMED_QUERY", f"unexpected token: '{op}'")
                query.where.append((name, op, take("value")))
            if not at("word", "AND"):
                break
            take("word")
    if at("word", "ORDER"):
        take("word")
        take("word", "BY")
        query.order_by = take("word")
        if at("word", "DESC"):
            take("word")
            query.descending = True
        elif at("word", "ASC"):
            take("word")
    if at("word", "LIMIT"):
        take("word")
        query.limit = int(take("value"))
    if pos != len(toks):
        raise SalesforceError(400, "MALFORMED_QUERY", f"unexpected token: '{toks[pos][1]}'")
    return query


def _matches(row: dict, cond: tuple[str, str, object]) -> bool:
    name, op, value = cond
    have = row.get(name)
    if isinstance(value, Decimal) and have is not None:
        try:
            have = Decimal(str(have))
        except ArithmeticError:
            return False
    equal = have == value if not isinstance(value, list) else have in value
    return equal if op in ("=", "IN") else not equal


def run(query: Query, rows: list[dict], known_fields: set[str]) -> list[dict]:
    for name in [*query.fields, *(c[0] for c in query.where), *([query.order_by] if query.order_by else [])]:
        if name not in known_fields:
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{query.sobject}'. If you are attempting to use a custom field, "
                "be sure to append the '__c' after the custom field name.",
            )
    found = [r for r in rows if all(_matches(r, c) for c in query.where)]
    if query.order_by:
        found.sort(
            key=lambda r: (r.get(query.order_by) is None, str(r.get(query.order_by) or "")), reverse=query.descending
        )
    if query.limit is not None:
        found = found[: query.limit]
    return found
