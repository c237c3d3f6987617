"""Encryption at rest: a keyring over django_cryptography's Fernet primitives, and model fields.

django_cryptography's own `encrypt()` fields sign with SECRET_KEY, so rotating SECRET_KEY would make
every stored credential unreadable. Here both the AES key and the HMAC key derive from
MLCONNECTOR_ENCRYPTION_KEYS instead. The first key encrypts; every key decrypts, so a new key can be
prepended and `manage.py rotate_encryption_key` re-encrypts the rows before the old key is removed.
"""

from __future__ import annotations

import base64
import hmac
import json
from decimal import Decimal
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django_cryptography.core.signing import BadSignature, FernetSigner
from django_cryptography.utils.crypto import FernetBytes, InvalidToken


class DecryptionError(Exception):
    """No configured key opens this ciphertext (wrong key, or the data was tampered with)."""


def _derive(key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"ml-connector", info=purpose).derive(key.encode("utf-8"))


class Keyring:
    def __init__(self, keys: tuple[str, ...]):
        if not keys or not all(keys):
            raise ValueError("MLCONNECTOR_ENCRYPTION_KEYS must hold at least one non-empty key")
        self._ciphers = [
            FernetBytes(_derive(k, b"aes-256-cbc"), FernetSigner(_derive(k, b"hmac-sha256"))) for k in keys
        ]

    def encrypt(self, data: bytes) -> bytes:
        return self._ciphers[0].encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        for cipher in self._ciphers:
            try:
                return cipher.decrypt(token)
            except (BadSignature, InvalidToken):
                continue
        raise DecryptionError("no configured encryption key opens this value")

    def is_current(self, token: bytes) -> bool:
        """True when the primary key opens the token (nothing to re-encrypt)."""
        try:
            self._ciphers[0].decrypt(token)
        except (BadSignature, InvalidToken):
            return False
        return True


@lru_cache(maxsize=4)
def _keyring_for(keys: tuple[str, ...]) -> Keyring:
    return Keyring(keys)


def keyring() -> Keyring:
    return _keyring_for(tuple(settings.MLCONNECTOR_ENCRYPTION_KEYS))


def blind_index_keys() -> list[bytes]:
    """Keys for the search index (search.py), one per configured key, the primary first: a term is
    looked up under each, so search keeps working while a rotation is under way."""
    return [_blind_key(k) for k in settings.MLCONNECTOR_ENCRYPTION_KEYS]


@lru_cache(maxsize=8)
def _blind_key(key: str) -> bytes:
    return _derive(key, b"blind-index-hmac-sha256")


def blind_digest(key: bytes, text: str) -> str:
    """A keyed, one-way digest of a normalised search term (hex, 128 bits)."""
    return hmac.new(key, text.encode("utf-8"), "sha256").hexdigest()[:32]


def encrypt_bytes(data: bytes) -> bytes:
    return keyring().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    return keyring().decrypt(token)


class EncryptedField(models.BinaryField):
    """Bytes stored as ciphertext (subclasses encrypt text and JSON). Only `isnull` lookups work."""

    description = "Encrypted value"

    def to_bytes(self, value: Any) -> bytes:
        return bytes(value)

    def from_bytes(self, data: bytes) -> Any:
        return data

    def get_lookup(self, lookup_name):
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def get_transform(self, lookup_name):
        return None

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        return connection.Database.Binary(encrypt_bytes(self.to_bytes(value)))

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return self.from_bytes(decrypt_bytes(bytes(value)))

    def to_python(self, value):
        # Serialized fixtures carry ciphertext as base64 (see value_to_string).
        if isinstance(value, str):
            return self.from_bytes(decrypt_bytes(base64.b64decode(value)))
        return value

    def value_to_string(self, obj):
        # dumpdata must never write plaintext: export the ciphertext.
        value = self.value_from_object(obj)
        if value is None:
            return None
        return base64.b64encode(encrypt_bytes(self.to_bytes(value))).decode("ascii")


class EncryptedTextField(EncryptedField):
    def to_bytes(self, value: Any) -> bytes:
        return str(value).encode("utf-8")

    def from_bytes(self, data: bytes) -> str:
        return data.decode("utf-8")


class EncryptedCharField(EncryptedTextField):
    """Text stored encrypted, "" stored as NULL (no ciphertext for nothing), read back as "".

    For columns that used to be plain CharFields with a "" default: code keeps reading a string."""

    def _check_str_default_value(self):
        return []  # the default is the plaintext "" (stored as NULL), not bytes

    def get_db_prep_value(self, value, connection, prepared=False):
        return None if value in (None, "") else super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value, expression, connection):
        return "" if value is None else super().from_db_value(value, expression, connection)


class EncryptedDecimalField(EncryptedField):
    """A Decimal stored encrypted (an amount is customer data); compared and summed in Python."""

    def to_bytes(self, value: Any) -> bytes:
        return str(Decimal(str(value))).encode("ascii")

    def from_bytes(self, data: bytes) -> Decimal:
        return Decimal(data.decode("ascii"))


class EncryptedBytesField(EncryptedField):
    pass


class EncryptedJSONField(EncryptedField):
    def to_bytes(self, value: Any) -> bytes:
        return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":")).encode("utf-8")

    def from_bytes(self, data: bytes) -> Any:
        return json.loads(data)


def encrypted_fields(model: type[models.Model]) -> list[EncryptedField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
