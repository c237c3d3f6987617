"""The org's My Domain: the only host where Salesforce's client-credentials flow works (Trap 22)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")
_PRODUCTION = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.my\.salesforce\.com$")
_SANDBOX = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?--[a-z0-9]+\.sandbox\.my\.salesforce\.com$")

WHERE = "Find it in Salesforce under Setup → My Domain (“Current My Domain URL”)."


class BadDomain(ValueError):
    pass


def normalise(text: str) -> str:
    """`acme.my.salesforce.com`, `https://acme.my.salesforce.com/` -> `https://acme.my.salesforce.com`,
    or BadDomain with what is wrong and where the right value is found."""
    raw = (text or "").strip()
    if not raw:
        raise BadDomain(f"Enter your org's My Domain, such as https://yourcompany.my.salesforce.com. {WHERE}")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https":
        raise BadDomain("Use the https:// address of your My Domain.")
    if host in LOGIN_HOSTS:
        raise BadDomain(
            f"{host} is Salesforce's shared login page, not your org. The client-credentials flow ml-connector "
            "uses works only on your org's own My Domain (on login. and test.salesforce.com Salesforce answers "
            "“request not supported on this domain”, because it cannot tell which org and which run-as user "
            f"you mean). Enter https://yourcompany.my.salesforce.com, or for a sandbox "
            f"https://yourcompany--sandboxname.sandbox.my.salesforce.com. {WHERE}"
        )
    if host.endswith((".lightning.force.com", ".my.site.com", ".force.com")):
        raise BadDomain(
            f"{host} is the address of Salesforce's pages, not of its API. Enter the My Domain URL ending in "
            f".my.salesforce.com. {WHERE}"
        )
    if not (_PRODUCTION.match(host) or _SANDBOX.match(host)):
        raise BadDomain(
            f"{host or raw} is not a My Domain. It looks like https://yourcompany.my.salesforce.com, or for a "
            f"sandbox https://yourcompany--sandboxname.sandbox.my.salesforce.com. {WHERE}"
        )
    if parts.port:
        raise BadDomain("A My Domain has no port number; enter it without one.")
    return f"https://{host}"


def is_sandbox(my_domain: str) -> bool:
    return ".sandbox.my.salesforce.com" in my_domain
