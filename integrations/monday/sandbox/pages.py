"""The Monday sandbox's human pages: the console and a board as a person sees it.

No ml-connector login: they are the fake provider's own UI. Every control is a POST form with a
CSRF token. A personal API token is shown once, right after it is created; afterwards only its
last four characters appear.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations.monday.sandbox import boards as boards
from integrations.monday.sandbox import columns as columns
from integrations.monday.sandbox import complexity as complexity
from integrations.monday.sandbox import control as api
from integrations.monday.sandbox.limits import INJECTORS, stats
from integrations.sandbox.models import SandboxToken

RETYPE_CHOICES = ["text", "long_text", "numbers", "date", "status", "email", "link", "checkbox", "dropdown", "people"]
INJECT_LABELS = {
    "429": "Inject 429 (Rate Limit Exceeded) on next call",
    "concurrency": "Inject 429 (maxConcurrencyExceeded) on next call",
    "daily": "Inject 429 (DAILY_LIMIT_EXCEEDED) on next call",
    "423": "Inject 423 (Resource is currently locked) on next call",
    "500": "Inject 500 on next call",
}


def _token_rows(account) -> list[dict]:
    rows = []
    live = SandboxToken.objects.filter(provider=boards.PROVIDER, account=account, kind="access", revoked_at=None)
    for token in live.order_by("-id")[:20]:
        window = complexity.peek(token.pk)
        rows.append(
            {
                "kind": "Personal API token" if token.data.get("kind") == "personal" else "OAuth app token",
                "last4": token.data.get("last4", "????"),
                "created_at": token.created_at,
                "used": window.limit - window.before,
                "limit": window.limit,
                "reset_in": window.reset_in,
            }
        )
    return rows


def home(request, new_token: str | None = None) -> HttpResponse:
    account = boards.ensure_account()
    context = {
        "account": account,
        "monday_user": account.data.get("user") or boards.USER,
        "boards": [
            {"id": r.object_id, "name": r.data["name"], "count": boards.item_rows(account, r.object_id).count()}
            for r in boards.board_rows(account)
        ],
        "budget": complexity.budget(),
        "tokens": _token_rows(account),
        "stats": stats(),
        "new_token": new_token,
        "injectors": INJECT_LABELS,
    }
    return render(request, "sandbox/monday/home.html", context)


def _cell(col: dict, value) -> dict:
    cell = {"text": columns.text_of(col, value), "color": ""}
    if col["type"] == "status" and isinstance(value, dict):
        cell["color"] = columns.STATUS_COLORS[int(value.get("index", 0)) % len(columns.STATUS_COLORS)]
    return cell


def board_page(request, board_id: str) -> HttpResponse:
    account = boards.ensure_account()
    try:
        row = boards.board_row(account, board_id)
    except boards.MondayError:
        raise Http404("No such board") from None
    cols = row.data["columns"]
    groups = []
    items = list(boards.item_rows(account, row.object_id))
    for g in row.data["groups"]:
        members = [i for i in items if i.data["group_id"] == g["id"]]
        lines = [
            {
                "id": i.object_id,
                "cells": [
                    {"text": i.data["name"], "color": ""}
                    if c["type"] == "name"
                    else _cell(c, i.data["values"].get(c["id"]))
                    for c in cols
                ],
            }
            for i in members
        ]
        groups.append({"id": g["id"], "title": g["title"], "color": g.get("color", ""), "items": lines})
    context = {
        "account": account,
        "board": {"id": row.object_id, "name": row.data["name"]},
        "columns": cols,
        "groups": groups,
        "retype_choices": RETYPE_CHOICES,
        "items": [{"id": i.object_id, "name": i.data["name"]} for i in items],
        "status_columns": [
            {"id": c["id"], "title": c["title"], "labels": list(columns.status_labels(c).values())}
            for c in cols
            if c["type"] == "status"
        ],
    }
    return render(request, "sandbox/monday/board.html", context)


@require_POST
def set_status(request, board_id: str) -> HttpResponse:
    """A person sets an item's status on the board (the way drift happens: not through the API)."""
    item, column, label = request.POST.get("item", ""), request.POST.get("column", ""), request.POST.get("label", "")
    try:
        api.set_value(board_id, item, column, {"label": label} if label else None)
    except (ValueError, LookupError) as error:
        messages.error(request, str(error))
    else:
        done = f"set to “{label}”" if label else "cleared"
        messages.success(request, f"Item {item}: {column} {done} by hand.")
    return redirect(reverse("sandbox-monday-board", args=[board_id]))


@require_POST
def column_action(request, board_id: str, column_id: str, action: str) -> HttpResponse:
    back = reverse("sandbox-monday-board", args=[board_id])
    try:
        if action == "delete":
            api.delete_column(board_id, column_id)
            messages.success(request, f"Column {column_id} deleted.")
        elif action == "retype":
            new_type = request.POST.get("type", "")
            api.retype_column(board_id, column_id, new_type)
            messages.success(request, f"Column {column_id} is now a {new_type} column.")
        else:
            raise Http404("Unknown action")
    except (ValueError, LookupError, boards.MondayError) as error:
        messages.error(request, str(getattr(error, "message", error)))
    return redirect(back)


@require_POST
def console_action(request, action: str) -> HttpResponse:
    home_url = reverse("sandbox-monday-home")
    if action == "token":
        return home(request, new_token=api.issue_personal_token())
    if action == "budget":
        try:
            points = int(request.POST.get("points", ""))
            if points < 1:
                raise ValueError
        except ValueError:
            messages.error(request, "Enter a whole number of points greater than zero.")
            return redirect(home_url)
        api.set_complexity_budget(points)
        messages.success(request, f"Complexity budget set to {points:,} points per minute per token.")
    elif action == "reset-window":
        complexity.reset_windows()
        messages.success(request, "Every token's complexity window was reset.")
    elif action == "inject" and request.POST.get("fault") in INJECTORS:
        fault = request.POST["fault"]
        INJECTORS[fault]()
        messages.success(request, f"Queued: {INJECT_LABELS[fault]}.")
    else:
        raise Http404("Unknown action")
    return redirect(home_url)
