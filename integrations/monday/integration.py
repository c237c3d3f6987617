"""Monday.com: FreshBooks records become items on boards, typed by the tenant's column maps."""

from __future__ import annotations

from mlconnector.contract import Integration


class Monday(Integration):
    provider = "monday"
    label = "Monday.com"
    auth_kind = "oauth2"
    sync_handlers = {}

    def client(self, audit=None):
        from integrations.monday.client import MondayClient

        return MondayClient(self.connection, audit=audit)

    def check(self, audit=None) -> str:
        raise NotImplementedError
