"""Routing rules: event types, amount conditions in the record's currency, filters, one post per channel."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.slack.models import RoutingRule
from integrations.slack.routing import Facts, matches, route


def facts(event_type="invoice.create", amount="6000.00", currency="USD", counterparty="Northwind", category=""):
    return Facts(event_type, Decimal(amount) if amount is not None else None, currency, counterparty, category)


def rule(**kw) -> RoutingRule:
    base = dict(name="r", event_types=["invoice.create"], channel_id="C1", channel_name="c1", enabled=True)
    base.update(kw)
    if base.get("threshold") is not None:
        base["threshold"] = Decimal(base["threshold"])
    return RoutingRule(**base)


@pytest.mark.parametrize(
    "comparison,threshold,amount,expected",
    [
        ("above", "5000", "5000.00", False),
        ("above", "5000", "5000.01", True),
        ("at_least", "5000", "5000.00", True),
        ("at_least", "5000", "4999.99", False),
        ("below", "100", "99.99", True),
        ("below", "100", "100.00", False),
    ],
)
def test_amount_conditions_compare_decimals_exactly(comparison, threshold, amount, expected):
    assert matches(rule(comparison=comparison, threshold=threshold), facts(amount=amount)) is expected


def test_an_amount_condition_never_matches_a_record_without_an_amount():
    assert not matches(rule(comparison="at_least", threshold="0"), facts(amount=None))


def test_the_threshold_is_in_the_records_currency_and_a_currency_filter_narrows_it():
    assert matches(rule(comparison="above", threshold="5000"), facts(currency="EUR"))
    assert not matches(rule(comparison="above", threshold="5000", currency="USD"), facts(currency="EUR"))


def test_event_type_enabled_and_client_filters():
    assert not matches(rule(), facts(event_type="payment.create"))
    assert not matches(rule(enabled=False), facts())
    assert matches(rule(counterparty="northwind "), facts(counterparty="Northwind"))
    assert not matches(rule(counterparty="Acme"), facts(counterparty="Northwind"))


def test_excluded_expense_categories_are_skipped_case_insensitively():
    r = rule(event_types=["expense.create"], exclude_categories=["Internal"])
    assert not matches(r, facts(event_type="expense.create", category="internal"))
    assert matches(r, facts(event_type="expense.create", category="Travel"))


def test_one_event_goes_to_each_matching_channel_once():
    big = rule(name="big", comparison="above", threshold="5000", channel_id="CEXEC")
    everything = rule(name="all", channel_id="CACC")
    duplicate = rule(name="all again", channel_id="CACC")
    routed = route([big, everything, duplicate], facts())
    assert [r.name for r in routed] == ["big", "all"]
    assert [r.name for r in route([big, everything], facts(amount="10"))] == ["all"]
