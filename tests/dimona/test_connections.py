"""A second ONSS employer account, added as a connection, declares with its own key.

End to end against the ONSS simulator: the simulator knows the hub's own
client (the default connection, from the environment) and a second client
registered with its own certificate, as the ONSS would after Chaman.
"""

from __future__ import annotations

import pytest
import time_machine

from apps.core.connections import client_cache_clear, connection_create, connection_default
from apps.core.models import Connection, Credentials, OutboundOperation, SyncLog
from apps.core.simulator import serve
from apps.dimona import services
from apps.dimona.credentials import dimona_credentials, generate_key_pair
from apps.dimona.models import DimonaDeclaration
from apps.dimona.simulator import build
from tests.dimona.factories import EmployerFactory, ShiftFactory, brussels
from tests.dimona.helpers import drive_outbox

pytestmark = [pytest.mark.django_db, pytest.mark.e2e]

SECOND_CLIENT = "employer-b-onss"


@pytest.fixture(scope="module")
def second_key_pair() -> tuple[str, str]:
    return generate_key_pair("Employer B (test)")


@pytest.fixture
def onss(settings, second_key_pair, request):
    """The simulator, knowing the hub's client and, unless told otherwise, the second one."""
    client_cache_clear()
    hub = dimona_credentials()
    clients = {hub.client_id: hub.certificate_pem}
    if not getattr(request, "param", {}).get("second_unknown"):
        clients[SECOND_CLIENT] = second_key_pair[1]
    running = serve(build(processing_delay_seconds=0.5, cancel_delay_seconds=1.0,
                          clients=clients))
    settings.DIMONA_API_URL = f"{running.url}/REST/dimona/v2"
    settings.DIMONA_TOKEN_URL = f"{running.url}/REST/oauth/v5/token"
    yield running.simulator
    running.stop()
    client_cache_clear()


@pytest.fixture
def second_account(second_key_pair) -> Connection:
    return connection_create(
        platform="dimona", name="Employer B's ONSS account", tenant_type="dimona.employer",
        credentials=Credentials(client_id=SECOND_CLIENT,
                                extra={"private_key_pem": second_key_pair[0]}))


def _declare_both(second_account):
    own = ShiftFactory(employer=EmployerFactory(connection=second_account),
                       start=brussels(2026, 11, 23, 17))
    default = ShiftFactory(start=brussels(2026, 11, 23, 18))
    with time_machine.travel(brussels(2026, 11, 22, 20), tick=True) as traveller:
        declarations = [services.shift_declare(shift=own), services.shift_declare(shift=default)]
        drive_outbox(traveller)
    for declaration in declarations:
        declaration.refresh_from_db()
    return declarations


def test_each_employer_declares_through_its_own_account(onss, second_account):
    own, default = _declare_both(second_account)

    assert (own.status, own.result) == (DimonaDeclaration.Status.ACCEPTED, "A")
    assert (default.status, default.result) == (DimonaDeclaration.Status.ACCEPTED, "A")
    issued_to = {token.client_id for token in onss.tokens._tokens.values()}
    assert issued_to == {SECOND_CLIENT, dimona_credentials().client_id}
    default_connection = connection_default(platform="dimona")
    assert own.operation.connection == second_account
    assert default.operation.connection is None  # empty: the default account
    for declaration, connection in ((own, second_account), (default, default_connection)):
        rows = SyncLog.objects.filter(entity_type="dimona.declaration",
                                      entity_id=str(declaration.pk))
        assert rows.exists()
        assert set(rows.values_list("connection_id", flat=True)) == {connection.pk}
    second_account.refresh_from_db()
    assert second_account.last_success_at is not None


@pytest.mark.parametrize("onss", [{"second_unknown": True}], indirect=True)
def test_an_account_the_onss_refuses_is_put_in_error_and_the_other_goes_on(onss,
                                                                        second_account):
    own, default = _declare_both(second_account)

    assert default.status == DimonaDeclaration.Status.ACCEPTED
    assert own.status == DimonaDeclaration.Status.FAILED
    assert own.operation.state == OutboundOperation.State.DEAD
    second_account.refresh_from_db()
    assert second_account.status == Connection.Status.ERROR
    assert "invalid_client" in second_account.status_reason
