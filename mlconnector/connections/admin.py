from django import forms
from django.contrib import admin, messages

from mlconnector.admin_site import TenantScopedAdmin, admin_site, is_tenant_admin
from mlconnector.connections import services
from mlconnector.connections.models import Connection
from mlconnector.contract import registry
from mlconnector.http import AuditContext, ProviderError


class ConnectionForm(forms.ModelForm):
    provider = forms.ChoiceField(choices=())

    class Meta:
        model = Connection
        fields = ["tenant", "provider", "name", "config"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = registry.choices()


@admin.register(Connection, site=admin_site)
class ConnectionAdmin(TenantScopedAdmin):
    form = ConnectionForm
    list_display = ["__str__", "tenant", "provider", "status", "last_success_at", "last_error_at"]
    list_filter = ["provider", "status", ("tenant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "external_account_id", "provider"]
    readonly_fields = [
        "status",
        "external_account_id",
        "endpoint_key",
        "token_expires_at",
        "last_error",
        "last_error_at",
        "last_success_at",
        "status_changed_at",
        "created_at",
        "updated_at",
    ]
    export_fields = [
        "id",
        "tenant__name",
        "provider",
        "name",
        "status",
        "external_account_id",
        "last_success_at",
        "last_error_at",
        "last_error",
    ]
    actions = [*TenantScopedAdmin.actions, "test_connections", "pause", "resume"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            from mlconnector.audit.models import AuditRecord
            from mlconnector.audit.recording import record

            record(
                AuditRecord.Kind.CONNECTION,
                connection=obj,
                actor=request.user,
                message=f"edited in admin: {', '.join(form.changed_data)}",
            )

    @admin.action(description="Test connection")
    def test_connections(self, request, queryset):
        for conn in queryset:
            try:
                result = conn.integration.check(AuditContext(tenant=conn.tenant, connection=conn, actor=request.user))
            except ProviderError as exc:
                services.note_error(conn, str(exc))
                self.message_user(request, f"{conn}: test failed: {exc}", messages.ERROR)
            else:
                services.note_success(conn)
                self.message_user(request, f"{conn}: {result}", messages.SUCCESS)

    def _set(self, request, queryset, status, verb):
        done = 0
        for conn in queryset:
            if is_tenant_admin(request.user, conn.tenant_id) and conn.status != status:
                services.set_status(conn, status, actor=request.user, reason=f"{verb} in admin")
                done += 1
        self.message_user(request, f"{done} connection(s) {verb}.")

    @admin.action(description="Pause (hold deliveries)")
    def pause(self, request, queryset):
        self._set(request, queryset.filter(status=Connection.Status.ACTIVE), Connection.Status.PAUSED, "paused")

    @admin.action(description="Resume (drain held deliveries)")
    def resume(self, request, queryset):
        self._set(request, queryset.filter(status=Connection.Status.PAUSED), Connection.Status.ACTIVE, "resumed")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not is_tenant_admin(request.user):
            for name in ("pause", "resume"):
                actions.pop(name, None)
        return actions
