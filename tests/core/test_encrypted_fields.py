"""Encrypted values: unreadable in the database row, readable through the model,
and still readable after a key rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import connection, models
from django.test.utils import isolate_apps

from apps.core.fields import EncryptedTextField, decrypt_str, encrypt_str, rotate_token

SSIN = "85073003328"
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


@pytest.fixture
def old_key_only(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]


def _key_of(token: str) -> str | None:
    for key in (OLD_KEY, NEW_KEY):
        try:
            Fernet(key.encode()).decrypt(token.encode())
        except Exception:  # noqa: S112 - not this key, try the next one
            continue
        return key
    return None


def test_it_stores_a_fernet_token_instead_of_the_plaintext(old_key_only):
    field = EncryptedTextField()

    stored = field.get_prep_value(SSIN)

    assert SSIN not in stored
    assert _key_of(stored) == OLD_KEY
    assert field.from_db_value(stored, None, connection) == SSIN


def test_it_encrypts_the_same_value_differently_each_time(old_key_only):
    assert encrypt_str(SSIN) != encrypt_str(SSIN)


@pytest.mark.parametrize("empty", [None, ""])
def test_it_leaves_empty_values_alone(empty):
    field = EncryptedTextField()

    assert field.get_prep_value(empty) == empty
    assert field.from_db_value(empty, None, connection) == empty


def test_it_decrypts_values_of_an_old_key_after_rotation(settings, old_key_only):
    stored = encrypt_str(SSIN)

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    assert decrypt_str(stored) == SSIN
    assert _key_of(encrypt_str(SSIN)) == NEW_KEY


def test_it_reencrypts_with_the_new_key_on_rotation(settings, old_key_only):
    stored = encrypt_str(SSIN)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    rotated = rotate_token(stored)

    assert _key_of(rotated) == NEW_KEY
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the old key can now be dropped
    assert decrypt_str(rotated) == SSIN


def test_it_says_which_setting_is_wrong_when_no_key_fits(settings, old_key_only):
    stored = encrypt_str(SSIN)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]

    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        decrypt_str(stored)


def test_it_offers_no_lookup_on_the_ciphertext_but_isnull():
    field = EncryptedTextField()

    assert field.get_lookup("exact") is None
    assert field.get_lookup("icontains") is None
    assert field.get_lookup("isnull") is not None


@pytest.mark.django_db
@isolate_apps("apps.core.apps.CoreConfig")
def test_it_keeps_the_plaintext_out_of_the_database_row(old_key_only):
    class Secretive(models.Model):
        ssin = EncryptedTextField()
        note = EncryptedTextField(blank=True, null=True)

        class Meta:
            app_label = "core"
            db_table = "test_core_secretive"

        def __str__(self) -> str:
            return f"secretive {self.pk}"

    # Created inside the test's transaction, so it disappears with it.
    # (SQLite's schema editor refuses to run in a transaction; plain DDL does not.)
    sql, params = connection.schema_editor().table_sql(Secretive)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)

    row = Secretive.objects.create(ssin=SSIN, note=None)

    with connection.cursor() as cursor:
        cursor.execute("SELECT ssin, note FROM test_core_secretive WHERE id = %s", [row.pk])
        raw_ssin, raw_note = cursor.fetchone()
    assert SSIN not in raw_ssin
    assert _key_of(raw_ssin) == OLD_KEY
    assert raw_note is None
    assert Secretive.objects.get(pk=row.pk).ssin == SSIN
    # Equality on randomised ciphertext could never match: refused outright.
    with pytest.raises(FieldError, match="Unsupported lookup"):
        Secretive.objects.filter(ssin=SSIN).exists()
    assert Secretive.objects.filter(note__isnull=True).count() == 1
