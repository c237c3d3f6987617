"""FreshBooks records as Salesforce records: clients → Accounts, invoices → Opportunities, payments
close them as won. Every write is an upsert by external id, so a replay updates and never
duplicates; links (RecordLink) remember the Account of each client, saving a look-up per invoice."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings

from integrations.salesforce import org as orgmod
from integrations.salesforce.client import SalesforceClient, describe_errors, soql_string
from mlconnector.connections import services
from mlconnector.contract import SyncResult
from mlconnector.http import NotFound, ProviderError, RateLimited, Rejected, Unavailable
from mlconnector.pipeline.models import RecordLink

PAID_STATUSES = {"paid", "autopaid"}
RESTRICTED = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
# The lookup field refused: gone, or not editable by the Run As user (the link pauses, the write goes on).
LINK_FIELD_REFUSED = ("INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE")
INVOICES_PER_QUERY = 200


def money(value) -> tuple[Decimal | None, str]:
    """FreshBooks money {"amount": "180.00", "code": "USD"} -> (Decimal, code)."""
    if isinstance(value, dict):
        raw, code = value.get("amount"), str(value.get("code") or "")
    else:
        raw, code = value, ""
    if raw in (None, ""):
        return None, code
    try:
        return Decimal(str(raw)), code
    except InvalidOperation:
        return None, code


def show(amount: Decimal | None, code: str = "") -> str:
    return "—" if amount is None else f"{amount:,.2f}" + (f" {code}" if code else "")


def _person(record: dict) -> str:
    return " ".join(p for p in (record.get("fname"), record.get("lname")) if p)


def client_name(record: dict) -> str:
    return str(
        record.get("organization")
        or record.get("current_organization")
        or _person(record)
        or record.get("email")
        or f"FreshBooks client {record.get('userid') or record.get('id') or record.get('customerid')}"
    )


def _clean(body: dict) -> dict:
    """Leave out what FreshBooks does not know: never blank a value someone typed in Salesforce."""
    return {k: v for k, v in body.items() if v not in (None, "")}


def account_body(client: dict, conn) -> dict:
    f, config = orgmod.fields(conn), conn.config or {}
    street = ", ".join(s for s in (client.get("p_street"), client.get("p_street2")) if s)
    body = {
        "Name": client_name(client)[:255],
        "Phone": client.get("bus_phone") or client.get("mob_phone") or client.get("home_phone"),
        "BillingStreet": street,
        "BillingCity": client.get("p_city"),
        "BillingState": client.get("p_province"),
        "BillingPostalCode": client.get("p_code"),
        "BillingCountry": client.get("p_country"),
    }
    if config.get("has_email_field"):
        body[f.email] = client.get("email")
    return _clean(body)


def account_from_invoice(invoice: dict) -> dict:
    """An Account made before its client ever reached Salesforce: what the invoice says of it."""
    return _clean(
        {
            "Name": client_name(invoice)[:255],
            "BillingStreet": ", ".join(s for s in (invoice.get("street"), invoice.get("street2")) if s),
            "BillingCity": invoice.get("city"),
            "BillingState": invoice.get("province"),
            "BillingPostalCode": invoice.get("code"),
            "BillingCountry": invoice.get("country"),
        }
    )


def invoice_state(invoice: dict) -> tuple[str, Decimal, Decimal | None, Decimal | None, str]:
    """("paid" | "partial" | "open", paid so far, outstanding, amount, currency)."""
    amount, code = money(invoice.get("amount"))
    paid, _ = money(invoice.get("paid"))
    outstanding, _ = money(invoice.get("outstanding"))
    code = code or str(invoice.get("currency_code") or "")
    if paid is None and amount is not None and outstanding is not None:
        paid = amount - outstanding
    paid = paid or Decimal("0")
    status = str(invoice.get("v3_status") or invoice.get("payment_status") or "").lower()
    if status in PAID_STATUSES or (outstanding == 0 and amount and paid >= amount):
        return "paid", paid, outstanding, amount, code
    if paid > 0:
        return "partial", paid, outstanding, amount, code
    return "open", paid, outstanding, amount, code


class Writer:
    def __init__(self, conn, client: SalesforceClient):
        self.conn = conn
        self.client = client
        self.f = orgmod.fields(conn)
        self.link_error = ""  # why Salesforce refused the Invoice query, when it did

    # --- Accounts ----------------------------------------------------------------------------
    def _upsert(self, sobject: str, field: str, value: str, body: dict, what: str):
        try:
            return self.client.upsert(sobject, field, value, body, audit_message=what)
        except NotFound as exc:
            # A 404 on an upsert: the external-id field is not there (or not an External ID).
            entry = orgmod.note_missing(self.conn, sobject, field)
            raise Rejected(orgmod.missing_message(entry), status=404, code=exc.code or "NOT_FOUND") from None

    def _link(self, source_type: str, source_id: str, remote_type: str, remote_id: str, data: dict) -> None:
        RecordLink.objects.update_or_create(
            connection=self.conn,
            source_type=source_type,
            source_id=source_id,
            remote_type=remote_type,
            defaults={"tenant_id": self.conn.tenant_id, "remote_id": remote_id, "data": data},
        )

    def upsert_account(self, client_id: str, body: dict) -> tuple[str, bool]:
        done = self._upsert(
            "Account", self.f.account, client_id, body, f"upsert Account for FreshBooks client {client_id}"
        )
        self._link("client", client_id, "Account", done.id, {"name": body.get("Name", "")})
        return done.id, done.created

    def account_for(self, invoice: dict) -> tuple[str, str]:
        """The Account of an invoice's client: linked already, found by external id, or created now
        from what the invoice says. Returns (Account id, what was done)."""
        client_id = str(invoice.get("customerid") or "")
        if not client_id:
            raise Rejected("This FreshBooks invoice names no client (customerid), so it has no Account.")
        link = RecordLink.objects.filter(
            connection=self.conn, source_type="client", source_id=client_id, remote_type="Account"
        ).first()
        if link is not None:
            return link.remote_id, ""
        try:
            found = self.client.get_by_external_id("Account", self.f.account, client_id)
        except NotFound:
            found = None  # the field is missing: the upsert below says so
        if found and found.get("Id"):
            self._link("client", client_id, "Account", str(found["Id"]), {"name": client_name(invoice)})
            return str(found["Id"]), ""
        body = account_from_invoice(invoice)
        try:
            account_id, _ = self.upsert_account(client_id, body)
        except ProviderError as exc:
            raise type(exc)(
                f"Could not create the Account “{body['Name']}” that this invoice needs first: {exc.message}",
                status=exc.status,
                code=exc.code,
                retry_after=exc.retry_after,
                needs_reconnect=exc.needs_reconnect,
            ) from None
        return account_id, f"Account “{body['Name']}” created first; "

    def sync_client(self, client_id: str, client: dict) -> SyncResult:
        body = account_body(client, self.conn)
        account_id, created = self.upsert_account(client_id, body)
        return SyncResult(
            remote_id=account_id, message=f"Account “{body['Name']}” {'created' if created else 'updated'}"
        )

    # --- Opportunities ---------------------------------------------------------------------------
    def opportunity_body(self, invoice: dict, account_id: str, stage: str) -> dict:
        state, paid, outstanding, amount, code = invoice_state(invoice)
        number = str(invoice.get("invoice_number") or invoice.get("id") or "")
        config = self.conn.config or {}
        body = {
            "Name": f"Invoice {number} · {client_name(invoice)}"[:120],
            "Amount": amount,
            "CloseDate": str(invoice.get("due_date") or invoice.get("create_date") or "")[:10] or None,
            "StageName": stage,
            "AccountId": account_id,
            "Description": f"FreshBooks invoice {number}: {show(amount, code)}, {show(paid, code)} paid, "
            f"{show(outstanding, code)} outstanding.",
        }
        if config.get("multi_currency") and code:
            body["CurrencyIsoCode"] = code
        if config.get("has_paid_field"):
            body[self.f.paid] = paid
        return _clean(body)

    # --- the Salesforce Invoice (Order Management) -----------------------------------------------
    @property
    def links_invoices(self) -> bool:
        """The org has Order Management's Invoice and both fields of the link are there."""
        config = self.conn.config or {}
        return bool(config.get("order_management") and config.get("invoice_link"))

    def invoices_for(self, invoice_ids: list[str]) -> dict[str, str]:
        """FreshBooks invoice id -> the Salesforce Invoice carrying it in the match field: links found
        before cost nothing, the rest one SOQL query per 200. Empty when not linking. A match field
        that has gone pauses the link (the settings page says what to create); it never fails a write."""
        if not self.links_invoices or not invoice_ids:
            return {}
        found = dict(
            RecordLink.objects.filter(
                connection=self.conn, source_type="invoice", remote_type="Invoice", source_id__in=invoice_ids
            ).values_list("source_id", "remote_id")
        )
        rest = [i for i in dict.fromkeys(invoice_ids) if i and i not in found]
        field = self.f.invoice_match
        if rest and not orgmod.API_NAME.match(field):
            return found
        for start in range(0, len(rest), INVOICES_PER_QUERY):
            chunk = rest[start : start + INVOICES_PER_QUERY]
            values = ", ".join(soql_string(v) for v in chunk)
            # The field is a checked API name (API_NAME) and each value a quoted, escaped SOQL literal.
            soql = f"SELECT Id, {field} FROM Invoice WHERE {field} IN ({values}) ORDER BY CreatedDate"  # noqa: S608
            try:
                rows = list(self.client.query(soql))
            except (Rejected, NotFound) as exc:
                if exc.code == "INVALID_TYPE":  # the org lost Order Management since it was inspected
                    services.update_config(
                        self.conn,
                        {"order_management": False, "invoice_link": False},
                        message="Salesforce Order Management no longer detected (no Invoice object)",
                    )
                    return {}
                if exc.code == "INVALID_FIELD":
                    orgmod.note_link_problem(self.conn, orgmod.link_field("Invoice", field))
                    return found
                # Anything else Salesforce refuses about this query (a match field of another type, …)
                # leaves these Opportunities unlinked this time, with its words, and never fails them.
                self.link_error = exc.message
                return found
            for row in rows:  # oldest first: several Invoices with one FreshBooks id link the oldest
                key = str(row.get(field) or "")
                if key in chunk and key not in found and row.get("Id"):
                    found[key] = str(row["Id"])
                    self._link("invoice", key, "Invoice", found[key], {})
        return found

    def link_told(self, invoice_id: str, found: dict[str, str]) -> str:
        """What the audit row says of the Invoice link; nothing at all without Order Management."""
        config = self.conn.config or {}
        if not config.get("order_management"):
            return ""
        if not config.get("invoice_link"):
            fields = ", ".join(f"{m['sobject']}.{m['field']}" for m in config.get("invoice_link_missing") or [])
            return (
                "; Salesforce Invoice not linked: "
                + (f"create {fields}" if fields else "check the Invoice fields")
                + " (see the Salesforce settings page)"
            )
        if invoice_id in found:
            return f"; linked to Salesforce Invoice {found[invoice_id]}"
        if self.link_error:
            return f"; Salesforce Invoice not looked up: {self.link_error}"
        return (
            f"; Salesforce Invoice not found: no Invoice has {self.f.invoice_match} = {invoice_id} yet "
            "(a later event or a replay links it)"
        )

    def link_refused(self, invoice_id: str, body: dict, exc: ProviderError) -> bool:
        """Salesforce refused the Opportunity because of the Invoice lookup: forget the link (a deleted
        Invoice) or pause linking (the field is gone or not editable). True when the write should be
        tried again, without that lookup."""
        lookup = self.f.invoice_lookup
        if lookup not in body or lookup not in (exc.message or ""):
            return False
        if exc.code == "INVALID_CROSS_REFERENCE_KEY":  # the linked Invoice was deleted in Salesforce
            RecordLink.objects.filter(
                connection=self.conn, source_type="invoice", source_id=invoice_id, remote_type="Invoice"
            ).delete()
            return True
        if exc.code in LINK_FIELD_REFUSED:
            problem = "missing" if exc.code == "INVALID_FIELD" else orgmod.NOT_EDITABLE
            orgmod.note_link_problem(self.conn, orgmod.link_field("Opportunity", lookup, problem))
            return True
        return False

    def _write_opportunity(self, invoice_id: str, body: dict, what: str, won: bool, found: dict, account_id: str):
        retried: set[str] = set()
        while True:
            try:
                return self._upsert("Opportunity", self.f.invoice, invoice_id, body, what)
            except Rejected as exc:
                if "link" not in retried and self.link_refused(invoice_id, body, exc):
                    retried.add("link")
                    body.pop(self.f.invoice_lookup, None)
                    found.pop(invoice_id, None)
                    found.update(self.invoices_for([invoice_id]))  # another Invoice may carry it now
                    if invoice_id in found:
                        body[self.f.invoice_lookup] = found[invoice_id]
                    continue
                if exc.code == RESTRICTED:
                    if won and "stage" not in retried:
                        # The won stage was renamed or replaced since it was discovered: discover it again, once.
                        retried.add("stage")
                        body["StageName"] = orgmod.won_stage(self.conn, self.client, fresh=True)
                        continue
                    if not won:
                        raise Rejected(
                            f"{exc.message}. Choose an open stage this org has on the Salesforce settings page, "
                            "then replay.",
                            status=exc.status,
                            code=exc.code,
                        ) from None
                if exc.code == "INVALID_CROSS_REFERENCE_KEY" and self.f.invoice_lookup not in exc.message:
                    # the linked Account was deleted in Salesforce
                    RecordLink.objects.filter(
                        connection=self.conn, source_type="client", remote_type="Account", remote_id=account_id
                    ).delete()
                raise

    def sync_invoice(self, invoice_id: str, invoice: dict) -> SyncResult:
        state, paid, outstanding, amount, code = invoice_state(invoice)
        account_id, before = self.account_for(invoice)
        won = state == "paid"
        stage = orgmod.won_stage(self.conn, self.client) if won else self.f.open_stage
        found = self.invoices_for([invoice_id])
        body = self.opportunity_body(invoice, account_id, stage)
        if invoice_id in found:
            body[self.f.invoice_lookup] = found[invoice_id]
        what = f"upsert Opportunity for FreshBooks invoice {invoice.get('invoice_number') or invoice_id}"
        done = self._write_opportunity(invoice_id, body, what, won, found, account_id)
        stage = body["StageName"]
        self._link("invoice", invoice_id, "Opportunity", done.id, {"name": body["Name"], "account": account_id})
        verb = "created" if done.created else "updated"
        if won:
            told = f"closed won (“{stage}”)"
        elif state == "partial":
            told = f"{show(paid, code)} of {show(amount, code)} paid so far; left open in “{stage}”"
        else:
            told = f"{show(amount, code)}, closes {body.get('CloseDate', '—')}, stage “{stage}”"
        told += self.link_told(invoice_id, found)
        return SyncResult(remote_id=done.id, message=f"{before}Opportunity “{body['Name']}” {verb}: {told}")


# --- many at once: sObject Collections (up to 200 records a call) ----------------------------------


def record_error(errors: list[dict]) -> ProviderError:
    """One record's failure inside a collection's HTTP 200, as the error the pipeline acts on."""
    message, code = describe_errors(errors)
    message = message or "Salesforce refused this record"
    if code in ("UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"):
        return Unavailable(message, code=code)
    if code in ("DUPLICATE_EXTERNAL_ID", "MULTIPLE_CHOICES"):
        return Rejected(
            f"Several Salesforce records have this external id ({message}): merge or correct the duplicates in "
            "Salesforce, then replay.",
            status=300,
            code=code,
        )
    if code == "REQUEST_LIMIT_EXCEEDED":
        return RateLimited(message, status=403, code=code, retry_after=settings.SALESFORCE_LIMIT_RETRY_SECONDS)
    return Rejected(message, status=400, code=code)


class CollectionWriter(Writer):
    """Accounts and Opportunities upserted 200 to a call. Each record succeeds or fails on its own;
    what a collection cannot do well (an invoice whose Account is not linked yet, a won stage that
    changed) is left to the one-record path, which knows how."""

    def _collection(self, sobject: str, field: str, items: list[tuple[str, dict]]) -> list[dict]:
        try:
            return self.client.upsert_collection(sobject, field, [{field: key, **body} for key, body in items])
        except NotFound as exc:
            entry = orgmod.note_missing(self.conn, sobject, field)
            raise Rejected(orgmod.missing_message(entry), status=404, code=exc.code or "NOT_FOUND") from None

    def accounts(self, items: list[tuple[int, str, dict]]) -> dict[int, SyncResult | ProviderError]:
        """(delivery id, client id, client) -> one result per delivery."""
        bodies = [(client_id, account_body(record, self.conn)) for _, client_id, record in items]
        answers = self._collection("Account", self.f.account, bodies)
        results: dict[int, SyncResult | ProviderError] = {}
        for (pk, client_id, _), (_, body), answer in zip(items, bodies, answers, strict=True):
            if not answer.get("success"):
                results[pk] = record_error(answer.get("errors") or [])
                continue
            self._link("client", client_id, "Account", str(answer["id"]), {"name": body["Name"]})
            verb = "created" if answer.get("created") else "updated"
            results[pk] = SyncResult(remote_id=str(answer["id"]), message=f"Account “{body['Name']}” {verb}")
        return results

    def linked_accounts(self, client_ids: set[str]) -> dict[str, str]:
        return dict(
            RecordLink.objects.filter(
                connection=self.conn, source_type="client", remote_type="Account", source_id__in=client_ids
            ).values_list("source_id", "remote_id")
        )

    def opportunities(self, items: list[tuple[int, str, dict, str]]) -> dict[int, SyncResult | ProviderError]:
        """(delivery id, invoice id, invoice, Account id) -> one result per delivery; a won stage the
        org refuses is left out (None) for the one-record path to discover again."""
        won = any(invoice_state(inv)[0] == "paid" for _, _, inv, _ in items)
        won_stage = orgmod.won_stage(self.conn, self.client) if won else ""
        found = self.invoices_for([invoice_id for _, invoice_id, _, _ in items])  # one query per 200, if linking
        bodies = []
        for _, invoice_id, invoice, account_id in items:
            stage = won_stage if invoice_state(invoice)[0] == "paid" else self.f.open_stage
            body = self.opportunity_body(invoice, account_id, stage)
            if invoice_id in found:
                body[self.f.invoice_lookup] = found[invoice_id]
            bodies.append((invoice_id, body))
        answers = self._collection("Opportunity", self.f.invoice, bodies)
        results: dict[int, SyncResult | ProviderError] = {}
        for (pk, invoice_id, _, account_id), (_, body), answer in zip(items, bodies, answers, strict=True):
            if not answer.get("success"):
                error = record_error(answer.get("errors") or [])
                if error.code == RESTRICTED and body["StageName"] == won_stage:
                    continue  # the one-record path discovers the won stage again
                if self.link_refused(invoice_id, body, error):
                    continue  # the one-record path writes it without that Invoice lookup
                results[pk] = error
                continue
            self._link(
                "invoice", invoice_id, "Opportunity", str(answer["id"]), {"name": body["Name"], "account": account_id}
            )
            verb = "created" if answer.get("created") else "updated"
            results[pk] = SyncResult(
                remote_id=str(answer["id"]),
                message=f"Opportunity “{body['Name']}” {verb}: stage “{body['StageName']}”"
                + self.link_told(invoice_id, found),
            )
        return results
