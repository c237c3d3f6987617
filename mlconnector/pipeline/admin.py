from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from mlconnector.admin_site import TenantScopedAdmin, admin_site, is_tenant_admin
from mlconnector.pipeline.models import Delivery, RecordLink
from mlconnector.pipeline.replay import REPLAYABLE, replay_deliveries


@admin.register(Delivery, site=admin_site)
class DeliveryAdmin(TenantScopedAdmin):
    editable = False
    list_display = [
        "id",
        "event_type",
        "provider",
        "status",
        "attempts",
        "next_attempt_at",
        "remote_id",
        "tenant",
        "created_at",
    ]
    list_filter = ["status", "provider", "event_type", ("tenant", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "created_at"
    # The invoice number and the error text are encrypted: search by ids (the audit log searches by words).
    search_fields = ["event__object_id", "remote_id"]
    list_select_related = ["tenant", "event"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    export_fields = [
        "id",
        "tenant__name",
        "provider",
        "event_type",
        "status",
        "attempts",
        "remote_id",
        "last_error",
        "created_at",
        "succeeded_at",
    ]
    actions = [*TenantScopedAdmin.actions, "replay"]
    change_form_template = "admin/pipeline/delivery/change_form.html"

    def get_urls(self):
        return [
            path("<int:pk>/replay/", self.admin_site.admin_view(self.replay_one), name="pipeline_delivery_replay"),
            *super().get_urls(),
        ]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not is_tenant_admin(request.user):
            actions.pop("replay", None)
        return actions

    def replay_one(self, request, pk: int):
        delivery = get_object_or_404(self.get_queryset(request), pk=pk)
        url = reverse("admin:pipeline_delivery_change", args=[pk])
        if request.method != "POST" or not is_tenant_admin(request.user, delivery.tenant_id):
            self.message_user(request, "Only an admin of this tenant can replay, with the button.", messages.ERROR)
            return HttpResponseRedirect(url)
        result = replay_deliveries(
            self.get_queryset(request).filter(pk=pk), actor=request.user, resend=request.POST.get("resend") == "1"
        )
        self.message_user(request, result.summary())
        return HttpResponseRedirect(url)

    @admin.action(description="Replay selected deliveries…")
    def replay(self, request, queryset):
        queryset = queryset.filter(tenant__in=[t for t in _admin_tenant_ids(request)])
        if request.POST.get("confirm") == "yes":
            result = replay_deliveries(queryset, actor=request.user, resend=request.POST.get("resend") == "1")
            self.message_user(request, result.summary())
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Replay deliveries",
            "opts": self.model._meta,
            "queryset": queryset,
            "total": queryset.count(),
            "replayable": queryset.filter(status__in=REPLAYABLE).count(),
            "succeeded": queryset.filter(status=Delivery.Status.SUCCEEDED).count(),
            "running": queryset.filter(status=Delivery.Status.RUNNING).count(),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across"),
        }
        return TemplateResponse(request, "admin/pipeline/replay_confirm.html", context)


def _admin_tenant_ids(request):
    from mlconnector.admin_site import admin_tenants

    return admin_tenants(request.user).values_list("pk", flat=True)


@admin.register(RecordLink, site=admin_site)
class RecordLinkAdmin(TenantScopedAdmin):
    editable = False
    list_display = ["source_type", "source_id", "remote_type", "remote_id", "connection", "updated_at"]
    list_filter = ["source_type", "remote_type", ("tenant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["source_id", "remote_id"]
    readonly_fields = [f.name for f in RecordLink._meta.fields]


def delivery_link(delivery):
    if delivery is None:
        return "—"
    url = reverse("admin:pipeline_delivery_change", args=[delivery.pk])
    return format_html('<a href="{}">{}</a>', url, delivery)


from mlconnector.pipeline import queue_admin  # noqa: E402,F401 - registers django-q2's models for superusers
