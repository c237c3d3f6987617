"""Signals integrations listen to (e.g. FreshBooks registers its webhooks when anything connects)."""

from django.dispatch import Signal

# Sent after a connection becomes active (new, reconnected or resumed). kwargs: connection.
connection_activated = Signal()
