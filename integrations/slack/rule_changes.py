"""Saving and removing routing rules, for the rules pages and the API alike: a change to a rule that
routed posts now waiting for their channel routes those events again (waiting.py)."""

from __future__ import annotations

from django.db.models import Max

from integrations.slack.forms import RoutingRuleForm
from integrations.slack.routing import RoutingRule
from integrations.slack.waiting import deliveries_waiting_on, resume_rerouted


def save_rule(form: RoutingRuleForm, *, tenant, conn) -> tuple[RoutingRule, int]:
    """Save a valid form's rule (a new one goes last); returns it and how many waiting events were
    routed again."""
    rule = form.save(commit=False)
    rule.tenant = tenant
    if rule.pk is None:
        rule.team_id = (conn.config or {}).get("team_id", "") if conn else ""
        last = RoutingRule.objects.filter(tenant=tenant).aggregate(m=Max("position"))["m"]
        rule.position = 0 if last is None else last + 1
    waiting = deliveries_waiting_on([rule.pk]) if rule.pk else set()
    rule.save()
    return rule, resume_rerouted(waiting, f"the rule “{rule.name}” changed")


def delete_rule(rule: RoutingRule) -> int:
    waiting = deliveries_waiting_on([rule.pk])
    rule.delete()
    return resume_rerouted(waiting, f"the rule “{rule.name}” was deleted")


def set_enabled(rule: RoutingRule, enabled: bool) -> int:
    waiting = deliveries_waiting_on([rule.pk])
    RoutingRule.objects.filter(pk=rule.pk).update(enabled=enabled)
    return resume_rerouted(waiting, f"the rule “{rule.name}” was {'enabled' if enabled else 'disabled'}")
