"""Connecting a Salesforce org: consumer key and secret of a connected app (or External Client App)
with the client credentials flow enabled, on the org's My Domain. Everything is checked with
Salesforce before anything is stored: a token, the API versions (the newest is pinned to the
connection), the daily limits (an org or user without API access is refused here), the org's name,
its fields and stages. A refusal says what to fix, and stores nothing."""

from __future__ import annotations

from integrations.salesforce import org as orgmod
from integrations.salesforce.client import SalesforceClient, remember_usage
from mlconnector.connections import services
from mlconnector.connections.models import Connection
from mlconnector.connections.oauth import client_credentials_token
from mlconnector.http import AuditContext, Forbidden, ProviderError, RateLimited, Unauthorized, Unavailable

PROVIDER = "salesforce"


class ConnectRefused(Exception):
    """What the person must fix, in words; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


def newest_version(versions: list[dict]) -> str:
    numbers = [str(v.get("version")) for v in versions if v.get("version")]
    if not numbers:
        raise ConnectRefused("Salesforce listed no API versions for this org.")
    return max(numbers, key=float)


def _token(my_domain: str, key: str, secret: str, audit: AuditContext) -> dict:
    client = SalesforceClient(None, my_domain=my_domain, audit=audit)
    try:
        return client_credentials_token(
            client.token_url(), key, secret, audit, provider=PROVIDER, auth_method=client.token_auth_method
        )
    except Unauthorized as exc:
        text = exc.message
        if "invalid_client_id" in text:
            raise ConnectRefused(
                "Salesforce does not know this consumer key in this org. Copy it again from the connected app "
                "(Setup → App Manager → your app → View → Manage Consumer Details), and check the My Domain is "
                "the org the app belongs to.",
                "consumer_key",
            ) from None
        if "invalid_client" in text:
            raise ConnectRefused(
                "Salesforce did not accept the consumer secret for this consumer key. Copy the secret again "
                "(Manage Consumer Details), or regenerate it there.",
                "consumer_secret",
            ) from None
        if "invalid_grant" in text:
            raise ConnectRefused(
                "Salesforce refused the client credentials flow for this app (invalid_grant). In the connected "
                "app's policies, turn on “Enable Client Credentials Flow” and choose a “Run As” user who has "
                "the API Enabled permission; this also happens when the address is not the org's My Domain.",
            ) from None
        raise ConnectRefused(f"Salesforce refused the consumer key and secret: {text}") from None
    except Unavailable:
        raise ConnectRefused(
            f"Nothing answered as a Salesforce org at {my_domain}. Check the My Domain in Salesforce under Setup → "
            "My Domain.",
            "my_domain",
        ) from None


def probe(my_domain: str, key: str, secret: str, audit: AuditContext, config: dict | None = None) -> dict:
    """Every check, before anything is stored; returns what to store."""
    token = _token(my_domain, key, secret, audit)
    client = SalesforceClient(
        None,
        my_domain=my_domain,
        instance_url=token.get("instance_url") or my_domain,
        access_token=token["access_token"],
        audit=audit,
    )
    try:
        client.version = newest_version(client.versions())
        limits = client.limits()
        org = next(iter(client.query("SELECT Id, Name, IsSandbox FROM Organization")), {})
        found = orgmod.inspect(client, orgmod.fields_from(config or {}))
    except Forbidden as exc:
        if exc.code in ("API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED", "API_DISABLED_FOR_USER"):
            raise ConnectRefused(
                f"Salesforce says: “{exc.message}” ({exc.code}). ml-connector needs the REST API: it comes with "
                "the Enterprise, Unlimited, Performance and Developer editions (Professional only with the API "
                "add-on), and the connected app's Run As user needs the “API Enabled” permission."
            ) from None
        raise ConnectRefused(f"Salesforce refused: {exc.message}") from None
    except RateLimited as exc:
        raise ConnectRefused(f"{exc.message}. Try again once the org's API allowance frees up.") from None
    except ProviderError as exc:
        raise ConnectRefused(f"Salesforce answered with an error while checking the org: {exc}") from None
    found.pop("_present", None)
    daily = limits.get("DailyApiRequests") or {}
    org_id = str(org.get("Id") or _org_from_identity(token.get("id", "")))
    return {
        "usage": client.last_usage,
        "token": token,
        "org_id": org_id,
        "org_name": str(org.get("Name") or my_domain),
        "config": {
            **found,
            "my_domain": my_domain,
            "api_version": client.version,
            "is_sandbox": bool(org.get("IsSandbox")),
            "daily_limit": daily.get("Max"),
        },
    }


def _org_from_identity(identity_url: str) -> str:
    # https://<host>/id/<org id>/<user id>
    parts = identity_url.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else ""


def connect(tenant, *, my_domain: str, key: str, secret: str, actor, reconnect: Connection | None) -> Connection:
    audit = AuditContext(tenant=tenant, connection=reconnect, actor=actor)
    found = probe(my_domain, key, secret, audit, config=dict(reconnect.config or {}) if reconnect else None)
    org_id, name = found["org_id"], found["org_name"]
    if reconnect is not None and reconnect.external_account_id and reconnect.external_account_id != org_id:
        raise ConnectRefused(
            f"These credentials belong to another Salesforce org ({name}) than this connection "
            f"({reconnect.name or reconnect.external_account_id}).",
            "my_domain",
        )
    existing = reconnect or (
        Connection.objects.for_tenant(tenant)
        .filter(provider=PROVIDER, external_account_id=org_id)
        .exclude(status=Connection.Status.DISCONNECTED)
        .first()
    )
    credentials = {
        "client_id": key,
        "client_secret": secret,
        "access_token": found["token"]["access_token"],
        "instance_url": found["token"].get("instance_url") or my_domain,
    }
    if existing is not None:
        conn = services.store_credentials(
            existing, credentials, actor=actor, message="reconnected: new consumer key and secret"
        )
        services.update_config(
            conn, found["config"], actor=actor, message=f"Salesforce org checked: API v{found['config']['api_version']}"
        )
        Connection.objects.filter(pk=conn.pk).update(external_account_id=org_id, name=name)
        conn.external_account_id, conn.name = org_id, name
    else:
        conn = services.create_connection(
            tenant=tenant,
            provider=PROVIDER,
            actor=actor,
            name=name,
            credentials=credentials,
            config=found["config"],
            external_account_id=org_id,
        )
    if found["usage"]:
        remember_usage(conn.pk, found["usage"])
    services.set_status(conn, Connection.Status.ACTIVE, actor=actor, reason=f"connected to {name} ({my_domain})")
    return conn
