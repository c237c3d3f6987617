"""Connect with an API token: the generic form for every provider that accepts a pasted token.

An Integration opts in with `token_form = True`, a `token_form_help` sentence or two (where to
find the token), and a classmethod `connect_with_token(request, tenant, token, reconnect)` that
checks the token with the provider (a ping) and only then stores it, returning the Connection;
it raises ProviderError when the provider refuses the token. Optionally `after_token_connect(conn)`
names the page to go to next, and `token_form_account` names an account id asked for beside the token
(HubSpot's hub id), passed on as `account=`; `token_form_label` renames the token field. Admins only;
`?connection=<pk>` replaces the token of an existing connection. The token is never echoed back into
the page, a log line or an audit row.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.audit.redaction import remember_secrets
from mlconnector.connections.models import Connection
from mlconnector.contract import UnknownProvider, registry
from mlconnector.http import Forbidden, ProviderError, RateLimited, Unauthorized, Unavailable
from mlconnector.tenants.models import can_edit


class TokenForm(forms.Form):
    token = forms.CharField(
        label="API token",
        strip=True,
        max_length=4000,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={"required": "Paste the API token here."},
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        if any(c.isspace() for c in token):
            raise forms.ValidationError("The token has spaces or line breaks in it; copy it again, on its own.")
        if len(token) < 16:
            raise forms.ValidationError("That is too short to be an API token; copy the whole token.")
        remember_secrets({"token": token})
        return token


class TokenAndAccountForm(TokenForm):
    account = forms.CharField(
        strip=True,
        max_length=32,
        error_messages={"required": "Enter the account id that goes with this token."},
    )

    def clean_account(self) -> str:
        account = self.cleaned_data["account"]
        if not account.isdigit():
            raise forms.ValidationError("Use the number only (digits, no spaces).")
        return account


def _provider(provider: str):
    try:
        integration = registry.get(provider)
    except UnknownProvider:
        raise Http404("No such provider") from None
    if not getattr(integration, "token_form", False):
        raise Http404("This provider does not connect with a token.")
    return integration


def _refusal(integration, exc: ProviderError) -> str:
    """What the person can do about a refused token, in plain words (never the token itself)."""
    label = integration.label
    if isinstance(exc, Unauthorized):
        return (
            f"{label} did not accept this token. Check that you copied all of it and that it has not been regenerated."
        )
    if isinstance(exc, Forbidden):
        return f"{label} accepted the token but this user may not read the account: {exc.message}"
    if isinstance(exc, (Unavailable, RateLimited)):
        return f"Could not reach {label} to check the token ({exc.message}). Nothing was saved; please try again."
    return f"{label} refused the token: {exc.message}"


@login_required
def connect_with_token(request, provider: str):
    integration = _provider(provider)
    tenant = request.tenant
    if tenant is None or not can_edit(request.user, tenant):
        raise PermissionDenied("Only an admin of this tenant can connect providers.")
    reconnect = None
    if request.GET.get("connection"):
        reconnect = get_object_or_404(
            Connection.objects.for_user(request.user).filter(provider=provider), pk=request.GET["connection"]
        )
        if not can_edit(request.user, reconnect.tenant):
            raise PermissionDenied("Only an admin of this tenant can change its connections.")
        tenant = reconnect.tenant
    account_label = getattr(integration, "token_form_account", "")
    initial = {"account": reconnect.external_account_id} if reconnect and account_label else None
    form = (TokenAndAccountForm if account_label else TokenForm)(request.POST or None, initial=initial)
    form.fields["token"].label = getattr(integration, "token_form_label", "") or form.fields["token"].label
    if account_label:
        form.fields["account"].label = account_label
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                extra = {"account": form.cleaned_data["account"]} if account_label else {}
                conn = integration.connect_with_token(request, tenant, form.cleaned_data["token"], reconnect, **extra)
            except ProviderError as exc:
                form.add_error("token", _refusal(integration, exc))
                record(
                    AuditRecord.Kind.CONNECTION,
                    tenant=tenant,
                    connection=reconnect,
                    provider=provider,
                    actor=request.user,
                    outcome=AuditRecord.Outcome.ERROR,
                    message=f"token refused: {exc}",
                )
            else:
                messages.success(request, f"{integration.label} connected: {conn.name or conn}.")
                after = getattr(integration, "after_token_connect", None)
                return redirect(after(conn) if after else "home")
        status = 400
    form.fields["token"].widget.render_value = False  # a refused token is not sent back to the browser
    return render(
        request,
        "connections/token_form.html",
        {
            "form": form,
            "label": integration.label,
            "help": getattr(integration, "token_form_help", ""),
            "reconnect": reconnect,
            "oauth": bool(integration.oauth_module),
            "provider": provider,
            "account_help": getattr(integration, "token_form_account_help", ""),
        },
        status=status,
    )
