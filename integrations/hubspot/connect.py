"""Connecting HubSpot with a private app token and the hub id.

The token is checked before anything is stored: a cheap authenticated read (GET
/account-info/v3/details) must name the hub the person typed, then the FreshBooks property group and
properties are created if absent (which also proves the schema scopes). Connecting the same hub
again replaces the token of the existing connection instead of doubling every record.
Public-app OAuth (30-minute tokens, refresh through the core) is not built yet: see README.md.
"""

from __future__ import annotations

from django.conf import settings

from integrations.hubspot import schema
from integrations.hubspot.client import HubSpotClient
from mlconnector.connections import services
from mlconnector.connections.models import Connection
from mlconnector.http import AuditContext, Forbidden, Rejected

PROVIDER = "hubspot"


def _check_shape(token: str) -> None:
    # Private app tokens start "pat-" (pat-na1-…, pat-eu1-…); the rest of the format is UNCONFIRMED
    # (vendors doc §2.1), so only the prefix is checked.
    if not token.startswith(tuple(settings.HUBSPOT_TOKEN_PREFIXES)):
        raise Rejected(
            "this is not a private app access token. Those start with “pat-” (for example pat-na1-…); "
            "a developer API key, an OAuth token or a client secret will not work here"
        )


def connect_with_token(request, tenant, token: str, reconnect: Connection | None, hub_id: str) -> Connection:
    _check_shape(token)
    actor = request.user
    audit = AuditContext(tenant=tenant, connection=reconnect, actor=actor)
    client = HubSpotClient(None, token=token, hub_id=hub_id, audit=audit)
    details = client.account_details()
    portal = str(details["portalId"])
    if portal != str(hub_id):
        raise Rejected(
            f"this token belongs to hub {portal}, not hub {hub_id}. "
            f"Check the hub id, or use a token made in hub {hub_id}"
        )
    if reconnect is not None and reconnect.external_account_id and reconnect.external_account_id != portal:
        raise Rejected(
            f"this token belongs to hub {portal}, but this connection writes to hub {reconnect.external_account_id}"
        )
    client.time_zone = details.get("timeZone") or "UTC"
    try:
        made = schema.ensure(client, schema.CORE_TYPES, audit)
    except Forbidden as exc:
        missing = ((getattr(exc, "body", None) or {}).get("context") or {}).get("missingScopes") or []
        needed = ", ".join(missing) or "crm.schemas.contacts.write, crm.schemas.companies.write"
        raise Forbidden(
            "the private app cannot create ml-connector's FreshBooks properties: "
            f"add the scope {needed} and paste its new token"
        ) from None
    name = f"HubSpot hub {portal}"
    config = {
        "time_zone": details.get("timeZone") or "UTC",
        "currency": details.get("companyCurrency") or "",
        "schema": {str(schema.VERSION): sorted(schema.CORE_TYPES)},
    }
    credentials = {"access_token": token, "kind": "private_app"}
    existing = reconnect or (
        Connection.objects.for_tenant(tenant)
        .filter(provider=PROVIDER, external_account_id=portal)
        .exclude(status=Connection.Status.DISCONNECTED)
        .first()
    )
    if existing is not None:
        conn = services.store_credentials(
            existing, credentials, actor=actor, message="reconnected: new HubSpot private app token"
        )
        services.update_config(conn, config, actor=actor, message=f"HubSpot hub {portal} confirmed")
    else:
        conn = services.create_connection(
            tenant=tenant,
            provider=PROVIDER,
            actor=actor,
            name=name,
            credentials=credentials,
            config=config | {"schedule": {"mode": "realtime"}},
            external_account_id=portal,
        )
    if made:
        services.update_config(conn, {}, actor=actor, message="created in HubSpot: " + ", ".join(made))
    services.set_status(conn, Connection.Status.ACTIVE, actor=actor, reason=f"connected to hub {portal}")
    return conn
