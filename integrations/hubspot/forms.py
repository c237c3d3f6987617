"""HubSpot's schedule, validated and saved the same way from the connection page and the REST API:
real time, or one digest every 1 to 24 hours."""

from __future__ import annotations

from django import forms

from mlconnector.connections import services

MIN_HOURS, MAX_HOURS = 1, 24
DEFAULT_DIGEST_HOURS = 4  # what deliver_at uses for a digest saved without its hours
MODES = [("realtime", "In real time"), ("digest", "In one batch every N hours")]


def current(conn) -> dict:
    """The connection's schedule as {mode, every_hours}; every_hours is None in real time."""
    schedule = (conn.config or {}).get("schedule") or {}
    if schedule.get("mode") == "digest":
        return {"mode": "digest", "every_hours": int(schedule.get("every_hours") or DEFAULT_DIGEST_HOURS)}
    return {"mode": "realtime", "every_hours": None}


class ScheduleForm(forms.Form):
    mode = forms.ChoiceField(
        choices=MODES,
        error_messages={
            "required": "Choose real time or a digest.",
            "invalid_choice": "Choose real time (realtime) or a digest (digest).",
        },
    )
    # A string, checked only for a digest: the page sends its hours box with real time too.
    every_hours = forms.CharField(required=False)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("mode") == "digest":
            hours = (data.get("every_hours") or "").strip()
            if hours.isdigit() and MIN_HOURS <= int(hours) <= MAX_HOURS:
                data["every_hours"] = int(hours)
            else:
                self.add_error(
                    "every_hours", f"A digest runs every {MIN_HOURS} to {MAX_HOURS} hours: give a whole number."
                )
        return data

    def schedule(self) -> dict:
        if self.cleaned_data["mode"] == "digest":
            return {"mode": "digest", "every_hours": self.cleaned_data["every_hours"]}
        return {"mode": "realtime"}

    def save(self, conn, *, actor=None) -> dict:
        schedule = self.schedule()
        message = (
            f"HubSpot schedule: a digest every {schedule['every_hours']} h"
            if schedule["mode"] == "digest"
            else "HubSpot schedule: real time"
        )
        services.update_config(conn, {"schedule": schedule}, actor=actor, message=message)
        return schedule
