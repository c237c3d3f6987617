"""Monday's routes in the REST API (/api/v1/monday/<connection>/): board maps with exactly the map
editor's validation and saving (BoardMapForm), against the board as Monday shows it now."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from integrations.monday import boards
from integrations.monday import columns as catalogue
from integrations.monday.forms import BoardMapForm
from integrations.monday.models import BoardMap
from mlconnector.api.v1.base import ApiView
from mlconnector.api.v1.errors import ApiError
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.connections.models import Connection
from mlconnector.http import AuditContext, NotFound, ProviderError


class ColumnSerializer(serializers.Serializer):
    column_id = serializers.CharField()
    column_title = serializers.CharField()
    column_type = serializers.CharField()


class MapSerializer(serializers.Serializer):
    record_type = serializers.ChoiceField(choices=catalogue.RECORD_TYPES)
    board_id = serializers.CharField()
    board_name = serializers.CharField()
    group_id = serializers.CharField(allow_blank=True)
    group_title = serializers.CharField(allow_blank=True)
    columns = serializers.DictField(child=ColumnSerializer(), help_text="FreshBooks field -> board column")
    status_labels = serializers.DictField(child=serializers.CharField(), help_text="FreshBooks status -> label")
    problem = serializers.CharField(allow_blank=True, help_text="Why the board no longer matches, if it does not")
    updated_at = serializers.DateTimeField()


class MapSlotSerializer(serializers.Serializer):
    record_type = serializers.ChoiceField(choices=catalogue.RECORD_TYPES)
    label = serializers.CharField()
    map = MapSerializer(allow_null=True)


class MapInput(serializers.Serializer):
    """Documents the body; BoardMapForm validates it against the live board (as the map editor)."""

    board = serializers.CharField(help_text="A board id from GET …/boards/")
    group = serializers.CharField(required=False, allow_blank=True, help_text="Empty: the board's top group")
    columns = serializers.DictField(
        child=serializers.CharField(allow_blank=True), help_text="FreshBooks field (client, amount, …) -> column id"
    )
    status_labels = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, help_text="FreshBooks status -> label"
    )


class BoardSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


def _map(board_map: BoardMap) -> dict:
    return {
        "record_type": board_map.record_type,
        "board_id": board_map.board_id,
        "board_name": board_map.board_name,
        "group_id": board_map.group_id,
        "group_title": board_map.group_title,
        "columns": {
            c.field: {"column_id": c.column_id, "column_title": c.column_title, "column_type": c.column_type}
            for c in board_map.columns.all()
        },
        "status_labels": board_map.status_labels or {},
        "problem": board_map.problem,
        "updated_at": board_map.updated_at,
    }


def _error_name(name: str) -> str:
    """The form's field names in the body's words: col_amount -> columns.amount."""
    if name.startswith("col_"):
        return "columns." + name[4:]
    if name.startswith("label_"):
        return "status_labels." + name[6:]
    return name


class MondayView(ApiView):
    pagination_class = None  # a handful of maps; boards are read whole from Monday
    provider = "monday"

    def client(self, conn: Connection):
        return conn.integration.client(AuditContext(tenant=conn.tenant, connection=conn, actor=self.request.user))


class MapList(MondayView):
    @extend_schema(summary="Where each FreshBooks record type goes on Monday", responses=MapSlotSerializer(many=True))
    def get(self, request, connection: int, format=None):  # noqa: A002 - DRF passes the suffix as "format"
        conn = self.connection(connection)
        saved = {m.record_type: m for m in BoardMap.objects.filter(connection=conn).prefetch_related("columns")}
        return Response(
            [
                {"record_type": t, "label": catalogue.RECORD_LABELS[t], "map": _map(saved[t]) if t in saved else None}
                for t in catalogue.RECORD_TYPES
            ]
        )


@extend_schema_view(
    get=extend_schema(parameters=[OpenApiParameter("record_type", str, "path", enum=list(catalogue.RECORD_TYPES))]),
    put=extend_schema(parameters=[OpenApiParameter("record_type", str, "path", enum=list(catalogue.RECORD_TYPES))]),
    delete=extend_schema(parameters=[OpenApiParameter("record_type", str, "path", enum=list(catalogue.RECORD_TYPES))]),
)
class MapDetail(MondayView):
    def _record_type(self, record_type: str) -> str:
        if record_type not in catalogue.RECORD_TYPES:
            raise ApiError(404, "not_found", f"No such record type; they are: {', '.join(catalogue.RECORD_TYPES)}.")
        return record_type

    @extend_schema(summary="One record type's board map", responses=MapSerializer)
    def get(self, request, connection: int, record_type: str, format=None):  # noqa: A002
        conn, record_type = self.connection(connection), self._record_type(record_type)
        board_map = get_object_or_404(BoardMap.objects.filter(connection=conn, record_type=record_type))
        return Response(_map(board_map))

    @extend_schema(
        summary="Save a record type's board map (checked against the live board)",
        request=MapInput,
        responses=MapSerializer,
    )
    def put(self, request, connection: int, record_type: str, format=None):  # noqa: A002
        conn, record_type = self.connection(connection), self._record_type(record_type)
        body = self.body()
        board_id, columns, labels = body.get("board"), body.get("columns") or {}, body.get("status_labels") or {}
        problems = {}
        if not isinstance(board_id, str | int) or not str(board_id).strip():
            problems["board"] = ["Choose a board: its id, from the boards list."]
        if not isinstance(columns, dict):
            problems["columns"] = ["An object: FreshBooks field -> column id."]
        else:
            fields = {f.key for f in catalogue.fields_for(record_type)}
            for key in sorted(set(columns) - fields):
                problems[f"columns.{key}"] = [f"Not a field of {record_type}s; they are: {', '.join(sorted(fields))}."]
        if not isinstance(labels, dict):
            problems["status_labels"] = ["An object: FreshBooks status -> label."]
        if problems:
            raise ValidationError(problems)
        board_map = (
            BoardMap.objects.filter(connection=conn, record_type=record_type).prefetch_related("columns").first()
        )
        try:
            board = boards.fetch(self.client(conn), str(board_id).strip(), fresh=True)
        except NotFound as exc:
            raise ValidationError({"board": [exc.message]})
        except ProviderError as exc:
            raise ApiError(502, "provider_error", f"Could not read that board from Monday.com: {exc.message}")
        data = {"group": body.get("group") or ""}
        data.update({f"col_{k}": "" if v is None else str(v) for k, v in columns.items()})
        data.update({f"label_{k}": "" if v is None else str(v) for k, v in labels.items()})
        form = BoardMapForm(data, record_type=record_type, board=board, board_map=board_map)
        if not form.is_valid():
            errors = form.errors.get_json_data()
            raise ValidationError({_error_name(k): [e["message"] for e in v] for k, v in errors.items()})
        saved = form.save(conn, actor=request.user)
        return Response(_map(BoardMap.objects.prefetch_related("columns").get(pk=saved.pk)))

    @extend_schema(summary="Stop writing a record type to Monday", responses={204: None})
    def delete(self, request, connection: int, record_type: str, format=None):  # noqa: A002
        conn, record_type = self.connection(connection), self._record_type(record_type)
        deleted, _ = BoardMap.objects.filter(connection=conn, record_type=record_type).delete()
        if not deleted:
            raise ApiError(404, "not_found", f"No board map for {record_type}s.")
        record(
            AuditRecord.Kind.CONNECTION,
            connection=conn,
            actor=request.user,
            message=f"Monday map for {catalogue.RECORD_LABELS[record_type].lower()} removed",
        )
        return Response(status=204)


class BoardList(MondayView):
    @extend_schema(summary="The boards this Monday account can see, by name", responses=BoardSerializer(many=True))
    def get(self, request, connection: int, format=None):  # noqa: A002
        conn = self.connection(connection)
        try:
            found = boards.list_boards(self.client(conn))
        except ProviderError as exc:
            raise ApiError(502, "provider_error", f"Could not read your boards from Monday.com: {exc.message}")
        return Response([{"id": i, "name": n} for i, n in found])


urlpatterns = [
    path("<int:connection>/maps/", MapList.as_view(), name="v1-monday-maps"),
    path("<int:connection>/maps/<slug:record_type>/", MapDetail.as_view(), name="v1-monday-map"),
    path("<int:connection>/boards/", BoardList.as_view(), name="v1-monday-boards"),
]
