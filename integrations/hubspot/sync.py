"""Writing a batch of FreshBooks deliveries to one hub: clients, vendors, invoices, payments, balances.

One Writer per batch (up to 100 deliveries of one connection, from the core's batch seam). Each step is
one batch call per object type, every input carrying its own objectWriteTraceId so HubSpot answers a
partial failure with a 207 and each delivery gets its own outcome (vendors doc §2.3, trap 15):

1. the ledger (database only): each invoice and payment seen, for the balance properties;
2. contacts and companies for every client the batch touches (a client event, or an invoice or payment
   whose client is not in HubSpot yet, read from FreshBooks first), upserted by email (by
   `freshbooks_client_id` without one) and by `freshbooks_client_id`, associated, balance included;
3. invoices: line items upserted by `freshbooks_line_id`; a new invoice created with its contact, company
   and line items associated in the same call (the association type ids come from HubSpot's labels
   API), an existing one updated; a 409 "Existing ID" is used instead of a duplicate;
4. commerce payments upserted by `freshbooks_payment_id`, associated with the invoice and the contact,
   the invoice's status moved;
5. the balance of every other client the batch changed, on its contact and company.

When the hub refuses invoice writes (a missing scope, the feature not enabled: 403, or a 400 whose
category says so), the connection records one warning, the invoices wait ("waiting for HubSpot
invoice support") and everything else goes on; the daily check releases them (integration.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from integrations.hubspot import ledger, schema
from integrations.hubspot.client import HubSpotClient, existing_id
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.connections import services
from mlconnector.contract import SyncResult, registry
from mlconnector.http import (
    AuditContext,
    Forbidden,
    NotFound,
    ProviderError,
    RateLimited,
    Rejected,
    Unavailable,
    Waiting,
)
from mlconnector.pipeline.models import RecordLink

log = logging.getLogger("mlconnector.hubspot")
INVOICE_WAIT = "waiting for HubSpot invoice support"
STATUS = {"draft": "draft", "paid": "paid"}  # FreshBooks v3_status -> hs_invoice_status; the rest are open


@dataclass
class Item:
    delivery: Any
    kind: str  # client, vendor, invoice, payment
    record: dict
    source_id: str
    client_id: str = ""
    result: SyncResult | ProviderError | None = None
    done: list[str] = field(default_factory=list)

    def fail(self, error: ProviderError) -> None:
        if self.result is None:
            self.result = error


def invoice_writes_unavailable(error: ProviderError) -> bool:
    """A hub that cannot take invoice writes (vendors doc §2.6: missing scope -> 403 MISSING_SCOPES; a
    portal without the feature -> 400 with a category saying so, UNCONFIRMED: settings list them)."""
    body = getattr(error, "body", None) or {}
    category = str(body.get("category") or error.code or "")
    sub = str(body.get("subCategory") or "")
    if isinstance(error, Forbidden):
        return True
    return error.status == 400 and (
        category in settings.HUBSPOT_INVOICE_UNAVAILABLE_CATEGORIES or "NOT_ENABLED" in sub or "NOT_ENABLED" in category
    )


def item_error(error: dict, what: str) -> ProviderError:
    """One failed input of a multi-status answer, as the typed error its delivery meets."""
    category = str(error.get("category") or "")
    details = [str(e.get("message")) for e in error.get("errors") or [] if isinstance(e, dict) and e.get("message")]
    message = f"HubSpot refused the {what}: " + ("; ".join(details) or str(error.get("message") or category or "error"))
    cls = {"RATE_LIMITS": RateLimited, "OBJECT_NOT_FOUND": NotFound}.get(category)
    if cls is None:
        cls = Rejected if category in ("VALIDATION_ERROR", "CONFLICT", "INVALID_PARAMS") else Unavailable
    exc = cls(
        message, status=400 if cls is Rejected else None, code=category, retry_after=1.0 if cls is RateLimited else None
    )
    exc.body = error
    return exc


def _by_trace(results: list[dict], errors: list[dict]) -> tuple[dict[str, dict], dict[str, dict]]:
    ok = {str(r.get("objectWriteTraceId")): r for r in results if r.get("objectWriteTraceId")}
    failed = {}
    for error in errors:
        for trace in (error.get("context") or {}).get("objectWriteTraceId") or []:
            failed[str(trace)] = error
    return ok, failed


class Writer:
    def __init__(self, integration, deliveries: list, audit: AuditContext):
        self.integration = integration
        self.conn = integration.connection
        self.audit = audit
        self.client: HubSpotClient = integration.client(audit)
        self.deliveries = deliveries
        self.today = ledger.today_in((self.conn.config or {}).get("time_zone", "UTC"))
        self.links: dict[tuple[str, str, str], RecordLink] = {}
        self.balanced: set[str] = set()  # clients whose balance went out with their upsert
        self._relink: set[int] = set()  # updated invoices whose line items need associating

    # --- links -------------------------------------------------------------------------------
    def _load_links(self, pairs: set[tuple[str, str]]) -> None:
        if not pairs:
            return
        source_ids = {s for _, s in pairs}
        for link in RecordLink.objects.filter(connection=self.conn, source_id__in=source_ids):
            self.links[(link.source_type, link.source_id, link.remote_type)] = link

    def link(self, source_type: str, source_id: str, remote_type: str) -> RecordLink | None:
        return self.links.get((source_type, str(source_id), remote_type))

    def remember(
        self, source_type: str, source_id: str, remote_type: str, remote_id: str, data: dict | None = None
    ) -> RecordLink:
        key = (source_type, str(source_id), remote_type)
        found = self.links.get(key)
        if found is not None and found.remote_id == str(remote_id) and (data is None or found.data == data):
            return found
        link, _ = RecordLink.objects.update_or_create(
            connection=self.conn,
            source_type=source_type,
            source_id=str(source_id),
            remote_type=remote_type,
            defaults={
                "tenant_id": self.conn.tenant_id,
                "remote_id": str(remote_id),
                **({"data": data} if data is not None else {}),
            },
        )
        self.links[key] = link
        return link

    # --- the batch ---------------------------------------------------------------------------
    def run(self) -> dict[int, SyncResult | Exception]:
        items = [self._item(d) for d in self.deliveries]
        # Several deliveries of one record in a batch (a create and its update, a replay): the newest
        # version is written once and each of them shares its outcome.
        newest: dict[tuple[str, str], Item] = {}
        for item in sorted(
            items, key=lambda i: (str(i.record.get("updated") or i.record.get("updated_at") or ""), i.delivery.event_id)
        ):
            newest[(item.kind, item.source_id)] = item
        live = [i for i in newest.values() if i.result is None]
        if live:
            self._ensure_schema(schema.CORE_TYPES)
            self._write(live)
        out = {}
        for item in items:
            chosen = newest[(item.kind, item.source_id)] if item.result is None else item
            words = "; ".join(chosen.done) or "written"
            if chosen is not item:
                words += " (a newer version of this record, in the same batch)"
            out[item.delivery.pk] = chosen.result or SyncResult(remote_id=self._remote_id(chosen), message=words)
        return out

    def _item(self, delivery) -> Item:
        event = delivery.event
        kind = {"client": "client", "bill_vendor": "vendor", "invoice": "invoice", "payment": "payment"}[
            event.event_type.split(".")[0]
        ]
        record_ = event.payload if isinstance(event.payload, dict) else None
        item = Item(delivery, kind, record_ or {}, str(event.object_id))
        if record_ is None:
            item.result = SyncResult(noop=True, message=f"the FreshBooks {kind} is gone; HubSpot keeps what it has")
        elif kind == "client":
            item.client_id = item.source_id
        elif kind == "invoice":
            item.client_id = str(record_.get("customerid") or "")
        elif kind == "payment":
            invoice = record_.get("invoice") if isinstance(record_.get("invoice"), dict) else {}
            item.client_id = str(record_.get("clientid") or invoice.get("customerid") or "")
        return item

    def _remote_id(self, item: Item) -> str:
        remote = {"client": ("client", "contact"), "vendor": ("vendor", "company"), "invoice": ("invoice", "invoice")}
        remote["payment"] = ("payment", "payment")
        source_type, remote_type = remote[item.kind]
        link = self.link(source_type, item.source_id, remote_type)
        return link.remote_id if link else ""

    def _ensure_schema(self, types: tuple[str, ...]) -> None:
        done = set((self.conn.config or {}).get("schema", {}).get(str(schema.VERSION), []))
        missing = tuple(t for t in types if t not in done)
        if not missing:
            return
        made = schema.ensure(self.client, missing, self.audit)
        config = dict(self.conn.config or {})
        config.setdefault("schema", {})[str(schema.VERSION)] = sorted(done | set(missing))
        services.update_config(
            self.conn,
            {"schema": config["schema"]},
            message=("created in HubSpot: " + ", ".join(made)) if made else "HubSpot properties checked",
        )

    def _write(self, live: list[Item]) -> None:
        pairs = {("client", i.client_id) for i in live if i.client_id}
        pairs |= {(i.kind, i.source_id) for i in live}
        # A payment is associated with its invoice, whether or not that invoice is in this batch.
        pairs |= {
            ("invoice", str(i.record.get("invoiceid")))
            for i in live
            if i.kind == "payment" and i.record.get("invoiceid")
        }
        self._load_links(pairs)
        self._record_ledger(live)
        steps = (
            (self._write_clients, live),
            (self._write_vendors, [i for i in live if i.kind == "vendor"]),
            (self._write_invoices, [i for i in live if i.kind == "invoice"]),
            (self._write_payments, [i for i in live if i.kind == "payment"]),
            (self._write_balances, live),
        )
        for step, subset in steps:
            # The balance moves for an invoice that waits for HubSpot invoice support too.
            balances = step == self._write_balances
            pending = [i for i in subset if i.result is None or (balances and isinstance(i.result, Waiting))]
            if not pending:
                continue
            try:
                step(pending)
            except ProviderError as exc:  # a failure of a whole call: every item it served meets it
                for item in pending:
                    item.fail(exc)
                if exc.needs_reconnect:
                    return

    # --- 1. the ledger -----------------------------------------------------------------------------
    def _record_ledger(self, items: list[Item]) -> None:
        for item in items:
            if item.kind == "invoice" and item.client_id:
                ledger.record(self.conn, "invoice", item.source_id, item.client_id, ledger.invoice_facts(item.record))
            elif item.kind == "payment" and item.client_id:
                pay = item.record
                facts = {"amount": str(ledger._amount(pay.get("amount"))), "date": str(pay.get("date") or "")}
                facts |= {"id": item.source_id, "deleted": pay.get("vis_state") in (1, "1")}
                ledger.record(self.conn, "payment", item.source_id, item.client_id, facts)
                if isinstance(pay.get("invoice"), dict) and pay.get("invoiceid"):
                    ledger.record(
                        self.conn,
                        "invoice",
                        str(pay["invoiceid"]),
                        item.client_id,
                        ledger.invoice_facts(pay["invoice"]),
                    )

    # --- 2. clients: contacts and companies ------------------------------------------------------
    def _client_records(self, items: list[Item]) -> dict[str, dict]:
        """Every client this batch writes: its own events, and those of invoices or payments whose
        client has no contact yet (read from FreshBooks, so the contact has its email)."""
        clients = {i.client_id: i.record for i in items if i.kind == "client"}
        missing = {i.client_id for i in items if i.kind in ("invoice", "payment") and i.client_id}
        missing = {c for c in missing if c not in clients and self.link("client", c, "contact") is None}
        for client_id in sorted(missing):
            source = next(i.delivery.event.connection for i in items if i.client_id == client_id)
            try:
                found = registry.get(source.provider)(source).enrich(
                    "client.update", client_id, self.audit.for_connection(source)
                )
            except ProviderError as exc:
                for item in items:
                    if item.client_id == client_id:
                        item.fail(
                            type(exc)(
                                f"could not read FreshBooks client {client_id} to create its contact: {exc}",
                                status=exc.status,
                            )
                        )
                continue
            if isinstance(found.record, dict):
                clients[client_id] = found.record
        return clients

    @staticmethod
    def _contact_props(client: dict, client_id: str) -> dict[str, str]:
        values = {
            "email": (client.get("email") or "").strip().lower(),
            "firstname": client.get("fname"),
            "lastname": client.get("lname"),
            "phone": client.get("bus_phone") or client.get("mob_phone"),
            "mobilephone": client.get("mob_phone"),
            "company": client.get("organization"),
            "address": client.get("p_street"),
            "city": client.get("p_city"),
            "state": client.get("p_province"),
            "zip": client.get("p_code"),
            "country": client.get("p_country"),
            "freshbooks_client_id": client_id,
        }
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    @staticmethod
    def _company_props(client: dict, client_id: str) -> dict[str, str]:
        values = {
            "name": client.get("organization"),
            "phone": client.get("bus_phone"),
            "address": client.get("p_street"),
            "city": client.get("p_city"),
            "state": client.get("p_province"),
            "zip": client.get("p_code"),
            "country": client.get("p_country"),
            "freshbooks_client_id": client_id,
        }
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def _write_clients(self, items: list[Item]) -> None:
        clients = self._client_records(items)
        if not clients:
            return
        balance = ledger.balances(self.conn, clients, self.today)
        errors: dict[str, ProviderError] = {}
        contacts = self._upsert_records(
            "contacts",
            "client",
            "contact",
            {c: self._contact_props(r, c) | balance[c] for c, r in clients.items()},
            lambda props: (
                ("email", props["email"])
                if props.get("email")
                else ("freshbooks_client_id", props["freshbooks_client_id"])
            ),
            errors,
            balance,
        )
        with_company = {c: r for c, r in clients.items() if str(r.get("organization") or "").strip()}
        companies = self._upsert_records(
            "companies",
            "client",
            "company",
            {c: self._company_props(r, c) | balance[c] for c, r in with_company.items()},
            lambda props: ("freshbooks_client_id", props["freshbooks_client_id"]),
            errors,
            balance,
        )
        pairs = [(contacts[c], companies[c]) for c in companies if c in contacts]
        for error in self.client.associate("contacts", "companies", pairs):
            log.warning("contact-company association refused: %s", error.get("message"))
        self.balanced |= {c for c in contacts if c not in errors}
        for item in items:
            if item.client_id in errors:
                item.fail(errors[item.client_id])
            elif item.kind == "client" and item.client_id in contacts:
                company = f", company {companies[item.client_id]}" if item.client_id in companies else ""
                item.done.append(f"contact {contacts[item.client_id]}{company}")

    def _upsert_records(
        self, object_type, source_type, remote_type, props_by_key: dict[str, dict], id_of, errors, balance=None
    ) -> dict[str, str]:
        """Write records keyed by a FreshBooks id: linked ones updated by HubSpot id, the rest upserted
        by their unique property; a CONFLICT's "Existing ID" is linked and updated. Returns key -> id.
        `balance`: key -> the balance properties written with it, kept on the link."""
        written: dict[str, str] = {}
        linked = {k: self.link(source_type, k, remote_type) for k in props_by_key}
        updates = [
            {"id": linked[k].remote_id, "properties": p, "objectWriteTraceId": f"k{k}"}
            for k, p in props_by_key.items()
            if linked[k]
        ]
        upserts: dict[str, list[dict]] = {}
        for key, props in props_by_key.items():
            if linked[key]:
                continue
            id_property, value = id_of(props)
            upserts.setdefault(id_property, []).append(
                {"id": value, "idProperty": id_property, "properties": props, "objectWriteTraceId": f"k{key}"}
            )
        calls = [("update", updates)] + [("upsert", inputs) for inputs in upserts.values()]
        retry: list[dict] = []
        for round_ in range(2):
            for op, inputs in calls:
                if not inputs:
                    continue
                results, failed = self.client.batch(object_type, op, inputs)
                ok, bad = _by_trace(results, failed)
                for entry in inputs:
                    trace, key = entry["objectWriteTraceId"], entry["objectWriteTraceId"][1:]
                    if trace in ok:
                        written[key] = str(ok[trace]["id"])
                        link = self.link(source_type, key, remote_type)
                        data = {**((link.data if link else None) or {}), "balance": balance[key]} if balance else None
                        self.remember(source_type, key, remote_type, written[key], data)
                        continue
                    error = bad.get(trace) or (
                        failed[0] if failed else {"message": "HubSpot returned no result", "category": "INTERNAL"}
                    )
                    existing = (
                        existing_id(str(error.get("message") or ""), error.get("context"))
                        if error.get("category") == "CONFLICT"
                        else ""
                    )
                    stale_link = op == "update" and error.get("category") == "OBJECT_NOT_FOUND"
                    if round_ == 0 and (existing or stale_link):
                        if existing:
                            self.remember(source_type, key, remote_type, existing)
                            retry.append(
                                {**{k: v for k, v in entry.items() if k not in ("idProperty",)}, "id": existing}
                            )
                        else:  # the record was deleted in HubSpot: upsert it again
                            id_property, value = id_of(entry["properties"])
                            retry.append({**entry, "id": value, "idProperty": id_property, "_upsert": True})
                        continue
                    errors[key] = item_error(error, f"{object_type[:-1]} for FreshBooks {source_type} {key}")
            if not retry:
                break
            calls = [
                ("update", [r for r in retry if not r.get("_upsert")]),
                ("upsert", [{k: v for k, v in r.items() if k != "_upsert"} for r in retry if r.get("_upsert")]),
            ]
            retry = []
        return written

    # --- vendors: companies ---------------------------------------------------------------------
    def _write_vendors(self, items: list[Item]) -> None:
        errors: dict[str, ProviderError] = {}
        props = {}
        for item in items:
            vendor = item.record
            values = {"name": vendor.get("vendor_name"), "phone": vendor.get("phone"), "website": vendor.get("website")}
            values |= {
                "city": vendor.get("city"),
                "country": vendor.get("country"),
                "freshbooks_vendor_id": item.source_id,
            }
            props[item.source_id] = {k: str(v) for k, v in values.items() if v not in (None, "")}
        written = self._upsert_records(
            "companies",
            "vendor",
            "company",
            props,
            lambda p: ("freshbooks_vendor_id", p["freshbooks_vendor_id"]),
            errors,
        )
        for item in items:
            if item.source_id in errors:
                item.fail(errors[item.source_id])
            else:
                item.done.append(f"company {written.get(item.source_id, '')} for the bill vendor")

    # --- 3. invoices ------------------------------------------------------------------------------
    def invoices_available(self) -> bool:
        return (self.conn.config or {}).get("invoices", {}).get("available", True)

    def _write_invoices(self, items: list[Item]) -> None:
        probe = (self.conn.config or {}).get("invoices", {}).get("probe")
        if not self.invoices_available():
            held = [i for i in items if i.delivery.pk != probe]
            for item in held:
                item.result = Waiting(
                    f"{INVOICE_WAIT}: {(self.conn.config.get('invoices') or {}).get('reason', '')}".rstrip(": ")
                )
            items = [i for i in items if i.delivery.pk == probe]
            if not items:
                return
        try:
            self._ensure_schema(schema.INVOICE_TYPES)
            self._invoices(items)
        except ProviderError as exc:
            if not invoice_writes_unavailable(exc):
                raise
            mark_invoices_unavailable(self.conn, exc)
            for item in items:
                item.result = Waiting(f"{INVOICE_WAIT}: {exc.message}")
            return
        if probe or not self.invoices_available():
            mark_invoices_available(self.conn)

    def _line_inputs(self, item: Item) -> list[dict]:
        invoice = item.record
        currency = str(invoice.get("currency_code") or "")
        out = []
        for n, line in enumerate(invoice.get("lines") or [], start=1):
            line_id = f"{item.source_id}:{line.get('lineid') or n}"
            quantity = ledger._amount(line.get("qty") or "1")
            price = ledger._amount(line.get("unit_cost"))
            rate = ledger._amount(line.get("taxAmount1")) + ledger._amount(line.get("taxAmount2"))
            tax = (quantity * price * rate / 100).quantize(ledger.Decimal("0.01"))
            props = {
                "name": str(line.get("name") or "Item")[:255],
                "description": str(line.get("description") or ""),
                "quantity": str(quantity),
                "price": str(price),
                "hs_line_item_currency_code": currency,
                "tax": str(tax),
                "freshbooks_line_id": line_id,
            }
            out.append(
                {
                    "id": line_id,
                    "idProperty": "freshbooks_line_id",
                    "properties": {k: v for k, v in props.items() if v != ""},
                    "objectWriteTraceId": f"l{line_id}",
                }
            )
        return out

    def _invoice_props(self, item: Item) -> dict[str, str]:
        invoice = item.record
        status = (
            "voided"
            if invoice.get("vis_state") in (1, "1")
            else STATUS.get(str(invoice.get("v3_status") or ""), "open")
        )
        number = str(invoice.get("invoice_number") or item.source_id)
        values = {
            "hs_currency": invoice.get("currency_code") or (invoice.get("amount") or {}).get("code"),
            "hs_invoice_date": ledger.midnight_ms(invoice.get("create_date") or ""),
            "hs_due_date": ledger.midnight_ms(invoice.get("due_date") or ""),
            "hs_invoice_status": status,
            "hs_title": f"Invoice {number}",
            "hs_purchase_order_number": invoice.get("po_number"),
            "hs_comments": invoice.get("notes"),
            "freshbooks_invoice_id": item.source_id,
            "freshbooks_invoice_number": number,
        }
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def _invoices(self, items: list[Item]) -> None:
        lines: dict[str, list[dict]] = {i.source_id: self._line_inputs(i) for i in items}
        results, failed = self.client.batch("line_items", "upsert", [x for inputs in lines.values() for x in inputs])
        ok, bad = _by_trace(results, failed)
        line_ids: dict[str, list[str]] = {}
        for item in items:
            for entry in lines[item.source_id]:
                trace = entry["objectWriteTraceId"]
                if trace in ok:
                    line_ids.setdefault(item.source_id, []).append(str(ok[trace]["id"]))
                else:
                    item.fail(item_error(bad.get(trace) or {"message": "no result"}, f"line item {entry['id']}"))
        types = self.integration.association_types(
            self.client, ("invoices", "contacts"), ("invoices", "companies"), ("invoices", "line_items")
        )
        creates, updates, by_trace = [], [], {}
        for item in items:
            if item.result is not None:
                continue
            trace = f"i{item.source_id}"
            by_trace[trace] = item
            props = self._invoice_props(item)
            link = self.link("invoice", item.source_id, "invoice")
            if link:
                updates.append({"id": link.remote_id, "properties": props, "objectWriteTraceId": trace})
                continue
            contact = self.link("client", item.client_id, "contact")
            if contact is None:
                item.fail(Rejected(f"FreshBooks client {item.client_id} has no HubSpot contact to bill"))
                continue
            targets = [(contact.remote_id, types[("invoices", "contacts")])]
            company = self.link("client", item.client_id, "company")
            if company:
                targets.append((company.remote_id, types[("invoices", "companies")]))
            targets += [(line, types[("invoices", "line_items")]) for line in line_ids.get(item.source_id, [])]
            associations = [
                {"to": {"id": to}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": tid}]}
                for to, tid in targets
            ]
            creates.append({"properties": props, "associations": associations, "objectWriteTraceId": trace})
        again = []
        for op, inputs in (("create", creates), ("update", updates)):
            if not inputs:
                continue
            results, failed = self.client.batch("invoices", op, inputs)
            ok, bad = _by_trace(results, failed)
            for entry in inputs:
                item, trace = by_trace[entry["objectWriteTraceId"]], entry["objectWriteTraceId"]
                if trace in ok:
                    self._invoice_written(item, str(ok[trace]["id"]), line_ids, created=op == "create")
                    continue
                error = bad.get(trace) or {"message": "no result"}
                existing = (
                    existing_id(str(error.get("message") or ""), error.get("context"))
                    if error.get("category") == "CONFLICT"
                    else ""
                )
                if existing and op == "create":  # written before (a retry after a crash): update it instead
                    self.remember("invoice", item.source_id, "invoice", existing)
                    again.append({"id": existing, "properties": entry["properties"], "objectWriteTraceId": trace})
                    continue
                if invoice_writes_unavailable(item_error(error, "invoice")):
                    raise item_error(error, "invoice")
                item.fail(item_error(error, f"invoice for FreshBooks invoice {item.source_id}"))
        if again:
            results, failed = self.client.batch("invoices", "update", again)
            ok, bad = _by_trace(results, failed)
            for entry in again:
                item = by_trace[entry["objectWriteTraceId"]]
                if entry["objectWriteTraceId"] in ok:
                    self._invoice_written(item, entry["id"], line_ids, created=False, relink=True)
                else:
                    item.fail(item_error(bad.get(entry["objectWriteTraceId"]) or {}, "invoice"))
        relink = [
            (self.link("invoice", i.source_id, "invoice").remote_id, line)
            for i in items
            if i.result is None and i.delivery.pk in self._relink
            for line in line_ids.get(i.source_id, [])
        ]
        if relink:
            self.client.associate("invoices", "line_items", relink)

    def _invoice_written(self, item: Item, invoice_id: str, line_ids, *, created: bool, relink: bool = False) -> None:
        previous = self.link("invoice", item.source_id, "invoice")
        old_lines = set((previous.data or {}).get("lines", [])) if previous else set()
        new_lines = line_ids.get(item.source_id, [])
        self.remember(
            "invoice",
            item.source_id,
            "invoice",
            invoice_id,
            {"lines": new_lines, "number": str(item.record.get("invoice_number") or "")},
        )
        if not created and (relink or set(new_lines) - old_lines):
            self._relink.add(item.delivery.pk)
        gone = old_lines - set(new_lines)
        if gone:
            self.client.call(
                "POST",
                "/crm/v3/objects/line_items/batch/archive",
                json={"inputs": [{"id": g} for g in gone]},
                idempotent=True,
                what="archive removed line items",
            )
        item.done.append(
            f"invoice {invoice_id} {'created' if created else 'updated'} with {len(new_lines)} line item(s)"
        )

    # --- 4. payments -------------------------------------------------------------------------------
    def _write_payments(self, items: list[Item]) -> None:
        inputs = []
        for item in items:
            pay = item.record
            amount = ledger._amount(pay.get("amount"))
            currency = str(
                (pay.get("amount") or {}).get("code") or (pay.get("invoice") or {}).get("currency_code") or ""
            )
            values = {
                "hs_initial_amount": f"{amount:.2f}",
                "hs_currency_code": currency,
                "hs_latest_status": "refunded" if pay.get("vis_state") in (1, "1") else "succeeded",
                "hs_processed_date": ledger.midnight_ms(pay.get("date") or ""),
                "hs_payment_method_type": pay.get("type"),
                "hs_reference_number": pay.get("transactionid") or item.source_id,
                "freshbooks_payment_id": item.source_id,
            }
            props = {k: str(v) for k, v in values.items() if v not in (None, "")}
            inputs.append(
                {
                    "id": item.source_id,
                    "idProperty": "freshbooks_payment_id",
                    "properties": props,
                    "objectWriteTraceId": f"p{item.source_id}",
                }
            )
        results, failed = self.client.batch("commerce_payments", "upsert", inputs)
        ok, bad = _by_trace(results, failed)
        to_invoice, to_contact, statuses = [], [], {}
        for item in items:
            trace = f"p{item.source_id}"
            if trace not in ok:
                item.fail(
                    item_error(
                        bad.get(trace) or {"message": "no result"}, f"payment for FreshBooks payment {item.source_id}"
                    )
                )
                continue
            payment_id = str(ok[trace]["id"])
            self.remember("payment", item.source_id, "payment", payment_id)
            invoice_link = self.link("invoice", str(item.record.get("invoiceid") or ""), "invoice")
            contact = self.link("client", item.client_id, "contact")
            if contact:
                to_contact.append((payment_id, contact.remote_id))
            words = f"payment {payment_id}"
            if invoice_link:
                to_invoice.append((payment_id, invoice_link.remote_id))
                invoice = item.record.get("invoice") if isinstance(item.record.get("invoice"), dict) else {}
                status = STATUS.get(str(invoice.get("v3_status") or ""), "open") if invoice else ""
                if status and self.invoices_available():
                    statuses[invoice_link.remote_id] = status
                words += f" on invoice {invoice_link.remote_id}"
            item.done.append(words)
        for error in self.client.associate("commerce_payments", "invoices", to_invoice) + self.client.associate(
            "commerce_payments", "contacts", to_contact
        ):
            log.warning("payment association refused: %s", error.get("message"))
        if statuses:
            inputs = [
                {"id": i, "properties": {"hs_invoice_status": s}, "objectWriteTraceId": f"s{i}"}
                for i, s in statuses.items()
            ]
            try:
                _, failed = self.client.batch("invoices", "update", inputs)
            except ProviderError as exc:
                if not invoice_writes_unavailable(exc):
                    raise
                mark_invoices_unavailable(self.conn, exc)
            else:
                for error in failed:
                    log.warning("invoice status refused: %s", error.get("message"))

    # --- 5. balances -------------------------------------------------------------------------------
    def _write_balances(self, items: list[Item]) -> None:
        clients = {i.client_id for i in items if i.client_id and i.kind in ("invoice", "payment")} - self.balanced
        balance = self.write_balances(clients)
        for item in items:
            if item.client_id in balance and item.result is None and item.kind in ("invoice", "payment"):
                item.done.append(f"balance: {balance[item.client_id]['freshbooks_outstanding']} outstanding")

    def write_balances(self, clients: set[str]) -> dict[str, dict]:
        """The balance properties of these clients' contacts and companies, where they changed."""
        if not clients:
            return {}
        self._load_links({("client", c) for c in clients})
        balance = ledger.balances(self.conn, clients, self.today)
        for object_type, remote_type in (("contacts", "contact"), ("companies", "company")):
            inputs = []
            for client_id in sorted(clients):
                link = self.link("client", client_id, remote_type)
                if link is None or (link.data or {}).get("balance") == balance[client_id]:
                    continue
                inputs.append(
                    {"id": link.remote_id, "properties": balance[client_id], "objectWriteTraceId": f"b{client_id}"}
                )
            if not inputs:
                continue
            results, failed = self.client.batch(object_type, "update", inputs)
            ok, _ = _by_trace(results, failed)
            for entry in inputs:
                client_id = entry["objectWriteTraceId"][1:]
                link = self.link("client", client_id, remote_type)
                if entry["objectWriteTraceId"] in ok:
                    self.remember(
                        "client",
                        client_id,
                        remote_type,
                        link.remote_id,
                        {**(link.data or {}), "balance": balance[client_id]},
                    )
                else:
                    log.warning("balance of client %s not written to its %s", client_id, remote_type)
        return balance


# --- invoice support -------------------------------------------------------------------------------


def mark_invoices_unavailable(conn, exc: ProviderError) -> None:
    """One warning on the connection and in the audit trail, the first time only."""
    conn.refresh_from_db(fields=["config"])
    state = (conn.config or {}).get("invoices") or {}
    if state.get("available", True) is False:
        return
    reason = _reason(exc)
    services.update_config(
        conn,
        {"invoices": {"available": False, "reason": reason, "since": timezone.now().isoformat(), "probe": None}},
        message=f"HubSpot does not accept invoices from ml-connector: {reason}. "
        "Invoices wait and are checked again daily; "
        "contacts, companies and payments keep syncing.",
    )
    record(
        AuditRecord.Kind.CONNECTION,
        connection=conn,
        outcome=AuditRecord.Outcome.ERROR,
        message=f"invoice writes unavailable: {reason}",
    )


def mark_invoices_available(conn) -> None:
    from mlconnector.pipeline.models import Delivery
    from mlconnector.pipeline.resume import resume_deliveries

    conn.refresh_from_db(fields=["config"])
    was = (conn.config or {}).get("invoices") or {}
    services.update_config(
        conn,
        {"invoices": {"available": True, "probe": None}},
        message="HubSpot accepts invoices again" if was.get("available") is False else "HubSpot accepts invoices",
    )
    waiting = Delivery.objects.filter(connection=conn, status=Delivery.Status.WAITING, last_error__isnull=False)
    held = [d.pk for d in waiting if str(d.last_error or "").startswith(INVOICE_WAIT)]
    if held:
        resume_deliveries(Delivery.objects.filter(pk__in=held), "HubSpot accepts invoices again")


def _reason(exc: ProviderError) -> str:
    body = getattr(exc, "body", None) or {}
    scopes = (body.get("context") or {}).get("missingScopes") or []
    if scopes:
        return f"the private app lacks the scope {', '.join(scopes)} (HTTP {exc.status})"
    category = body.get("category") or exc.code
    return f"{body.get('message') or exc.message} [{category}] (HTTP {exc.status})"


def held_invoices(conn) -> list:
    """The invoice deliveries waiting for HubSpot invoice support, oldest first (their reason is
    encrypted, so it is compared here rather than in SQL)."""
    from mlconnector.pipeline.models import Delivery

    return [
        d
        for d in Delivery.objects.filter(connection=conn, status=Delivery.Status.WAITING).order_by("pk")
        if str(d.last_error or "").startswith(INVOICE_WAIT)
    ]


def invoice_probe(conn) -> str:
    """While invoices wait for HubSpot, let the oldest one try again; if HubSpot takes it, the rest follow
    (mark_invoices_available). One write a day, not one per held invoice."""
    from mlconnector.pipeline.models import Delivery
    from mlconnector.pipeline.resume import resume_deliveries

    conn.refresh_from_db(fields=["config"])
    state = (conn.config or {}).get("invoices") or {}
    if state.get("available", True):
        return ""
    held = held_invoices(conn)
    if not held:
        services.update_config(
            conn,
            {"invoices": {**state, "available": True, "probe": None}},
            message="no invoice waits: the next one tries HubSpot again",
        )
        return "no invoice was waiting; the next one tries HubSpot again"
    services.update_config(
        conn, {"invoices": {**state, "probe": held[0].pk}}, message="checking whether HubSpot accepts invoices now"
    )
    resume_deliveries(Delivery.objects.filter(pk=held[0].pk), "checking whether HubSpot accepts invoices now")
    return f"{len(held)} invoice(s) wait for HubSpot invoice support; the oldest tries again now"


def refresh_overdue(integration, audit) -> str:
    """Overdue amounts change with the calendar, without any event: rewrite the balances that moved."""
    from integrations.hubspot.models import LedgerEntry

    clients = set(
        LedgerEntry.objects.filter(connection=integration.connection, kind=LedgerEntry.Kind.INVOICE).values_list(
            "client_id", flat=True
        )
    )
    if not clients:
        return ""
    writer = Writer(integration, [], audit)
    writer._load_links({("client", c) for c in clients})
    now = ledger.balances(integration.connection, clients, writer.today)
    changed = {
        c
        for c in clients
        if (link := writer.link("client", c, "contact")) is not None and (link.data or {}).get("balance") != now[c]
    }
    writer.write_balances(changed)
    return f"balances brought up to date for {len(changed)} client(s)" if changed else ""
