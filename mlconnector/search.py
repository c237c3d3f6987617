"""Search over encrypted customer data: a keyed blind index.

Invoice numbers and client names are stored encrypted, so the database cannot match them. Each
event's searchable text is cut into normalised words (case and accents folded), and every prefix of
every word (2 to 20 characters; a number also without its leading zeros) is stored as an HMAC under a
key derived from the encryption keyring (EventSearchTerm). A search hashes the words typed the same
way and matches events holding every one of them: "north trad" finds "Northwind Traders", "42" finds
invoice "0000042". The digests reveal nothing without the key; the index is rebuilt under the new key
by `manage.py rotate_encryption_key`, and until then a search looks under every configured key.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from django.db.models import QuerySet

from mlconnector.crypto import blind_digest, blind_index_keys

MIN_PREFIX, MAX_PREFIX = 2, 20
_WORD = re.compile(r"[0-9a-z]+")


def words(text: str) -> list[str]:
    """Lower-case ASCII words of a text, accents folded ("Crème Brûlée" -> ["creme", "brulee"])."""
    folded = unicodedata.normalize("NFKD", str(text or "")).casefold()
    return _WORD.findall("".join(c for c in folded if not unicodedata.combining(c)))


def terms(texts: Iterable[str]) -> set[str]:
    """Everything a search may type to find these texts: each word's prefixes."""
    found: set[str] = set()
    for text in texts:
        for word in words(text):
            variants = {word}
            if word.isdigit() and word.lstrip("0"):
                variants.add(word.lstrip("0"))  # invoice "0000042" is found as "42"
            for variant in variants:
                for size in range(MIN_PREFIX, min(len(variant), MAX_PREFIX) + 1):
                    found.add(variant[:size])
                if len(variant) < MIN_PREFIX:
                    found.add(variant)
    return found


def digests(term_set: Iterable[str], key: bytes | None = None) -> set[str]:
    keys = [key] if key is not None else blind_index_keys()
    return {blind_digest(k, t) for t in term_set for k in keys}


def index_event(event, texts: Iterable[str] | None = None) -> None:
    """(Re)write an event's search terms under the primary key."""
    from mlconnector.webhooks.models import EventSearchTerm

    if texts is None:
        texts = (event.invoice_number, event.counterparty)
    primary = blind_index_keys()[0]
    rows = [
        EventSearchTerm(tenant_id=event.tenant_id, event_id=event.pk, term=d)
        for d in sorted(digests(terms(texts), primary))
    ]
    EventSearchTerm.objects.filter(event_id=event.pk).delete()
    EventSearchTerm.objects.bulk_create(rows, ignore_conflicts=True)


def matching(events: QuerySet, text: str, tenant_id) -> QuerySet:
    """Events whose indexed text holds every word of `text` (as a word or the start of one)."""
    from mlconnector.webhooks.models import EventSearchTerm

    wanted = [w[:MAX_PREFIX] for w in words(text)]
    if not wanted:
        return events.none()
    for word in wanted:
        variants = {word, word.lstrip("0")} - {""} if word.isdigit() else {word}
        ids = EventSearchTerm.objects.filter(tenant_id=tenant_id, term__in=digests(variants)).values("event_id")
        events = events.filter(pk__in=ids)
    return events


def matching_any_tenant(events: QuerySet, text: str) -> QuerySet:
    """As matching(), for a queryset already limited to what its reader may see (the admin)."""
    from mlconnector.webhooks.models import EventSearchTerm

    wanted = [w[:MAX_PREFIX] for w in words(text)]
    if not wanted:
        return events.none()
    for word in wanted:
        variants = {word, word.lstrip("0")} - {""} if word.isdigit() else {word}
        events = events.filter(pk__in=EventSearchTerm.objects.filter(term__in=digests(variants)).values("event_id"))
    return events


def reindex_all(batch: int = 500) -> int:
    """Rewrite every event's terms under the primary key (after a key rotation)."""
    from mlconnector.webhooks.models import InboundEvent

    count = 0
    for event in InboundEvent.objects.only("pk", "tenant_id", "invoice_number", "counterparty").iterator(batch):
        index_event(event)
        count += 1
    return count
