"""Plain words for errors and for what waits."""

import pytest

from mlconnector.connections.health import plain_error, what_waits


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Slack said token_revoked", "Token revoked or expired"),
        ("FreshBooks refused the refresh token (invalid_grant)", "Token revoked or expired"),
        ("HTTP 401 Unauthorized", "Slack no longer accepts our sign-in"),
        ("HTTP 429 Too Many Requests", "Slack asked us to slow down (rate limited)"),
        ("Read timed out", "Slack did not answer in time"),
        ("HTTP 503 Service Unavailable", "Slack was unavailable"),
        ("channel_not_found", "The Slack channel no longer exists"),
        ("missing_scope: chat:write", "Slack refused: missing permission"),
        ("something odd\nwith a second line", "something odd"),
        ("", ""),
    ],
)
def test_it_turns_errors_into_plain_words(message, expected):
    assert plain_error(message, "Slack") == expected


def test_it_says_what_waits_by_business_noun():
    assert what_waits({"invoice": 14}) == "14 invoices"
    assert what_waits({"invoice": 1, "payment": 2}) == "2 payments and 1 invoice"
    assert what_waits({"invoice": 3, "payment": 2, "bill": 1}) == "3 invoices, 2 payments and 1 bill"
    assert what_waits({}) == ""
