"""FreshBooks webhook signatures: the vector from the vendor notes, computed independently here."""

import base64
import hashlib
import hmac
import json

import pytest

from integrations.freshbooks import signatures
from mlconnector.contract import MalformedWebhook

VERIFIER = "scADVVi5QuKuj5qTjVkbJNYQe7V7USpGd"
BODY = b"name=invoice.create&object_id=1234567&account_id=6BApk&business_id=6543&identity_id=1234&user_id=1"
EXPECTED = "/S03vyYmI7CekM4YXBHUhs9o5rnMtqGLrW3aA8S9gPc="


def independent_signature(body: bytes, verifier: str) -> str:
    # FreshBooks' own reference: json.dumps(dict((k, str(v)) for k, v in request.form.items()))
    from urllib.parse import parse_qsl

    message = json.dumps(dict(parse_qsl(body.decode())))
    return base64.b64encode(hmac.new(verifier.encode(), message.encode(), hashlib.sha256).digest()).decode()


def test_it_reproduces_the_documented_vector():
    assert independent_signature(BODY, VERIFIER) == EXPECTED
    assert signatures.sign(signatures.parse_form(BODY), VERIFIER) == EXPECTED


def test_it_accepts_the_correct_signature_and_nothing_else():
    fields = signatures.parse_form(BODY)
    assert signatures.matches(fields, VERIFIER, EXPECTED)
    assert not signatures.matches(fields, VERIFIER + "x", EXPECTED)
    assert not signatures.matches(fields, VERIFIER, EXPECTED.replace("/", "+"))
    assert not signatures.matches(fields, VERIFIER, "")
    assert not signatures.matches(fields, "", EXPECTED)


@pytest.mark.parametrize(
    "wrong",
    [
        # hex instead of base64
        hmac.new(VERIFIER.encode(), json.dumps({"name": "invoice.create"}).encode(), hashlib.sha256).hexdigest(),
        # over the raw body instead of the JSON re-serialisation
        base64.b64encode(hmac.new(VERIFIER.encode(), BODY, hashlib.sha256).digest()).decode(),
        # compact JSON
        base64.b64encode(
            hmac.new(
                VERIFIER.encode(),
                json.dumps(dict(signatures.parse_form(BODY)), separators=(",", ":")).encode(),
                hashlib.sha256,
            ).digest()
        ).decode(),
        # sorted keys
        base64.b64encode(
            hmac.new(
                VERIFIER.encode(),
                json.dumps(dict(signatures.parse_form(BODY)), sort_keys=True).encode(),
                hashlib.sha256,
            ).digest()
        ).decode(),
    ],
)
def test_it_rejects_the_usual_wrong_schemes(wrong):
    assert not signatures.matches(signatures.parse_form(BODY), VERIFIER, wrong)


def test_it_also_accepts_the_documented_field_order():
    shuffled = b"user_id=1&identity_id=1234&business_id=6543&account_id=6BApk&object_id=1234567&name=invoice.create"
    fields = signatures.parse_form(shuffled)
    # Signed by a sender that used the documented order, received in another order.
    assert signatures.matches(fields, VERIFIER, EXPECTED)


def test_it_keeps_non_ascii_escaped_like_python_json():
    body = b"name=client.update&object_id=9&account_id=A%C3%A9"
    with pytest.raises(MalformedWebhook):
        signatures.parse_form("name=client.update&object_id=9&account_id=Aé".encode())
    fields = signatures.parse_form(body)
    assert signatures.message(fields) == b'{"name": "client.update", "object_id": "9", "account_id": "A\\u00e9"}'


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"object_id=1",
        b"name=invoice.create",
        b"name=invoice.create&object_id=",
        b"name=<script>&object_id=1",
        b"\xff\xfe",
        b"name=invoice.create&object_id=1&&&=",
        b'{"name": "invoice.create"}',
    ],
)
def test_it_calls_malformed_bodies_malformed(body):
    with pytest.raises(MalformedWebhook):
        signatures.parse_form(body)
