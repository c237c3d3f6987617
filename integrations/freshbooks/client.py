"""The FreshBooks REST client (the "new" JSON API, not Classic XML), on the shared ApiClient.

Wire facts, with sources, are in ../shared/vendors/freshbooks-gocardless-salesforce.md §1:
- accounting resources live under /accounting/account/<account_id>/..., clients at users/clients;
- responses are {"response": {"result": {...}}} except /auth/api/v1/users/me ({"response": {...}});
- errors can arrive with HTTP 200 ({"response": {"errors": [...]}}), or as google.rpc bodies
  ({"code": 5, "details": [...]}), or from the events API as {"errno": 404, "message": ...};
- money is {"amount": "180.00", "code": "USD"} and is parsed as Decimal, never float;
- per_page is silently capped at 100; a page past the end is an empty list.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings

from mlconnector.http import (
    Forbidden,
    NotFound,
    RateLimited,
    Rejected,
    TokenClient,
    Unauthorized,
    Unavailable,
    default_classify,
    parse_retry_after,
)

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Resource:
    path: str  # under /accounting/account/<account_id>/
    single: str
    plural: str


# https://www.freshbooks.com/api/ (python SDK client.py holds the same table)
RESOURCES: dict[str, Resource] = {
    "invoice": Resource("invoices/invoices", "invoice", "invoices"),
    "payment": Resource("payments/payments", "payment", "payments"),
    "client": Resource("users/clients", "client", "clients"),
    "bill": Resource("bills/bills", "bill", "bills"),
    "bill_vendor": Resource("bill_vendors/bill_vendors", "bill_vendor", "bill_vendors"),
    "expense": Resource("expenses/expenses", "expense", "expenses"),
    "category": Resource("expenses/categories", "category", "categories"),
}

# google.rpc status codes used by the newer accounting error shape.
_RPC = {3: Rejected, 5: NotFound, 7: Forbidden, 8: RateLimited, 14: Unavailable, 16: Unauthorized}
# Old-style errno values that mean "not found" (1012 "Client not found", 1003 "Invoice not found" ...).
_NOT_FOUND_ERRNOS = {1003, 1012, 1015, 1029, 2001}


def money(value: Any) -> tuple[Decimal | None, str]:
    """{"amount": "180.00", "code": "USD"} -> (Decimal("180.00"), "USD")."""
    if not isinstance(value, dict):
        return None, ""
    raw = value.get("amount")
    try:
        amount = Decimal(str(raw)) if raw not in (None, "") else None
    except ArithmeticError:
        amount = None
    return amount, str(value.get("code") or "")


class FreshBooksClient(TokenClient):
    provider = "freshbooks"
    token_label = "FreshBooks"

    @property
    def base_url(self) -> str:
        return settings.FRESHBOOKS_API_URL

    def refresh_tokens(self, conn, audit):
        from integrations.freshbooks.oauth import refresh_tokens

        return refresh_tokens(conn, audit)

    # --- errors -------------------------------------------------------------------------------
    def classify(self, response, data) -> None:
        status = response.status_code
        message = _error_text(data)
        # The HTTP status decides first when it says "retry" or "auth"; the body only refines it.
        if status == 429:
            raise RateLimited(message or "FreshBooks rate limit", status=429, retry_after=self._retry_after(response))
        if status in (401, 403, 408, 423) or status >= 500:
            default_classify(response, message)
        if isinstance(data, dict):
            inner = data.get("response")
            if isinstance(inner, dict) and inner.get("errors"):
                # The old envelope, which FreshBooks also sends with HTTP 200.
                first = inner["errors"][0] if isinstance(inner["errors"], list) else {}
                msg = str(first.get("message") or "FreshBooks reported an error")
                errno = _int(first.get("errno"))
                if errno in _NOT_FOUND_ERRNOS or "not found" in msg.lower():
                    raise NotFound(msg, status=status, code=str(errno or ""))
                raise Rejected(msg, status=status, code=str(errno or ""))
            code = _int(data.get("code"))
            if code and "details" in data and code in _RPC:
                raise _RPC[code](
                    _rpc_message(data),
                    status=status,
                    code=f"rpc:{code}",
                    retry_after=self._retry_after(response) if code == 8 else None,
                )
        default_classify(response, message)

    def _retry_after(self, response) -> float:
        # UNCONFIRMED whether FreshBooks sends Retry-After; without it, a configured pause.
        value = parse_retry_after(response.headers.get("Retry-After"))
        return value if value is not None else settings.FRESHBOOKS_DEFAULT_RETRY_AFTER

    def remote_id(self, response, data) -> str:
        result = _result(data)
        if isinstance(result, dict) and len(result) == 1:
            inner = next(iter(result.values()))
            if isinstance(inner, dict):
                return str(inner.get("id") or inner.get("callbackid") or "")
        return ""

    # --- identity -------------------------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        data = self.get("/auth/api/v1/users/me")
        if not isinstance(data, dict) or not isinstance(data.get("response"), dict):
            raise Rejected("unexpected /users/me response")
        return data["response"]

    # --- accounting -------------------------------------------------------------------------
    def _account_path(self, account_id: str, resource: str, object_id: str | int | None = None) -> str:
        spec = RESOURCES[resource]
        path = f"/accounting/account/{account_id}/{spec.path}"
        return f"{path}/{object_id}" if object_id is not None else path

    def get_record(self, account_id: str, resource: str, object_id: str | int, includes: tuple[str, ...] = ()) -> dict:
        params = [("include[]", inc) for inc in includes]
        data = self.get(self._account_path(account_id, resource, object_id), params=params or None)
        record = (_result(data) or {}).get(RESOURCES[resource].single)
        if not isinstance(record, dict):
            raise NotFound(f"FreshBooks returned no {resource} {object_id}")
        return record

    def list_page(
        self,
        account_id: str,
        resource: str,
        *,
        page: int = 1,
        per_page: int = MAX_PER_PAGE,
        search: dict[str, Any] | None = None,
        includes: tuple[str, ...] = (),
    ) -> tuple[list[dict], int]:
        items, pages, _ = self.page_with_total(
            account_id, resource, page=page, per_page=per_page, search=search, includes=includes
        )
        return items, pages

    def page_with_total(
        self,
        account_id: str,
        resource: str,
        *,
        page: int = 1,
        per_page: int = MAX_PER_PAGE,
        search: dict[str, Any] | None = None,
        includes: tuple[str, ...] = (),
    ) -> tuple[list[dict], int, int]:
        """One page of a list: (records, pages, total) as FreshBooks' list envelope gives them."""
        params: list[tuple[str, Any]] = [("page", page), ("per_page", min(per_page, MAX_PER_PAGE))]
        for key, value in (search or {}).items():
            if isinstance(value, list | tuple):
                params.extend((f"search[{key}][]", v) for v in value)
            else:
                params.append((f"search[{key}]", value.isoformat() if isinstance(value, date) else value))
        params.extend(("include[]", inc) for inc in includes)
        result = _result(self.get(self._account_path(account_id, resource), params=params)) or {}
        items = [i for i in (result.get(RESOURCES[resource].plural) or []) if isinstance(i, dict)]
        pages = _int(result.get("pages")) or 1
        total = _int(result.get("total"))
        return items, pages, total if total is not None else len(items)

    def iter_records(self, account_id: str, resource: str, **kwargs) -> Iterator[dict]:
        page = 1
        while True:
            items, pages = self.list_page(account_id, resource, page=page, **kwargs)
            yield from items
            if not items or page >= pages:
                return
            page += 1

    def find_payments(self, account_id: str, invoice_id: str | int) -> list[dict]:
        return list(self.iter_records(account_id, "payment", search={"invoiceid": invoice_id}))

    def create_payment(
        self, account_id: str, *, invoice_id: str | int, amount: Decimal, day: date, payment_type: str, note: str
    ) -> dict:
        """Record a payment. FreshBooks has no idempotency key: callers look up `note` markers first."""
        # Omit amount.code: the payment takes the invoice's currency.
        body = {
            "payment": {
                "invoiceid": int(invoice_id),
                "amount": {"amount": f"{amount:.2f}"},
                "date": day.isoformat(),
                "type": payment_type,
                "note": note,
            }
        }
        _, data = self.request("POST", self._account_path(account_id, "payment"), json=body)
        record = (_result(data) or {}).get("payment")
        if not isinstance(record, dict):
            raise Rejected("FreshBooks did not return the created payment")
        return record

    def delete_payment(self, account_id: str, payment_id: str | int) -> dict:
        """A soft delete (vis_state 1): the invoice's outstanding amount comes back."""
        _, data = self.request(
            "PUT", self._account_path(account_id, "payment", payment_id), json={"payment": {"vis_state": 1}}
        )
        return (_result(data) or {}).get("payment") or {}

    def create_expense(
        self,
        account_id: str,
        *,
        amount: Decimal,
        currency: str,
        day: date,
        category_id: str | int,
        vendor: str,
        notes: str,
    ) -> dict:
        body = {
            "expense": {
                "amount": {"amount": f"{amount:.2f}", "code": currency},
                "categoryid": int(category_id),
                "date": day.isoformat(),
                "vendor": vendor,
                "notes": notes,
            }
        }
        _, data = self.request("POST", self._account_path(account_id, "expense"), json=body)
        record = (_result(data) or {}).get("expense")
        if not isinstance(record, dict):
            raise Rejected("FreshBooks did not return the created expense")
        return record

    # --- webhook callbacks (events API) ---------------------------------------------------------
    def _callbacks_path(self, account_id: str, callback_id: str | int | None = None) -> str:
        path = f"/events/account/{account_id}/events/callbacks"
        return f"{path}/{callback_id}" if callback_id is not None else path

    def list_callbacks(self, account_id: str) -> list[dict]:
        out: list[dict] = []
        page = 1
        while True:
            result = _result(self.get(self._callbacks_path(account_id), params={"page": page, "per_page": 100})) or {}
            items = result.get("callbacks") or []
            out.extend(i for i in items if isinstance(i, dict))
            if not items or page >= (_int(result.get("pages")) or 1):
                return out
            page += 1

    def create_callback(self, account_id: str, event: str, uri: str) -> dict:
        _, data = self.request(
            "POST", self._callbacks_path(account_id), json={"callback": {"event": event, "uri": uri}}
        )
        return (_result(data) or {}).get("callback") or {}

    def verify_callback(self, account_id: str, callback_id: str | int, verifier: str) -> dict:
        _, data = self.request(
            "PUT", self._callbacks_path(account_id, callback_id), json={"callback": {"verifier": verifier}}
        )
        return (_result(data) or {}).get("callback") or {}

    def resend_verification(self, account_id: str, callback_id: str | int) -> dict:
        _, data = self.request(
            "PUT", self._callbacks_path(account_id, callback_id), json={"callback": {"resend": True}}
        )
        return (_result(data) or {}).get("callback") or {}

    def delete_callback(self, account_id: str, callback_id: str | int) -> None:
        self.request("DELETE", self._callbacks_path(account_id, callback_id))


def _result(data: Any) -> dict | None:
    if isinstance(data, dict):
        inner = data.get("response")
        if isinstance(inner, dict):
            result = inner.get("result")
            return result if isinstance(result, dict) else None
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _error_text(data: Any) -> str:
    if not isinstance(data, dict):
        return ""
    inner = data.get("response")
    if isinstance(inner, dict) and isinstance(inner.get("errors"), list) and inner["errors"]:
        first = inner["errors"][0]
        if isinstance(first, dict) and first.get("message"):
            return str(first["message"])
    if data.get("details") and data.get("code"):
        return _rpc_message(data)
    return str(data.get("error_description") or data.get("message") or data.get("error") or "")


def _rpc_message(data: dict) -> str:
    for detail in data.get("details") or []:
        meta = detail.get("metadata") if isinstance(detail, dict) else None
        if isinstance(meta, dict) and meta.get("message"):
            return str(meta["message"])
    return str(data.get("message") or "FreshBooks reported an error")
