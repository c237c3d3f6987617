"""Slack: FreshBooks events become messages in the channels the tenant's routing rules choose."""

from __future__ import annotations

from mlconnector.contract import Integration


class Slack(Integration):
    provider = "slack"
    label = "Slack"
    auth_kind = "oauth2"
    sync_handlers = {}

    def client(self, audit=None):
        from integrations.slack.client import SlackClient

        return SlackClient(self.connection, audit=audit)

    def check(self, audit=None) -> str:
        raise NotImplementedError
