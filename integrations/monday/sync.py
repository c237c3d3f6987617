"""Writing one FreshBooks record to its Monday item: create once, then update what changed.

For each record type with a board map:
- the map is checked against the board's structure (cached, boards.py); a map that no longer
  matches fails the delivery permanently with a message naming the column, before anything is sent;
- the values are encoded per column type (columns.py) and compared with what was last written
  (kept on the RecordLink): only changes are sent, in one `change_multiple_column_values`;
- the first event creates the item with `create_item`. When the link is missing but the item may
  exist (an update, a retry after a lost response, a replay) the item is looked up by its invoice
  or bill number with `items_page_by_column_values` first;
- every write is audited with the values written and what they replaced;
- drift: FreshBooks' statuses are read-only, Monday's status columns anyone can set. Just before an
  update overwrites a status column, the item's current value there is read (one small query, only
  then: an unchanged record, a create or an update that leaves the status alone reads nothing). When
  Monday shows something else than ml-connector last wrote, a person changed it: the audit trail
  says so in words and an ItemDrift row keeps it for the item's page.
FreshBooks is the system of record: nothing is ever read back from Monday into FreshBooks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from integrations.monday import boards, columns
from integrations.monday.client import MondayClient, column_error
from integrations.monday.models import BoardMap, ItemDrift
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.http import NotFound, Rejected, Unavailable
from mlconnector.pipeline.models import RecordLink

REMOTE_TYPE = "monday_item"
# A placeholder link older than this belonged to a worker that died mid-create.
CLAIM_SECONDS = 120
KEY_FIELDS = ("invoice_number",)


@dataclass
class Drift:
    column_id: str
    title: str
    monday: str  # the label Monday shows now ("" = none)
    ours: str  # the label ml-connector last wrote
    new: str  # the label being written now, from FreshBooks


@dataclass
class Written:
    item_id: str
    action: str  # "created", "updated", "unchanged"
    changes: dict[str, dict[str, Any]]

    def sentence(self, board_map: BoardMap) -> str:
        where = f"board “{board_map.board_name or board_map.board_id}”"
        if self.action == "unchanged":
            return f"item {self.item_id} on {where} already up to date"
        return f"item {self.item_id} {self.action} on {where} ({len(self.changes)} column(s))"


class ItemWriter:
    """Writes records of one record type through one board map."""

    def __init__(self, client: MondayClient, board_map: BoardMap, *, event=None, delivery=None, audit=None):
        self.client = client
        self.map = board_map
        self.event = event
        self.delivery = delivery
        self.audit = audit
        self.conn = board_map.connection
        # (record type, FreshBooks id, item name) of the record being written: for drifts and the item page.
        self._record: tuple[str, str, str] = ("", "", "")

    # --- the board ------------------------------------------------------------------------------
    def board(self, *, fresh: bool = False) -> boards.Board:
        try:
            board = boards.fetch(self.client, self.map.board_id, fresh=fresh or bool(self.map.problem))
        except NotFound as exc:
            raise Rejected(boards.flag(self.map, [f"{exc.message}."]), code="map_out_of_date") from None
        found = boards.problems(self.map, board)
        if found:
            raise Rejected(boards.flag(self.map, found), code="map_out_of_date")
        boards.clear_flag(self.map)
        return board

    # --- values ---------------------------------------------------------------------------------
    def values(self, record_type: str, record: dict, board: boards.Board) -> tuple[dict[str, Any], dict[str, str]]:
        """Encoded values by column id (None: clear), and the column titles for the audit trail."""
        values: dict[str, Any] = {}
        titles: dict[str, str] = {}
        for cm in self.map.columns.all():
            field = columns.FIELDS.get(cm.field)
            if field is None or not field.applies_to(record_type):
                continue
            raw = field.value(record_type, record)
            titles[cm.column_id] = board.columns[cm.column_id].title
            if raw is None:
                values[cm.column_id] = None
                continue
            try:
                encoded = columns.encode(cm.column_type, raw, labels=self.map.status_labels)
            except columns.EncodeError as exc:
                raise Rejected(f"{field.label} cannot go into the column “{titles[cm.column_id]}”: {exc}") from None
            if encoded is None:
                continue  # a status with no label chosen: the column is left as it is
            values[cm.column_id] = encoded
        return values, titles

    def key_column(self) -> tuple[str, str] | None:
        for cm in self.map.columns.all():
            if cm.field in KEY_FIELDS and cm.column_type == "text":
                return cm.field, cm.column_id
        return None

    # --- the write ------------------------------------------------------------------------------
    def write(
        self, record_type: str, source_id: str, record: dict, *, may_exist: bool, resend: bool, partial: bool = False
    ) -> Written:
        """`partial`: the record is incomplete (an invoice seen through its payment): never clear a column."""
        board = self.board()
        values, titles = self.values(record_type, record, board)
        if partial:
            values = {k: v for k, v in values.items() if v is not None}
        # An incomplete record (an invoice seen through its payment) would name the item poorly.
        self._record = (record_type, str(source_id), "" if partial else columns.item_name(record_type, record))
        try:
            return self._write(record_type, source_id, record, values, titles, may_exist=may_exist, resend=resend)
        except Rejected as exc:
            if not column_error(exc):
                raise
            # Monday refused a value or a column: has the board changed since we last looked?
            boards.forget(self.client, self.map.board_id)
            self.board(fresh=True)  # raises, naming the column, when the map no longer matches
            raise

    def _write(self, record_type, source_id, record, values, titles, *, may_exist, resend) -> Written:
        link = self._link(record_type, source_id)
        if link is not None and link.remote_id and (link.data or {}).get("board_id") == self.map.board_id:
            return self._update(link, values, titles, resend=resend)
        # No item known on this board: claim the right to create it, so two workers cannot both do it.
        link = self._claim(record_type, source_id)
        try:
            item_id = self._find(record, record_type) if (may_exist or self._stale_claim(link)) else None
            if item_id:
                link.remote_id = item_id
                link.data = {"board_id": self.map.board_id, "values": {}}
                return self._update(link, values, titles, resend=True)
            create = {k: v for k, v in values.items() if v is not None}
            data = self.client.execute(
                "CreateItem",
                {
                    "board": self.map.board_id,
                    "group": self.map.group_id or None,
                    "name": columns.item_name(record_type, record),
                    "values": columns.column_values_json(create),
                },
            )
        except BaseException:
            # Let the next attempt (which looks the item up first) take over.
            RecordLink.objects.filter(pk=link.pk, remote_id="").delete()
            raise
        item_id = str((data.get("create_item") or {}).get("id") or "")
        if not item_id:
            RecordLink.objects.filter(pk=link.pk, remote_id="").delete()
            raise Unavailable("Monday created no item and reported no error", maybe_sent=True)
        changes = {k: {"to": v} for k, v in create.items()}
        self._save(link, item_id, create)
        self._audit(item_id, "created", changes, titles)
        return Written(item_id, "created", changes)

    def _update(self, link: RecordLink, values, titles, *, resend: bool) -> Written:
        before = dict((link.data or {}).get("values") or {})
        changed = {
            k: v for k, v in values.items() if resend or before.get(k) != v if not (v is None and before.get(k) is None)
        }
        if not changed:
            return Written(link.remote_id, "unchanged", {})
        drifts = self._drifts(link.remote_id, before, changed, titles)
        self.client.execute(
            "ChangeValues",
            {"board": self.map.board_id, "item": link.remote_id, "values": columns.column_values_json(changed)},
        )
        changes = {
            k: ({"from": before[k], "to": v} if k in before and before[k] != v else {"to": v})
            for k, v in changed.items()
        }
        for drift in drifts:  # what Monday showed is what this write replaced
            shown = {"label": drift.monday} if drift.monday else None
            changes[drift.column_id] = {**changes[drift.column_id], "from": shown}
        self._save(link, link.remote_id, {**before, **changed})
        self._audit(link.remote_id, "updated", changes, titles)
        self._keep_drifts(link, drifts)
        return Written(link.remote_id, "updated", changes)

    def _drifts(self, item_id: str, before: dict, changed: dict, titles: dict[str, str]) -> list[Drift]:
        """Status columns this update overwrites that a person changed on Monday since our last write.

        Read only when a status column is about to be overwritten, and only those columns: one small
        query (a few complexity points; a mutation costs 10,000), none for an unchanged record."""
        watched = [
            cm.column_id
            for cm in self.map.columns.all()
            if cm.column_type == "status" and cm.column_id in changed and cm.column_id in before
        ]
        if not watched:
            return []
        data = self.client.execute("ItemValues", {"item": item_id, "columns": watched})
        found = data.get("items") or []
        if not found:
            return []  # the item is gone: the update below says so
        shown = {str(v.get("id")): str(v.get("text") or "") for v in found[0].get("column_values") or []}
        drifts = []
        for column_id in watched:
            ours, monday = _label(before.get(column_id)), shown.get(column_id, "")
            if monday != ours:
                title = titles.get(column_id, column_id)
                drifts.append(Drift(column_id, title, monday, ours, _label(changed[column_id])))
        return drifts

    def _keep_drifts(self, link: RecordLink, drifts: list[Drift]) -> None:
        item_id, item_name = link.remote_id, (link.data or {}).get("name") or f"item {link.remote_id}"
        for d in drifts:
            row = ItemDrift.objects.create(
                tenant_id=self.conn.tenant_id,
                connection=self.conn,
                board_id=self.map.board_id,
                board_name=self.map.board_name,
                item_id=item_id,
                item_name=item_name[:255],
                record_type=link.source_type,
                source_id=link.source_id[:64],
                column_id=d.column_id,
                column_title=d.title[:255],
                monday_value=d.monday[:255],
                last_written=d.ours[:255],
                new_value=d.new[:255],
                event=self.event,
                delivery=self.delivery,
            )
            record(
                AuditRecord.Kind.DELIVERY,
                connection=self.conn,
                event=self.event,
                delivery=self.delivery,
                outcome=AuditRecord.Outcome.INFO,
                remote_id=item_id,
                message=f"{d.title} of Monday item {item_id} ({item_name}): {row.sentence()}"[:4000],
                payload={"item_id": item_id, "column_id": d.column_id, "drift": True},
            )

    def _find(self, record: dict, record_type: str) -> str | None:
        key = self.key_column()
        if key is None:
            return None
        value = (
            columns.FIELDS[key[0]].value(record_type, record)
            if columns.FIELDS[key[0]].applies_to(record_type)
            else None
        )
        if not value:
            return None
        data = self.client.execute("FindItems", {"board": self.map.board_id, "column": key[1], "value": str(value)})
        items = (data.get("items_page_by_column_values") or {}).get("items") or []
        return str(items[0]["id"]) if items else None

    # --- links ----------------------------------------------------------------------------------
    def _link(self, record_type: str, source_id: str) -> RecordLink | None:
        return RecordLink.objects.filter(
            connection=self.conn, source_type=record_type, source_id=source_id, remote_type=REMOTE_TYPE
        ).first()

    def _claim(self, record_type: str, source_id: str) -> RecordLink:
        link, created = RecordLink.objects.get_or_create(
            connection=self.conn,
            source_type=record_type,
            source_id=source_id,
            remote_type=REMOTE_TYPE,
            defaults={"tenant_id": self.conn.tenant_id, "remote_id": "", "data": {"claimed_at": time.time()}},
        )
        if created or link.remote_id:
            return link
        if not self._stale_claim(link):
            raise Unavailable(
                f"another delivery is creating the Monday item for {record_type} {source_id}", retry_after=5.0
            )
        RecordLink.objects.filter(pk=link.pk).update(data={"claimed_at": time.time(), "stale": True})
        link.data = {"claimed_at": time.time(), "stale": True}
        return link

    @staticmethod
    def _stale_claim(link: RecordLink) -> bool:
        data = link.data or {}
        return bool(data.get("stale")) or (time.time() - float(data.get("claimed_at") or 0) > CLAIM_SECONDS)

    def _save(self, link: RecordLink, item_id: str, values: dict) -> None:
        name = self._record[2] or (link.data or {}).get("name") or ""
        link.remote_id = item_id
        link.data = {"board_id": self.map.board_id, "values": values, "written_at": timezone.now().isoformat()}
        if name:
            link.data["name"] = name  # for the item's page
        RecordLink.objects.filter(pk=link.pk).update(remote_id=item_id, data=link.data)

    def _audit(self, item_id: str, action: str, changes: dict, titles: dict[str, str]) -> None:
        readable = {f"{titles.get(k, k)} ({k})": v for k, v in changes.items()}
        replaced = sum(1 for v in changes.values() if "from" in v)
        message = f"Monday item {item_id} {action} on board “{self.map.board_name or self.map.board_id}”: " + ", ".join(
            f"{name} = {show_value(v['to'])}" + (f" (was {show_value(v['from'])})" if "from" in v else "")
            for name, v in readable.items()
        )
        record(
            AuditRecord.Kind.DELIVERY,
            connection=self.conn,
            event=self.event,
            delivery=self.delivery,
            outcome=AuditRecord.Outcome.INFO,
            remote_id=item_id,
            message=message[:4000],
            payload={"board_id": self.map.board_id, "item_id": item_id, "written": readable, "replaced": replaced},
        )


def _label(value: Any) -> str:
    """The label of a status value as we write it ({"label": "Paid"}); "" for none."""
    return str(value.get("label") or "") if isinstance(value, dict) else ""


def show_value(value: Any) -> str:
    """A value as written (encoded for Monday), in words for people."""
    if isinstance(value, dict):
        return str(
            value.get("label")
            or value.get("date")
            or value.get("text")
            or value.get("url")
            or value.get("email")
            or value
        )
    return "(cleared)" if value is None else str(value)


def board_map(conn, record_type: str) -> BoardMap | None:
    return (
        BoardMap.objects.filter(connection=conn, record_type=record_type)
        .select_related("connection")
        .prefetch_related("columns")
        .first()
    )
