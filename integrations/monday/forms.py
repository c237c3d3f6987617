"""The board map editor's form: a board's live columns offered per FreshBooks field, only where the
types fit, and a FreshBooks status → label mapping for a status column. Every refusal says, in
plain words, what is wrong and what to choose instead."""

from __future__ import annotations

from django import forms
from django.db import transaction

from integrations.monday import columns as catalogue
from integrations.monday.boards import Board
from integrations.monday.models import BoardMap, ColumnMap
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record

NOT_MAPPED = ("", "— not on the board —")
NO_LABEL = ("", "— leave the status as it is —")


def _types_in_words(types: tuple[str, ...]) -> str:
    words = [catalogue.TYPE_LABELS[t] for t in types]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _a(words: str) -> str:
    """'a numbers column', 'an email column'."""
    return ("an " if words[:1].lower() in "aeiou" else "a ") + words


class BoardMapForm(forms.Form):
    group = forms.CharField(required=False, label="Group")

    def __init__(self, data=None, *, record_type: str, board: Board, board_map: BoardMap | None, read_only=False):
        super().__init__(data)
        self.record_type = record_type
        self.board = board
        self.board_map = board_map
        self.read_only = read_only
        self.fields["group"].widget = forms.Select(choices=[("", "— the board's top group —"), *board.groups.items()])
        saved = {c.field: c.column_id for c in board_map.columns.all()} if board_map else {}
        same_board = board_map is not None and board_map.board_id == board.id
        if same_board:
            self.fields["group"].initial = board_map.group_id
        # A board not mapped yet: columns and labels whose names match are chosen for the person to
        # check (a saved map is shown as saved).
        self.suggested = {} if same_board else catalogue.suggest_columns(record_type, list(board.columns.values()))
        self.field_rows = []
        for field in catalogue.fields_for(record_type):
            compatible = board.compatible(field.key)
            name = f"col_{field.key}"
            self.fields[name] = forms.CharField(
                required=False,
                label=field.label,
                help_text=f"Goes to {_a(_types_in_words(field.types))} column.",
                widget=forms.Select(choices=[NOT_MAPPED, *[(c.id, c.describe) for c in compatible]]),
            )
            self.fields[name].initial = saved.get(field.key, "") if same_board else self.suggested.get(field.key, "")
            self.field_rows.append((field, name, bool(compatible)))
        self.status_rows = []
        self.suggested_labels: dict[str, str] = {}
        status_columns = [c for c in board.columns.values() if c.type == "status"]
        labels = sorted({label for c in status_columns for label in c.labels})
        if labels and record_type in catalogue.STATUSES:
            status_column = board.columns.get(self.suggested.get("status", ""))
            if not same_board:
                own = status_column.labels if status_column is not None else labels
                self.suggested_labels = catalogue.suggest_labels(record_type, own)
            for status in catalogue.STATUSES[record_type]:
                name = f"label_{status}"
                self.fields[name] = forms.CharField(
                    required=False,
                    label=f"FreshBooks “{catalogue.STATUS_LABELS[status]}”",
                    widget=forms.Select(choices=[NO_LABEL, *[(label, label) for label in labels]]),
                )
                self.fields[name].initial = (
                    board_map.status_labels.get(status, "") if same_board else self.suggested_labels.get(status, "")
                )
                self.status_rows.append((status, name))
        if read_only:
            for f in self.fields.values():
                f.disabled = True

    def column_rows(self) -> list[dict]:
        return [
            {
                "field": self[name],
                "has_columns": has,
                "types": _types_in_words(field.types),
                "matched": field.key in self.suggested and not self.is_bound,
            }
            for field, name, has in self.field_rows
        ]

    def label_rows(self) -> list[dict]:
        return [
            {"field": self[name], "matched": status in self.suggested_labels and not self.is_bound}
            for status, name in self.status_rows
        ]

    @property
    def matched_count(self) -> int:
        return 0 if self.is_bound else len(self.suggested) + len(self.suggested_labels)

    # --- validation ---------------------------------------------------------------------------
    def clean_group(self) -> str:
        group = self.cleaned_data.get("group") or ""
        if group and group not in self.board.groups:
            raise forms.ValidationError(
                f"That group is not on the board “{self.board.name}”; choose one of its groups."
            )
        return group

    def clean(self):
        cleaned = super().clean()
        used: dict[str, str] = {}
        chosen: dict[str, str] = {}
        for field, name, _ in self.field_rows:
            column_id = (cleaned.get(name) or "").strip()
            if not column_id:
                continue
            column = self.board.columns.get(column_id)
            if column is None:
                self.add_error(name, f"That column is not on the board “{self.board.name}” any more; choose another.")
                continue
            if column.type not in field.types:
                self.add_error(
                    name,
                    f"{column.describe} cannot hold {field.label.lower()}: choose "
                    f"{_a(_types_in_words(field.types))} column.",
                )
                continue
            if column_id in used:
                self.add_error(
                    name, f"{column.describe} already holds {used[column_id].lower()}; each column can hold one field."
                )
                continue
            used[column_id] = field.label
            chosen[field.key] = column_id
        if not chosen and not self.errors:
            raise forms.ValidationError("Choose at least one column to fill in; otherwise nothing would be written.")
        status_column = self.board.columns.get(chosen.get("status", ""))
        self.labels: dict[str, str] = {}
        if status_column is not None and status_column.type == "status":
            for status, name in self.status_rows:
                label = cleaned.get(name) or ""
                if label and label not in status_column.labels:
                    self.add_error(
                        name,
                        f"“{label}” is not a label of the column “{status_column.title}”. Its labels are: "
                        f"{', '.join(status_column.labels)}.",
                    )
                elif label:
                    self.labels[status] = label
            if self.record_type == "invoice" and "paid" not in self.labels and "label_paid" in self.fields:
                self.add_error("label_paid", "Choose the label for paid invoices: recording a payment sets it.")
        self.chosen = chosen
        return cleaned

    # --- saving -----------------------------------------------------------------------------------
    def save(self, connection, *, actor) -> BoardMap:
        board = self.board
        group_id = self.cleaned_data.get("group") or ""
        with transaction.atomic():
            board_map, _ = BoardMap.objects.update_or_create(
                connection=connection,
                record_type=self.record_type,
                defaults={
                    "tenant_id": connection.tenant_id,
                    "board_id": board.id,
                    "board_name": board.name,
                    "group_id": group_id,
                    "group_title": board.groups.get(group_id, ""),
                    "status_labels": self.labels,
                    "problem": "",
                    "problem_at": None,
                    "updated_by": actor,
                },
            )
            board_map.columns.all().delete()
            ColumnMap.objects.bulk_create(
                [
                    ColumnMap(
                        tenant_id=connection.tenant_id,
                        board_map=board_map,
                        field=key,
                        column_id=column_id,
                        column_title=board.columns[column_id].title,
                        column_type=board.columns[column_id].type,
                    )
                    for key, column_id in self.chosen.items()
                ]
            )
        summary = ", ".join(f"{catalogue.FIELDS[k].label} → {board.columns[c].title}" for k, c in self.chosen.items())
        record(
            AuditRecord.Kind.CONNECTION,
            connection=connection,
            actor=actor,
            message=f"Monday map for {catalogue.RECORD_LABELS[self.record_type].lower()} saved: "
            f"board “{board.name}”; {summary}",
        )
        return board_map
