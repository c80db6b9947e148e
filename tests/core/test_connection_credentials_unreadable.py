"""A connection whose credentials cannot be decrypted is put in error, readably;
its operation ends dead with that reason, and the worker carries on."""

from __future__ import annotations

import pytest
import responses
from cryptography.fernet import Fernet

from apps.core.connections import BROKEN_KIND, connection_set_credentials
from apps.core.models import AttentionItem, Connection, OutboundOperation
from apps.core.operations import operation_enqueue, operation_run
from tests.core.connection_platform import BASE, acme_connection

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_clients")]

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def orphaned(settings) -> Connection:
    """Credentials written with a key the deployment no longer has."""
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    connection = acme_connection("Restaurant A", "key-a")
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    return connection


def _enqueue(connection: Connection, key: str = "acme:thing:1") -> OutboundOperation:
    operation, _ = operation_enqueue(platform="acme", kind="test.acme.fetch", idempotency_key=key,
                                     entity_type="acme.thing", entity_id=key,
                                     connection=connection)
    return operation


@responses.activate
def test_it_ends_the_operation_dead_with_the_reason_and_breaks_the_connection(orphaned):
    calls = responses.get(f"{BASE}/things", json={"ok": True})
    operation = _enqueue(orphaned)

    operation = operation_run(operation.pk)

    assert operation.state == OutboundOperation.State.DEAD
    assert "cannot be decrypted" in operation.last_error
    assert calls.call_count == 0
    orphaned.refresh_from_db()
    assert orphaned.status == Connection.Status.ERROR
    assert "FIELD_ENCRYPTION_KEYS" in orphaned.status_reason
    assert orphaned.last_error_at is not None
    item = AttentionItem.objects.open().get(kind=BROKEN_KIND)
    assert item.subject == orphaned and "cannot be decrypted" in item.summary


@responses.activate
def test_the_worker_goes_on_with_the_other_connections(orphaned):
    responses.get(f"{BASE}/things", json={"ok": True})
    healthy = acme_connection("Restaurant B", "key-b")
    broken_op, healthy_op = _enqueue(orphaned), _enqueue(healthy, "acme:thing:2")

    assert operation_run(broken_op.pk).state == OutboundOperation.State.DEAD
    assert operation_run(healthy_op.pk).state == OutboundOperation.State.SUCCEEDED


@responses.activate
def test_new_credentials_reconnect_it_and_clear_the_attention_item(orphaned):
    responses.get(f"{BASE}/things", json={"ok": True})
    assert operation_run(_enqueue(orphaned).pk).state == OutboundOperation.State.DEAD

    connection_set_credentials(connection=orphaned, changes={"api_key": "key-a2"})

    orphaned.refresh_from_db()
    assert orphaned.status == Connection.Status.CONNECTED and not orphaned.status_reason
    assert orphaned.credentials().api_key == "key-a2"
    assert not AttentionItem.objects.open().filter(kind=BROKEN_KIND).exists()
    assert operation_run(_enqueue(orphaned, "acme:thing:3").pk).state == \
        OutboundOperation.State.SUCCEEDED
    assert responses.calls[0].request.headers["X-Api-Key"] == "key-a2"
