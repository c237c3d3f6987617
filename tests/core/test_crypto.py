"""Encryption at rest: ciphertext in the database, keys separate from SECRET_KEY, rotation."""

import pytest
from django.core.management import call_command
from django.db import connection

from mlconnector.connections.models import Connection
from mlconnector.crypto import DecryptionError, Keyring
from tests.factories import ConnectionFactory

SECRET = "fb-access-token-very-secret-1"


def raw_column(model, pk, column):
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])
        return bytes(cur.fetchone()[0])


@pytest.mark.django_db
def test_it_stores_credentials_as_ciphertext_and_reads_them_back():
    conn = ConnectionFactory(credentials={"access_token": SECRET})
    assert SECRET.encode() not in raw_column(Connection, conn.pk, "credentials")
    assert Connection.objects.get(pk=conn.pk).credentials == {"access_token": SECRET}


@pytest.mark.django_db
def test_it_does_not_depend_on_secret_key(settings):
    conn = ConnectionFactory(credentials={"access_token": SECRET})
    settings.SECRET_KEY = "a-completely-different-secret-key-after-rotation-0000000"
    assert Connection.objects.get(pk=conn.pk).credentials["access_token"] == SECRET


@pytest.mark.django_db
def test_it_refuses_to_decrypt_with_the_wrong_key(settings):
    conn = ConnectionFactory(credentials={"access_token": SECRET})
    settings.MLCONNECTOR_ENCRYPTION_KEYS = ["some-other-key-entirely-000000000000"]
    with pytest.raises(DecryptionError):
        Connection.objects.get(pk=conn.pk)


@pytest.mark.django_db
def test_it_keeps_old_ciphertexts_readable_until_rotation_then_rewrites_them(settings):
    old = settings.MLCONNECTOR_ENCRYPTION_KEYS[0]
    conn = ConnectionFactory(credentials={"access_token": SECRET})
    before = raw_column(Connection, conn.pk, "credentials")

    settings.MLCONNECTOR_ENCRYPTION_KEYS = ["the-new-primary-key-0000000000000000", old]
    assert Connection.objects.get(pk=conn.pk).credentials["access_token"] == SECRET  # old key still opens it
    assert not Keyring(("the-new-primary-key-0000000000000000",)).is_current(before)

    call_command("rotate_encryption_key")
    after = raw_column(Connection, conn.pk, "credentials")
    assert after != before
    assert Keyring(("the-new-primary-key-0000000000000000",)).is_current(after)

    settings.MLCONNECTOR_ENCRYPTION_KEYS = ["the-new-primary-key-0000000000000000"]  # old key dropped
    assert Connection.objects.get(pk=conn.pk).credentials["access_token"] == SECRET


@pytest.mark.django_db
def test_it_exports_ciphertext_not_plaintext_in_dumpdata(capsys):
    ConnectionFactory(credentials={"access_token": SECRET})
    call_command("dumpdata", "connections", stdout=None)
    out = capsys.readouterr().out
    assert "credentials" in out and SECRET not in out


def test_it_rejects_an_empty_keyring():
    with pytest.raises(ValueError):
        Keyring(("",))
