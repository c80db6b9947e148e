"""Every MY TUNICLAIM page of the back-office (the sync page and the actions'
pages too) is refused to a staff account without permissions, and changes nothing."""

from __future__ import annotations

import pytest

from apps.core.models import SyncRun
from apps.tuniclaim.models import Bordereau, BulletinSoin, QuarantinedRecord
from tests.core.test_admin_permissions import (  # noqa: F401  (one_of_each is a fixture)
    admin_addresses,
    one_of_each,
)
from tests.factories import UserFactory
from tests.tuniclaim.factories import BulletinSoinItemFactory
from tests.tuniclaim.test_admin import make_quarantined, make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def tuniclaim_rows():
    # A care act comes with its claim, bordereau, client and contract.
    BulletinSoinItemFactory()
    make_quarantined(run=make_run())


@pytest.mark.usefixtures("one_of_each", "tuniclaim_rows")
@pytest.mark.parametrize("method", ["get", "post"])
def test_it_refuses_every_tuniclaim_page_to_a_staff_account_without_permissions(client,
                                                                                method):
    client.force_login(UserFactory(username="outsider", is_staff=True))
    addresses = [address for address in admin_addresses()
                 if address.url.startswith("/admin/tuniclaim/")]
    models = (Bordereau, BulletinSoin, QuarantinedRecord, SyncRun)
    before = {model: model.objects.count() for model in models}

    wrong = [f"{method.upper()} {address.url} answered {status}"
             for address in addresses
             if (status := getattr(client, method)(address.url).status_code)
             != address.expected_status(method)]

    assert not wrong, "\n".join(wrong)
    assert {model: model.objects.count() for model in models} == before
    walked = {address.url for address in addresses}
    assert {"/admin/tuniclaim/", "/admin/tuniclaim/bordereau/sync/"} <= walked
    assert any("/actions/change_status/" in url for url in walked)
    assert any("/actions/retry_import/" in url for url in walked)
