"""What the connection page shows about a Salesforce org: usage as last reported, the fields in use."""

from django import template

from integrations.salesforce import org as orgmod

register = template.Library()


@register.simple_tag
def salesforce_facts(conn) -> dict:
    usage = orgmod.usage(conn)
    if usage:
        usage = {**usage, "used": f"{usage['used']:,}", "max": f"{usage['max']:,}"}
    return {"usage": usage, "fields": orgmod.fields(conn)}
