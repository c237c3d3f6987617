"""The API tokens page: a person makes tokens for scripts (shown once) and revokes them.

A token acts in the tenant it was made in, as its maker, with the maker's role there at each call:
anyone in a tenant may make one, and a viewer's token reads only.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from mlconnector.api import tokens
from mlconnector.api.models import ApiToken
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record

EXPIRY_CHOICES = [("", "Never"), ("7", "In 7 days"), ("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year")]


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What uses it, e.g. “nightly replay script”. Its changes are audited under this name.",
        error_messages={"required": "Name the token, so you know what uses it."},
    )
    expires = forms.ChoiceField(label="Expires", choices=EXPIRY_CHOICES, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["aria-describedby"] = "id_name_help"


def _page(request, form=None, created=None, plaintext="", status=200):
    rows = ApiToken.objects.filter(user=request.user, tenant=request.tenant) if request.tenant else []
    return render(
        request,
        "api/tokens.html",
        {"form": form or ApiTokenForm(), "tokens": rows, "created": created, "plaintext": plaintext},
        status=status,
    )


@login_required
def token_list(request):
    if request.method != "POST":
        return _page(request)
    if request.tenant is None:
        return _page(request, status=400)
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    days = form.cleaned_data["expires"]
    row, plaintext = tokens.issue(
        user=request.user,
        tenant=request.tenant,
        name=form.cleaned_data["name"],
        expires_at=timezone.now() + timedelta(days=int(days)) if days else None,
    )
    record(
        AuditRecord.Kind.API,
        tenant=request.tenant,
        actor=request.user,
        message=f"API token “{row.name}” ({row.prefix}…) created by {request.user.get_username()}",
    )
    # Shown in this answer only (never stored, never redirected through a session).
    response = _page(request, created=row, plaintext=plaintext, status=201)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, pk: int):
    # Only one's own tokens: another person's (or another tenant's) is a 404.
    row = get_object_or_404(ApiToken.objects.filter(user=request.user), pk=pk)
    if tokens.revoke(row):
        record(
            AuditRecord.Kind.API,
            tenant=row.tenant,
            actor=request.user,
            message=f"API token “{row.name}” ({row.prefix}…) revoked by {request.user.get_username()}",
        )
        messages.success(request, f"Token “{row.name}” revoked: calls made with it are refused from now on.")
    else:
        messages.info(request, f"Token “{row.name}” was already revoked.")
    return redirect("api-tokens")
