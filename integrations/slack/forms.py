"""The routing-rule form: plain-words validation, next to the field it is about."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms

from integrations.slack.models import EVENT_CHOICES, RoutingRule


class RoutingRuleForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        label="When",
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event type."},
    )
    comparison = forms.ChoiceField(
        label="Amount",
        choices=[("", "any amount"), *RoutingRule.Comparison.choices],
        required=False,
    )
    threshold = forms.DecimalField(
        label="Threshold",
        required=False,
        max_digits=18,
        decimal_places=2,
        help_text="In the record's own currency.",
        error_messages={"invalid": "Enter an amount such as 5000 or 5000.00."},
    )
    exclude_categories = forms.CharField(
        label="Skip expense categories",
        required=False,
        help_text="Comma-separated, e.g. Internal, Travel.",
    )
    channel = forms.ChoiceField(label="Post to channel")
    currency = forms.CharField(
        label="Only in currency",
        required=False,
        max_length=20,
        help_text="Three letters, e.g. USD. Leave empty for any currency.",
    )

    class Meta:
        model = RoutingRule
        fields = ["name", "enabled", "event_types", "comparison", "threshold", "currency", "counterparty"]
        labels = {"name": "Rule name", "currency": "Only in currency", "counterparty": "Only for client or vendor"}
        help_texts = {"counterparty": "As named in FreshBooks; capitals do not matter. Leave empty for everyone."}

    def __init__(self, *args, channels: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.channels = {c["id"]: c for c in channels}
        self.fields["channel"].choices = [("", "Choose a channel…")] + [
            (c["id"], f"#{c['name']}" + (" (private)" if c.get("is_private") else "")) for c in channels
        ]
        self.fields["channel"].error_messages["invalid_choice"] = (
            "That channel is not in your Slack workspace's list. Refresh the channel list, or pick another."
        )
        self.fields["channel"].error_messages["required"] = "Choose the channel to post to."
        if self.instance.pk:
            self.initial.setdefault("channel", self.instance.channel_id)
            self.initial.setdefault("exclude_categories", ", ".join(self.instance.exclude_categories or []))
            if self.instance.channel_id and self.instance.channel_id not in self.channels:
                # Keep a rule's current channel selectable even if the list has not been refreshed.
                self.fields["channel"].choices.append(
                    (self.instance.channel_id, f"#{self.instance.channel_name} (not in the current list)")
                )
                self.channels[self.instance.channel_id] = {
                    "id": self.instance.channel_id,
                    "name": self.instance.channel_name,
                }

    def clean_threshold(self):
        value = self.cleaned_data.get("threshold")
        if value is not None and value < Decimal("0"):
            raise forms.ValidationError("The threshold cannot be negative.")
        return value

    def clean_currency(self):
        value = (self.cleaned_data.get("currency") or "").strip().upper()
        if value and not re.fullmatch(r"[A-Z]{3}", value):
            raise forms.ValidationError("Use a three-letter currency code such as USD, or leave it empty.")
        return value

    def clean_exclude_categories(self):
        raw = self.cleaned_data.get("exclude_categories") or ""
        names = [part.strip() for part in raw.split(",") if part.strip()]
        if any(len(n) > 100 for n in names):
            raise forms.ValidationError("A category name is at most 100 characters.")
        return names

    def clean(self):
        data = super().clean()
        comparison, threshold = data.get("comparison"), data.get("threshold")
        if comparison and threshold is None and "threshold" not in self.errors:
            self.add_error("threshold", "Enter the amount to compare with.")
        if threshold is not None and not comparison:
            self.add_error("comparison", "Choose at least, above or below for this amount.")
        return data

    def save(self, commit=True):
        rule = super().save(commit=False)
        channel = self.channels[self.cleaned_data["channel"]]
        rule.channel_id, rule.channel_name = channel["id"], channel["name"]
        rule.exclude_categories = self.cleaned_data["exclude_categories"]
        if not rule.comparison:
            rule.threshold = None
        if commit:
            rule.save()
        return rule
