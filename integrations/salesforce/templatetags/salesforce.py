"""What the connection page shows about a Salesforce org: usage as last reported, the fields in use."""

from django import template
from django.conf import settings

from integrations.salesforce import org as orgmod
from integrations.salesforce.client import api_usage

register = template.Library()


@register.simple_tag
def salesforce_facts(conn) -> dict:
    usage = api_usage(conn.pk)
    if usage and usage.get("max"):
        used, most = int(usage["used"]), int(usage["max"])
        usage = {
            "used": f"{used:,}",
            "max": f"{most:,}",
            "percent": round(100 * used / most),
            "low": (most - used) / most < settings.SALESFORCE_LOW_ALLOWANCE,
        }
    return {"usage": usage, "fields": orgmod.fields(conn)}
