"""Slack's HTTP-200 errors become the typed hierarchy; nothing ok:false is ever a success."""

from __future__ import annotations

import pytest

from integrations.slack.client import classify_error
from mlconnector.http import RateLimited, Rejected, Unauthorized, Unavailable


@pytest.mark.parametrize("code", ["invalid_auth", "token_revoked", "account_inactive", "not_authed"])
def test_revoked_or_inactive_means_reconnect_and_no_refresh(code):
    with pytest.raises(Unauthorized) as err:
        classify_error(code)
    assert err.value.needs_reconnect and err.value.code == code


def test_an_expired_rotating_token_is_refreshable():
    with pytest.raises(Unauthorized) as err:
        classify_error("token_expired")
    assert not err.value.needs_reconnect


@pytest.mark.parametrize(
    "code", ["channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "invalid_blocks"]
)
def test_permanent_for_this_post(code):
    with pytest.raises(Rejected) as err:
        classify_error(code)
    assert not err.value.retryable and code in str(err.value)


def test_a_missing_scope_names_what_is_needed():
    with pytest.raises(Unauthorized) as err:
        classify_error("missing_scope", {"needed": "chat:write.public", "provided": "chat:write"})
    assert "chat:write.public" in str(err.value) and err.value.needs_reconnect


def test_rate_limited_in_a_200_body_is_retryable_later():
    with pytest.raises(RateLimited) as err:
        classify_error("rate_limited")
    assert err.value.retry_after == 60.0


def test_slack_side_trouble_is_transient():
    with pytest.raises(Unavailable):
        classify_error("internal_error")


def test_an_unknown_error_is_never_a_success():
    with pytest.raises(Rejected) as err:
        classify_error("something_new")
    assert "something_new" in str(err.value)


def test_invalid_arguments_carries_slacks_own_explanation():
    with pytest.raises(Rejected) as err:
        classify_error(
            "invalid_arguments", {"response_metadata": {"messages": ["[ERROR] missing required field: channel"]}}
        )
    assert "missing required field: channel" in str(err.value)
