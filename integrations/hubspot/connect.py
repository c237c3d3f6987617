"""Connecting HubSpot: a private app token and the hub id, or sign-in to a public app (OAuth, oauth.py).

Either way the access token is checked before anything is stored (`connect_hub`): a cheap
authenticated read (GET /account-info/v3/details) names the hub (it must be the one the person typed
for a private app, the one HubSpot's token answer named for OAuth, and the connection's own hub on a
reconnect), then the FreshBooks property group and properties are created if absent (which also
proves the schema scopes). Connecting the same hub again replaces the credentials of the existing
connection instead of doubling every record, whichever way it was connected before.
OAuth access tokens last 30 minutes; they are refreshed through the core's serialised refresh
(HubSpotClient.refresh_tokens -> oauth.refresh_tokens), see README.md.
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
    return connect_hub(
        tenant,
        credentials={"access_token": token, "kind": "private_app"},
        expires_at=None,
        actor=request.user,
        reconnect=reconnect,
        hub_id=hub_id,
    )


def connect_hub(
    tenant, *, credentials: dict, expires_at, actor, reconnect: Connection | None, hub_id: str = ""
) -> Connection:
    """Check the access token in `credentials` against its hub, make the FreshBooks properties, then
    store the credentials (on the hub's existing connection if there is one). Nothing is stored when a
    check fails: a ProviderError says why, in words for the person connecting."""
    oauth = credentials.get("kind") == "oauth"
    audit = AuditContext(tenant=tenant, connection=reconnect, actor=actor)
    client = HubSpotClient(None, token=credentials["access_token"], hub_id=hub_id, oauth=oauth, audit=audit)
    details = client.account_details()
    portal = str(details["portalId"])
    if hub_id and portal != str(hub_id):
        if oauth:
            raise Rejected(f"HubSpot's sign-in named hub {hub_id}, but the token it gave reads hub {portal}")
        raise Rejected(
            f"this token belongs to hub {portal}, not hub {hub_id}. "
            f"Check the hub id, or use a token made in hub {hub_id}"
        )
    if reconnect is not None and reconnect.external_account_id and reconnect.external_account_id != portal:
        what = "you signed in to" if oauth else "this token belongs to"
        raise Rejected(f"{what} hub {portal}, but this connection writes to hub {reconnect.external_account_id}")
    client.time_zone = details.get("timeZone") or "UTC"
    try:
        made = schema.ensure(client, schema.CORE_TYPES, audit)
    except Forbidden as exc:
        missing = ((getattr(exc, "body", None) or {}).get("context") or {}).get("missingScopes") or []
        needed = ", ".join(missing) or "crm.schemas.contacts.write, crm.schemas.companies.write"
        if oauth:
            raise Forbidden(
                f"HubSpot did not grant the scope {needed}, which ml-connector needs to create its FreshBooks "
                "properties: ask whoever runs ml-connector to add it to the HubSpot app, then connect again"
            ) from None
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
    existing = reconnect or (
        Connection.objects.for_tenant(tenant)
        .filter(provider=PROVIDER, external_account_id=portal)
        .exclude(status=Connection.Status.DISCONNECTED)
        .first()
    )
    if existing is not None:
        message = "reconnected: HubSpot sign-in" if oauth else "reconnected: new HubSpot private app token"
        conn = services.store_credentials(existing, credentials, expires_at=expires_at, actor=actor, message=message)
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
            token_expires_at=expires_at,
        )
    if made:
        services.update_config(conn, {}, actor=actor, message="created in HubSpot: " + ", ".join(made))
    services.set_status(conn, Connection.Status.ACTIVE, actor=actor, reason=f"connected to hub {portal}")
    return conn
