"""The forms of the GoCardless pages: connect (token + environment) and the connection's settings."""

from __future__ import annotations

from django import forms

from mlconnector.audit.redaction import remember_secrets

ENVIRONMENT_CHOICES = [("sandbox", "Sandbox (test money)"), ("live", "Live (real money)")]


class ConnectForm(forms.Form):
    environment = forms.ChoiceField(
        label="Environment",
        choices=ENVIRONMENT_CHOICES,
        initial="sandbox",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the environment the token was made in."},
    )
    token = forms.CharField(
        label="Access token",
        strip=True,
        max_length=4000,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={"required": "Paste the GoCardless access token here."},
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        if any(c.isspace() for c in token):
            raise forms.ValidationError("The token has spaces or line breaks in it; copy it again, on its own.")
        if len(token) < 16:
            raise forms.ValidationError("That is too short to be a GoCardless access token; copy the whole token.")
        remember_secrets({"token": token})
        return token


class SettingsForm(forms.Form):
    webhook_secret = forms.CharField(
        label="Webhook endpoint secret",
        required=False,
        strip=True,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=(
            "From GoCardless: Developers → Webhook endpoints → your endpoint → Secret. "
            "Leave empty to keep the one saved."
        ),
    )
    fees_category = forms.CharField(
        label="FreshBooks expense category for GoCardless fees",
        max_length=100,
        error_messages={"required": "Name the FreshBooks expense category the fees go to."},
    )

    alerts_channel = forms.CharField(
        label="Slack channel for payments that need a person",
        required=False,
        max_length=80,
        help_text="E.g. #accounting. Flagged, failed and charged-back payments are posted there (Slack connected).",
    )

    def clean_alerts_channel(self) -> str:
        channel = self.cleaned_data["alerts_channel"].strip()
        if channel and (" " in channel or len(channel) < 2):
            raise forms.ValidationError("Name one channel, e.g. #accounting.")
        return channel

    def clean_webhook_secret(self) -> str:
        secret = self.cleaned_data["webhook_secret"]
        if secret and any(c.isspace() for c in secret):
            raise forms.ValidationError("The secret has spaces in it; copy it again, on its own.")
        if secret:
            remember_secrets({"webhook_secret": secret})
        return secret

    def save(self, conn, *, actor=None) -> list[str]:
        """Store what the form holds (the secret only when one was typed); the names of what changed."""
        from mlconnector.connections import services
        from mlconnector.webhooks import endpoints

        changed = []
        secret = self.cleaned_data.get("webhook_secret") or ""
        if secret:
            services.store_credentials(
                conn,
                {**conn.secrets(), "webhook_secret": secret},
                expires_at=None,
                actor=actor,
                message="webhook endpoint secret saved",
            )
            changed.append("webhook_secret")
        config = conn.config or {}
        values = {k: self.cleaned_data[k] for k in ("fees_category", "alerts_channel")}
        changed += [k for k, v in values.items() if config.get(k, "") != v]
        services.update_config(conn, {**config, **values}, actor=actor, message="GoCardless settings saved")
        endpoints.forget("gocardless", conn.endpoint_key)  # the receiver's cached view of this endpoint
        return changed
