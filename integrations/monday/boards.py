"""A board's live structure (columns, groups, status labels), cached briefly, and whether a saved
board map still matches it.

The structure is read with one `boards(ids)` query and kept in the shared cache for
MONDAY_BOARD_CACHE_SECONDS, so the reads are amortised over many writes; a column error from
Monday, a flagged map and the editor all read it fresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from integrations.monday import columns as catalogue
from integrations.monday.models import BoardMap
from mlconnector.http import NotFound


@dataclass
class Column:
    id: str
    title: str
    type: str
    labels: list[str] = field(default_factory=list)

    @property
    def describe(self) -> str:
        return f"“{self.title}” ({catalogue.TYPE_LABELS.get(self.type, self.type.replace('_', ' '))})"


@dataclass
class Board:
    id: str
    name: str
    columns: dict[str, Column]
    groups: dict[str, str]  # id -> title

    def compatible(self, field_key: str) -> list[Column]:
        types = catalogue.FIELDS[field_key].types
        return [c for c in self.columns.values() if c.type in types]

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "columns": [
                {"id": c.id, "title": c.title, "type": c.type, "labels": c.labels} for c in self.columns.values()
            ],
            "groups": [{"id": k, "title": v} for k, v in self.groups.items()],
        }

    @classmethod
    def from_dict(cls, raw: dict) -> Board:
        columns = {}
        for c in raw.get("columns") or []:
            labels = c.get("labels")
            if labels is None:
                labels = catalogue.status_labels(c) if c.get("type") == "status" else []
            columns[str(c["id"])] = Column(
                str(c["id"]), str(c.get("title") or c["id"]), str(c.get("type") or ""), labels
            )
        groups = {str(g["id"]): str(g.get("title") or g["id"]) for g in raw.get("groups") or []}
        return cls(str(raw["id"]), str(raw.get("name") or raw["id"]), columns, groups)


def _key(client, board_id: str) -> str:
    return f"monday:board:{client.account}:{board_id}"


def fetch(client, board_id: str, *, fresh: bool = False) -> Board:
    """The board's structure; from the cache unless `fresh`. NotFound when the token cannot see it."""
    key = _key(client, board_id)
    if not fresh:
        cached = cache.get(key)
        if cached:
            return Board.from_dict(cached)
    data = client.execute("BoardStructure", {"ids": [str(board_id)]})
    boards = data.get("boards") or []
    if not boards:
        cache.delete(key)
        raise NotFound(f"Monday board {board_id} was not found, or this Monday user cannot see it")
    board = Board.from_dict(boards[0])
    cache.set(key, board.as_dict(), getattr(settings, "MONDAY_BOARD_CACHE_SECONDS", 60))
    return board


def forget(client, board_id: str) -> None:
    cache.delete(_key(client, board_id))


BOARDS_PER_PAGE = 200
MAX_BOARD_PAGES = 50  # 10,000 boards: beyond that, the picker shows the first 10,000


def list_boards(client) -> list[tuple[str, str]]:
    """Every active board the token can see, by name: Monday pages `boards` with `page` and `limit`,
    so pages are read until one comes back short (an account can have far more than one page)."""
    found: dict[str, str] = {}
    for page in range(1, MAX_BOARD_PAGES + 1):
        data = client.execute("Boards", {"limit": BOARDS_PER_PAGE, "page": page})
        boards = data.get("boards") or []
        for b in boards:
            found.setdefault(str(b["id"]), str(b.get("name") or b["id"]))
        if len(boards) < BOARDS_PER_PAGE:
            break
    return sorted(found.items(), key=lambda pair: (pair[1].casefold(), pair[0]))


# --- does a saved map still match the board? ----------------------------------------------------


def problems(board_map: BoardMap, board: Board) -> list[str]:
    """Plain-words reasons the map can no longer be used as saved (empty: it matches)."""
    found = []
    if board_map.group_id and board_map.group_id not in board.groups:
        found.append(
            f"The group “{board_map.group_title or board_map.group_id}” is no longer on the board “{board.name}”."
        )
    for cm in board_map.columns.all():
        label = catalogue.FIELDS[cm.field].label if cm.field in catalogue.FIELDS else cm.field
        column = board.columns.get(cm.column_id)
        title = cm.column_title or cm.column_id
        if column is None:
            found.append(
                f"The column “{title}” (id {cm.column_id}), where {label} goes, "
                f"is no longer on the board “{board.name}”."
            )
            continue
        if column.type != cm.column_type:
            found.append(
                f"The column “{column.title}” (id {cm.column_id}), where {label} goes, is now a "
                f"{catalogue.TYPE_LABELS.get(column.type, column.type)} column; it was a "
                f"{catalogue.TYPE_LABELS.get(cm.column_type, cm.column_type)} column when the map was saved."
            )
            continue
        if column.type == "status":
            for status, wanted in sorted(board_map.status_labels.items()):
                if wanted and wanted not in column.labels:
                    found.append(
                        f"The status column “{column.title}” (id {cm.column_id}) has no label “{wanted}” any more "
                        f"(used for {catalogue.STATUS_LABELS.get(status, status).lower()} records)."
                    )
    return found


def flag(board_map: BoardMap, found: list[str]) -> str:
    """Mark the map (and its connection) as out of step with the board; returns the message."""
    from mlconnector.connections.services import note_error

    message = f"The Monday map for {board_map.get_record_type_display().lower()} needs fixing: " + " ".join(found)
    if board_map.problem != message:
        BoardMap.objects.filter(pk=board_map.pk).update(problem=message, problem_at=timezone.now())
        board_map.problem = message
    note_error(board_map.connection, message)
    return message


def clear_flag(board_map: BoardMap) -> None:
    if board_map.problem:
        BoardMap.objects.filter(pk=board_map.pk).update(problem="", problem_at=None)
        board_map.problem = ""
