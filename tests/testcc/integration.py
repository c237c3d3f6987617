"""A target authenticated by the client credentials grant, used only by the tests (Salesforce
will be the first real one): no refresh token, a new access token from the stored key and secret."""

from __future__ import annotations

from django.conf import settings

from mlconnector.contract import Integration, SyncResult
from mlconnector.http import ClientCredentialsClient, Unauthorized, default_classify


class CCClient(ClientCredentialsClient):
    provider = "testcc"

    @property
    def base_url(self) -> str:
        return settings.MLCONNECTOR_SANDBOX_URL + "/testcc"

    def token_url(self) -> str:
        return self.base_url + "/oauth2/token"

    def keep_from_token(self, token: dict) -> dict:
        return {"access_token": token["access_token"], "instance_url": token.get("instance_url", "")}

    def classify(self, response, data) -> None:
        if response.status_code == 401:  # Salesforce-style: [{"errorCode": "INVALID_SESSION_ID", ...}]
            code = data[0].get("errorCode", "") if isinstance(data, list) and data else ""
            raise Unauthorized("session expired or invalid", status=401, code=code)
        default_classify(response)


class TestCC(Integration):
    provider = "testcc"
    label = "Test client-credentials target"
    auth_kind = "token"
    listed = False
    sync_handlers = {"freshbooks": {"invoice.create": "write"}}

    def client(self, audit=None):
        return CCClient(self.connection, audit=audit)

    def check(self, audit=None) -> str:
        return str(self.client(audit).get("/ping")["who"])

    def write(self, event, delivery, audit) -> SyncResult:
        data = self.client(audit).get("/ping")
        return SyncResult(remote_id=str(data["who"]), message="pinged")
