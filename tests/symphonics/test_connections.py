"""A second Symphonics client, added as a connection, publishes with its own credentials."""

from __future__ import annotations

import pytest

from apps.core.connections import connection_create, connection_default
from apps.core.models import Connection, Credentials, OutboundOperation, SyncLog
from apps.symphonics.client import PLATFORM
from apps.symphonics.models import Intervention
from tests.symphonics.factories import InterventionFactory

pytestmark = pytest.mark.django_db
State = OutboundOperation.State
SECOND_ID, SECOND_SECRET = "client-b", "client-b-secret-4f1e"


@pytest.fixture
def second_client() -> Connection:
    return connection_create(platform=PLATFORM, name="Client B", tenant_type="organisation",
                             tenant_id="b", credentials=Credentials(client_id=SECOND_ID,
                                                                    client_secret=SECOND_SECRET))


def test_an_intervention_of_the_second_client_is_published_with_its_credentials(
        simulator, publish, second_client):
    # This Symphonics knows the second client only, not the environment's.
    sim = simulator(client_id=SECOND_ID, client_secret=SECOND_SECRET)
    intervention = InterventionFactory(connection=second_client)

    operation = publish(intervention)

    assert operation.state == State.SUCCEEDED
    assert operation.connection == second_client
    assert intervention.status == Intervention.Status.CREATED
    assert sum(1 for _, method, path in sim.requests
               if (method, path) == ("POST", "/crm/interventions")) == 1
    rows = SyncLog.objects.filter(action__in=["auth.token", "intervention.create"])
    assert {row.action for row in rows} == {"auth.token", "intervention.create"}
    assert {row.connection_id for row in rows} == {second_client.pk}
    assert all(SECOND_SECRET not in row.request_body for row in rows)


def test_the_default_client_failing_does_not_touch_the_second(simulator, publish,
                                                              second_client):
    simulator(client_id=SECOND_ID, client_secret=SECOND_SECRET)
    refused = InterventionFactory()  # no connection: the environment's client

    assert publish(refused).state == State.DEAD
    assert publish(InterventionFactory(connection=second_client)).state == State.SUCCEEDED

    default = connection_default(platform=PLATFORM)
    assert default.status == Connection.Status.ERROR
    assert "Invalid client credentials" in default.status_reason
    second_client.refresh_from_db()
    assert second_client.status == Connection.Status.CONNECTED
