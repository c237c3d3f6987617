"""How Monday's responses are classified: HTTP 200 with errors is never success, limits name their time."""

from __future__ import annotations

import json

import pytest
import requests

from integrations.monday.client import MondayClient, classify, column_error
from mlconnector.http import Forbidden, NotFound, RateLimited, Rejected, Unauthorized, Unavailable


def response(body, status=200, headers=None) -> tuple[requests.Response, dict | None]:
    r = requests.Response()
    r.status_code = status
    r._content = json.dumps(body).encode() if body is not None else b""
    r.headers.update({"Content-Type": "application/json", **(headers or {})})
    r.request = requests.Request("POST", "https://api.monday.com/v2").prepare()
    return r, body


def error(code, message="failed", status_code=200, **extensions):
    return {
        "errors": [{"message": message, "extensions": {"code": code, "status_code": status_code, **extensions}}],
        "account_id": 1,
    }


def test_a_plain_success_passes():
    classify(*response({"data": {"me": {"id": "1"}}, "account_id": 1}))


@pytest.mark.parametrize("status", [200, 429])
def test_an_exhausted_budget_is_rate_limited_until_the_time_it_names(status):
    body = error("COMPLEXITY_BUDGET_EXHAUSTED", "Complexity budget exhausted", 429, retry_in_seconds=17)
    with pytest.raises(RateLimited) as caught:
        classify(*response(body, status, {"Retry-After": "17"}))
    assert caught.value.retry_after == 17 and caught.value.code == "COMPLEXITY_BUDGET_EXHAUSTED"


def test_the_legacy_complexity_shape_names_its_reset_in_the_message():
    body = {
        "error_code": "ComplexityException",
        "status_code": 429,
        "error_message": (
            "Complexity budget exhausted, query cost 30001 budget remaining 19986 out of 1000000 reset in 3 seconds"
        ),
        "error_data": {},
        "account_id": 1,
    }
    with pytest.raises(RateLimited) as caught:
        classify(*response(body, 200))
    assert caught.value.retry_after == 3


@pytest.mark.parametrize("code", ["maxConcurrencyExceeded", "Rate Limit Exceeded", "IP_RATE_LIMIT_EXCEEDED"])
def test_minute_and_concurrency_limits_retry_after_the_time_given(code):
    with pytest.raises(RateLimited) as caught:
        classify(*response(error(code, code, 429), 429, {"Retry-After": "9"}))
    assert caught.value.retry_after == 9


def test_the_daily_limit_waits_for_midnight_utc_when_no_time_is_named():
    with pytest.raises(RateLimited) as caught:
        classify(*response(error("DAILY_LIMIT_EXCEEDED", "Daily limit exceeded", 429), 200))
    assert 0 < caught.value.retry_after <= 24 * 3600


def test_a_locked_board_is_retried_at_the_time_given():
    with pytest.raises(RateLimited) as caught:
        classify(
            *response({"error_message": "Resource is currently locked", "status_code": 423}, 423, {"Retry-After": "2"})
        )
    assert caught.value.retry_after == 2


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("ColumnValueException", Rejected),
        ("InvalidColumnIdException", Rejected),
        ("InvalidBoardIdException", Rejected),
        ("ItemNameTooLongException", Rejected),
        ("InvalidVersionException", Rejected),
        ("SomethingNewException", Rejected),
        ("UserUnauthorizedException", Forbidden),
        ("missingRequiredPermissions", Forbidden),
        ("ResourceNotFoundException", NotFound),
        ("API_TEMPORARILY_BLOCKED", Unavailable),
    ],
)
def test_errors_inside_an_http_200_are_classified_never_success(code, kind):
    with pytest.raises(kind) as caught:
        classify(*response(error(code, f"{code} happened", error_data={"column_id": "numbers0"}), 200))
    assert caught.value.code == code and "column_id=numbers0" in str(caught.value)


def test_partial_data_with_errors_is_not_success():
    body = {"data": {"create_item": None}, **error("ColumnValueException", "invalid value")}
    with pytest.raises(Rejected):
        classify(*response(body, 200))


def test_column_errors_are_recognised_for_the_map_check():
    with pytest.raises(Rejected) as caught:
        classify(*response(error("InvalidColumnIdException"), 200))
    assert column_error(caught.value)


def test_transport_statuses_follow_the_shared_rules():
    with pytest.raises(Unauthorized):
        classify(*response({"errors": [{"message": "Not Authenticated"}]}, 401))
    with pytest.raises(Unavailable):
        classify(*response({"error_message": "Internal server error", "status_code": 500}, 500))
    with pytest.raises(Unavailable):
        classify(*response(None, 502))


def test_the_token_goes_raw_with_the_pinned_api_version(settings):
    settings.MONDAY_API_VERSION = "2026-10"
    headers = MondayClient(None, token="tok-not-a-secret-123456").auth_headers()
    assert headers == {"Authorization": "tok-not-a-secret-123456", "API-Version": "2026-10"}
