"""The connect form (consumer key and secret, My Domain) and the connection's settings."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms

from integrations.salesforce import domain
from integrations.salesforce import org as orgmod
from mlconnector.audit.redaction import remember_secrets
from mlconnector.connections import services
from mlconnector.http import AuditContext, ProviderError

API_NAME = orgmod.API_NAME


class ConnectForm(forms.Form):
    my_domain = forms.CharField(
        label="My Domain",
        max_length=200,
        help_text="Your org's address for the API, such as https://yourcompany.my.salesforce.com (a sandbox: "
        "https://yourcompany--uat.sandbox.my.salesforce.com). Setup → My Domain shows it.",
        error_messages={"required": "Enter your org's My Domain."},
        widget=forms.TextInput(attrs={"autocomplete": "url", "spellcheck": "false", "inputmode": "url"}),
    )
    consumer_key = forms.CharField(
        label="Consumer key",
        max_length=300,
        help_text="From the connected app with the client credentials flow enabled: Setup → App Manager → the app "
        "→ View → Manage Consumer Details.",
        error_messages={"required": "Paste the connected app's consumer key."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    consumer_secret = forms.CharField(
        label="Consumer secret",
        max_length=300,
        help_text="Shown next to the key. Stored encrypted, never shown again.",
        error_messages={"required": "Paste the connected app's consumer secret."},
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_my_domain(self) -> str:
        try:
            return domain.normalise(self.cleaned_data["my_domain"])
        except domain.BadDomain as exc:
            raise forms.ValidationError(str(exc)) from None

    def _no_spaces(self, name: str, what: str) -> str:
        value = self.cleaned_data[name].strip()
        if any(c.isspace() for c in value):
            raise forms.ValidationError(f"The {what} has spaces or line breaks in it; copy it again, on its own.")
        return value

    def clean_consumer_key(self) -> str:
        return self._no_spaces("consumer_key", "consumer key")

    def clean_consumer_secret(self) -> str:
        secret = self._no_spaces("consumer_secret", "consumer secret")
        remember_secrets({"client_secret": secret})
        return secret


@dataclass(frozen=True)
class SavedSettings:
    changes: dict  # field -> its new value; empty when nothing changed
    problem: str  # why the org's fields could not be re-read after saving, if they could not


class SettingsForm(forms.Form):
    account_external_field = forms.CharField(
        label="Account external-id field",
        max_length=80,
        help_text="The API name of the Account field holding the FreshBooks client id (Text, External ID, Unique).",
    )
    opportunity_external_field = forms.CharField(
        label="Opportunity external-id field",
        max_length=80,
        help_text="The API name of the Opportunity field holding the FreshBooks invoice id "
        "(Text, External ID, Unique).",
    )
    open_stage = forms.ChoiceField(
        label="Stage of an unpaid invoice's Opportunity",
        help_text="Paid invoices move to the org's won stage, found by itself.",
    )
    paid_field = forms.CharField(
        label="“Paid so far” field",
        max_length=80,
        help_text="A Currency field on Opportunity, filled when it exists.",
    )
    invoice_match_field = forms.CharField(
        label="Invoice field holding the FreshBooks invoice id",
        max_length=80,
        required=False,
        help_text="Order Management only: the API name of the field on Salesforce's Invoice whose value is the "
        "FreshBooks invoice id (Text, External ID). The Invoice with that value is linked to the Opportunity.",
    )
    invoice_lookup_field = forms.CharField(
        label="Opportunity's Invoice lookup field",
        max_length=80,
        required=False,
        help_text="Order Management only: the API name of the Lookup(Invoice) field on Opportunity that "
        "ml-connector fills with the linked Invoice.",
    )

    def __init__(self, *args, conn, read_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        f = orgmod.fields(conn)
        stages = list((conn.config or {}).get("open_stages") or [])
        if f.open_stage not in stages:
            stages.insert(0, f.open_stage)
        self.fields["open_stage"].choices = [(s, s) for s in stages]
        self.initial = {
            "account_external_field": f.account,
            "opportunity_external_field": f.invoice,
            "open_stage": f.open_stage,
            "paid_field": f.paid,
            "invoice_match_field": f.invoice_match,
            "invoice_lookup_field": f.invoice_lookup,
        }
        if read_only:
            for field in self.fields.values():
                field.disabled = True

    def _api_name(self, name: str) -> str:
        value = self.cleaned_data[name].strip()
        if not API_NAME.match(value):
            raise forms.ValidationError(
                f"“{value}” is not a custom field's API name: it starts with a letter, has only letters, digits and "
                "underscores, and ends in __c (for example FreshBooks_Client_Id__c)."
            )
        return value

    def clean_account_external_field(self) -> str:
        return self._api_name("account_external_field")

    def clean_opportunity_external_field(self) -> str:
        return self._api_name("opportunity_external_field")

    def clean_paid_field(self) -> str:
        return self._api_name("paid_field")

    # Left empty (or posted by a page from before these fields existed): the default name.
    def clean_invoice_match_field(self) -> str:
        if not self.cleaned_data["invoice_match_field"].strip():
            return orgmod.DEFAULT_INVOICE_MATCH_FIELD
        return self._api_name("invoice_match_field")

    def clean_invoice_lookup_field(self) -> str:
        if not self.cleaned_data["invoice_lookup_field"].strip():
            return orgmod.DEFAULT_INVOICE_LOOKUP_FIELD
        return self._api_name("invoice_lookup_field")

    def save(self, conn, *, actor=None) -> SavedSettings:
        """Keep what changed, then re-read the org's fields and stages for the new names (a network call,
        made after the change is stored and outside any transaction)."""
        changes = {k: v for k, v in self.cleaned_data.items() if v != self.initial.get(k)}
        if not changes:
            return SavedSettings({}, "")
        services.update_config(
            conn,
            changes,
            actor=actor,
            message="Salesforce settings changed: " + ", ".join(f"{k} = {v}" for k, v in sorted(changes.items())),
        )
        audit = AuditContext(tenant=conn.tenant, connection=conn, actor=actor)
        try:
            orgmod.refresh(conn, conn.integration.client(audit), actor=actor)
        except ProviderError as exc:
            return SavedSettings(changes, exc.message)
        return SavedSettings(changes, "")
