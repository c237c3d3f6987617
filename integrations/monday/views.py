"""The board map pages: which board each FreshBooks record type goes to, and the column editor.

Everyone in the tenant can look (the editor read-only for viewers, with a note); only admins
save or remove a map. Another tenant's connection is a 404. Boards are read live from Monday
(outside any transaction) each time the editor is shown or saved.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from integrations.monday import boards
from integrations.monday import columns as catalogue
from integrations.monday.forms import BoardMapForm
from integrations.monday.models import BoardMap, ItemDrift
from integrations.monday.sync import REMOTE_TYPE, show_value
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.connections.models import Connection
from mlconnector.http import AuditContext, ProviderError
from mlconnector.pipeline.models import RecordLink
from mlconnector.tenants.models import can_edit

ADMIN_ONLY = "Only an admin of this tenant can change where records go on Monday."


def _connection(request, pk: int) -> Connection:
    # 404, not 403, for another tenant's connection: its existence is not ours to reveal.
    return get_object_or_404(Connection.objects.for_user(request.user).filter(provider="monday"), pk=pk)


def _record_type(record_type: str) -> str:
    if record_type not in catalogue.RECORD_TYPES:
        raise Http404("No such record type")
    return record_type


@login_required
def maps(request, pk: int):
    conn = _connection(request, pk)
    saved = {m.record_type: m for m in BoardMap.objects.filter(connection=conn).prefetch_related("columns")}
    rows = [
        {"record_type": t, "label": catalogue.RECORD_LABELS[t], "map": saved.get(t)} for t in catalogue.RECORD_TYPES
    ]
    drifts = ItemDrift.objects.filter(connection=conn)
    context = {
        "conn": conn,
        "rows": rows,
        "can_change": can_edit(request.user, conn.tenant),
        "drifts": list(drifts[:10]),
        "drift_count": drifts.count(),
    }
    return render(request, "monday/maps.html", context)


@login_required
def item(request, pk: int, item_id: str):
    """One Monday item ml-connector writes: what it last wrote there, and every status a person
    changed on Monday that a FreshBooks change then overwrote."""
    conn = _connection(request, pk)
    link = get_object_or_404(RecordLink, connection=conn, remote_type=REMOTE_TYPE, remote_id=item_id)
    data = link.data or {}
    board_map = (
        BoardMap.objects.filter(connection=conn, record_type=link.source_type).prefetch_related("columns").first()
    )
    titles = {c.column_id: c.column_title for c in board_map.columns.all()} if board_map else {}
    written = [(titles.get(k, k), show_value(v)) for k, v in (data.get("values") or {}).items()]
    drifts = list(ItemDrift.objects.filter(connection=conn, item_id=item_id).select_related("event"))
    name = data.get("name") or (drifts[0].item_name if drifts else "") or f"Item {item_id}"
    return render(
        request,
        "monday/item.html",
        {
            "conn": conn,
            "link": link,
            "name": name,
            "board_name": (board_map.board_name if board_map and board_map.board_id == data.get("board_id") else "")
            or (drifts[0].board_name if drifts else data.get("board_id", "")),
            "record_label": catalogue.RECORD_LABELS.get(link.source_type, link.source_type).rstrip("s").lower(),
            "written": written,
            "written_at": parse_datetime(data["written_at"]) if data.get("written_at") else None,
            "drifts": drifts,
        },
    )


@login_required
def edit_map(request, pk: int, record_type: str):
    conn = _connection(request, pk)
    record_type = _record_type(record_type)
    can_change = can_edit(request.user, conn.tenant)
    if request.method == "POST" and not can_change:
        raise PermissionDenied(ADMIN_ONLY)
    board_map = BoardMap.objects.filter(connection=conn, record_type=record_type).prefetch_related("columns").first()
    client = conn.integration.client(AuditContext(tenant=conn.tenant, connection=conn, actor=request.user))
    board_id = (
        request.POST.get("board") or request.GET.get("board") or (board_map.board_id if board_map else "")
    ).strip()
    context = {
        "conn": conn,
        "record_type": record_type,
        "record_label": catalogue.RECORD_LABELS[record_type],
        "board_map": board_map,
        "can_change": can_change,
        "board_choices": [],
        "board": None,
        "form": None,
        "load_error": "",
        "board_error": "",
    }
    try:
        context["board_choices"] = boards.list_boards(client)
    except ProviderError as exc:
        context["load_error"] = f"Could not read your boards from Monday.com: {exc.message}"
    board = None
    if board_id and not context["load_error"]:
        try:
            board = boards.fetch(client, board_id, fresh=True)
        except ProviderError as exc:
            context["board_error"] = f"Could not read that board from Monday.com: {exc.message}"
    context["board"] = board
    status = 200
    if board is not None:
        form = BoardMapForm(
            request.POST if request.method == "POST" else None,
            record_type=record_type,
            board=board,
            board_map=board_map,
            read_only=not can_change,
        )
        context["form"] = form
        if board_map is not None and board_map.board_id == board.id:
            context["drift"] = boards.problems(board_map, board)
        if request.method == "POST":
            if form.is_valid():
                saved = form.save(conn, actor=request.user)
                messages.success(
                    request,
                    f"Saved: {catalogue.RECORD_LABELS[record_type].lower()} go to the board “{saved.board_name}”.",
                )
                return redirect("monday-maps", conn.pk)
            status = 400
    elif request.method == "POST":
        context["board_error"] = context["board_error"] or "Choose a board first."
        status = 400
    return render(request, "monday/edit_map.html", context, status=status)


@login_required
@require_POST
def delete_map(request, pk: int, record_type: str):
    conn = _connection(request, pk)
    record_type = _record_type(record_type)
    if not can_edit(request.user, conn.tenant):
        raise PermissionDenied(ADMIN_ONLY)
    deleted, _ = BoardMap.objects.filter(connection=conn, record_type=record_type).delete()
    if deleted:
        record(
            AuditRecord.Kind.CONNECTION,
            connection=conn,
            actor=request.user,
            message=f"Monday map for {catalogue.RECORD_LABELS[record_type].lower()} removed",
        )
        messages.success(request, f"{catalogue.RECORD_LABELS[record_type]} are no longer written to Monday.com.")
    return redirect("monday-maps", conn.pk)
