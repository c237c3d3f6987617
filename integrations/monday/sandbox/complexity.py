"""Complexity accounting of the Monday sandbox: a deterministic cost model and per-token minute budgets.

Cost model (Monday's own formula is not published; this one is documented and stable so tests and
the benchmark can predict it). Computed statically from the validated document, before execution:

    cost(leaf field)   = 1
    cost(object field) = 1 + multiplier × Σ cost(children)
    multiplier         = len(ids) when `ids` is given, else the field's `limit` argument when it has
                         one (items_page, next_items_page, items_page_by_column_values default 25;
                         boards default 25), else 10 for `columns`/`column_values`, 5 for `groups`,
                         25 for root `items`, 10 for any other list, 1 for a single object
                         (and 1 for ItemsResponse.items: the page's limit already counted).
    mutations          + 10,000 each for create_item, change_multiple_column_values,
                         change_column_value, change_simple_column_value (other mutations 1,000)
    `complexity { … }` is free; introspection fields (__typename, __schema…) cost 0.

So `boards(ids:[1]) { items_page(limit: 500) { cursor items { id name column_values { id text value } } } }`
costs 1 + 1×(1 + 500×(1 + 1 + (1 + 10×3)) + 1) = 16,503, and a create_item returning `{ id }` 10,002.

Budget: per token, reads and writes combined (personal-token style, vendors note §1.5), a window
that starts at the token's first call and resets 60 s later. The limit is
`set_complexity_budget(points)` (stored in the DB, so every process agrees), else
settings.SANDBOX_MONDAY_COMPLEXITY_BUDGET (default 10,000,000). A query above 5,000,000 points is
refused outright (code "maxComplexityExceeded", UNCONFIRMED name) and charges nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    get_named_type,
    is_list_type,
    is_non_null_type,
)
from graphql.execution.values import get_argument_values

from integrations.monday.sandbox import clock as sandbox_clock
from integrations.sandbox.models import SandboxCounter

WINDOW_SECONDS = 60
PER_QUERY_CAP = 5_000_000
DEFAULT_BUDGET = 10_000_000
BUDGET_KEY = "monday:setting:complexity_budget"
MUTATION_COSTS = {
    "create_item": 10_000,
    "change_multiple_column_values": 10_000,
    "change_column_value": 10_000,
    "change_simple_column_value": 10_000,
}
OTHER_MUTATION_COST = 1_000
DEFAULT_MULTIPLIERS = {"columns": 10, "column_values": 10, "groups": 5, "items": 25, "boards": 25}
FREE_FIELDS = {"complexity"}


def cost(schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: dict, variables: dict) -> int:
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    total = _selection_cost(schema, root, operation.selection_set, fragments, variables)
    if operation.operation.value == "mutation":
        for node in _fields(schema, root, operation.selection_set, fragments):
            if node.name.value not in FREE_FIELDS and not node.name.value.startswith("__"):
                total += MUTATION_COSTS.get(node.name.value, OTHER_MUTATION_COST)
    return total


def _fields(schema, parent, selection_set, fragments):
    for sel in selection_set.selections if selection_set else ():
        if isinstance(sel, FieldNode):
            yield sel
        elif isinstance(sel, InlineFragmentNode):
            yield from _fields(schema, parent, sel.selection_set, fragments)
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value in fragments:
            yield from _fields(schema, parent, fragments[sel.name.value].selection_set, fragments)


def _selection_cost(schema, parent, selection_set, fragments, variables) -> int:
    total = 0
    for sel in selection_set.selections if selection_set else ():
        if isinstance(sel, FieldNode):
            total += _field_cost(schema, parent, sel, fragments, variables)
        else:
            fragment = sel if isinstance(sel, InlineFragmentNode) else fragments.get(sel.name.value)
            if fragment is None:
                continue
            on = fragment.type_condition
            target = schema.get_type(on.name.value) if on is not None else parent
            total += _selection_cost(schema, target or parent, fragment.selection_set, fragments, variables)
    return total


def _field_cost(schema, parent, node: FieldNode, fragments, variables) -> int:
    name = node.name.value
    if name.startswith("__") or name in FREE_FIELDS:
        return 0
    field_def = getattr(parent, "fields", {}).get(name)
    if field_def is None:
        return 1
    if node.selection_set is None:
        return 1
    args = get_argument_values(field_def, node, variables)
    field_type = field_def.type.of_type if is_non_null_type(field_def.type) else field_def.type
    if args.get("ids"):
        multiplier = len(args["ids"])
    elif "limit" in args and args["limit"] is not None:
        multiplier = max(int(args["limit"]), 1)
    elif getattr(parent, "name", "") == "ItemsResponse":
        multiplier = 1  # the page's items: already multiplied by the page's limit
    elif is_list_type(field_type) or name in DEFAULT_MULTIPLIERS:
        multiplier = DEFAULT_MULTIPLIERS.get(name, 10)
    else:
        multiplier = 1
    child = get_named_type(field_def.type)
    return 1 + multiplier * _selection_cost(schema, child, node.selection_set, fragments, variables)


# --- budget ------------------------------------------------------------------------------------


def budget() -> int:
    row = SandboxCounter.objects.filter(key=BUDGET_KEY).first()
    if row is not None:
        return int(row.value)
    return int(getattr(settings, "SANDBOX_MONDAY_COMPLEXITY_BUDGET", DEFAULT_BUDGET))


def set_budget(points: int | None) -> None:
    """Per-token per-minute budget for every process; None returns to the setting."""
    if points is None:
        SandboxCounter.objects.filter(key=BUDGET_KEY).delete()
        return
    SandboxCounter.objects.update_or_create(key=BUDGET_KEY, defaults={"value": int(points), "window_start": 0})


def _key(token_pk) -> str:
    return f"monday:complexity:{token_pk}"


@dataclass
class Charge:
    allowed: bool
    query: int
    before: int
    after: int
    limit: int
    reset_in: int

    def as_field(self) -> dict:
        return {"before": self.before, "after": self.after, "query": self.query, "reset_in_x_seconds": self.reset_in}


@transaction.atomic
def charge(token_pk, points: int) -> Charge:
    """Take `points` from the token's window if they fit; a window starts at the first call after a reset."""
    limit, now, key = budget(), sandbox_clock.now(), _key(token_pk)
    SandboxCounter.objects.get_or_create(key=key, defaults={"value": 0, "window_start": now})
    SandboxCounter.objects.filter(key=key, window_start__lte=now - WINDOW_SECONDS).update(value=0, window_start=now)
    taken = SandboxCounter.objects.filter(key=key, value__lte=limit - points).update(value=F("value") + points)
    row = SandboxCounter.objects.get(key=key)
    reset_in = max(0, math.ceil(row.window_start + WINDOW_SECONDS - now))
    used = int(row.value)
    if taken:
        return Charge(True, points, limit - (used - points), limit - used, limit, reset_in)
    return Charge(False, points, max(limit - used, 0), max(limit - used, 0), limit, reset_in)


def peek(token_pk) -> Charge:
    """The window's state without charging (for the `complexity` field of a refused query and the console)."""
    limit, now = budget(), sandbox_clock.now()
    row = SandboxCounter.objects.filter(key=_key(token_pk)).first()
    if row is None or row.window_start <= now - WINDOW_SECONDS:
        return Charge(True, 0, limit, limit, limit, WINDOW_SECONDS)
    left = max(limit - int(row.value), 0)
    return Charge(True, 0, left, left, limit, max(0, math.ceil(row.window_start + WINDOW_SECONDS - now)))


def reset_windows() -> int:
    return SandboxCounter.objects.filter(key__startswith="monday:complexity:").delete()[0]
