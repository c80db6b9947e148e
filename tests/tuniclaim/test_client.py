"""The MY TUNICLAIM client: both listing shapes, bearer token, exact amounts,
errors as the core's exceptions, idempotent PUTs retried."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import responses

from apps.core.connections import client_cache_clear, connection_create
from apps.core.http import PermanentError, TransientError
from apps.core.models import Credentials, SyncLog
from apps.tuniclaim import client as client_module
from apps.tuniclaim.client import PLATFORM, Page, tuniclaim_client
from tests.helpers import sleeps_recorded

pytestmark = pytest.mark.django_db

API = "https://tuniclaim.test"
LISTING = f"{API}/api/bordereaux"


@pytest.fixture(autouse=True)
def _api(settings, monkeypatch):
    settings.TUNICLAIM_API_URL = API
    settings.TUNICLAIM_API_TOKEN = ""
    yield sleeps_recorded(monkeypatch, client_module)
    client_cache_clear()


@responses.activate
def test_it_reads_a_page_of_the_listing_with_its_parameters():
    responses.get(LISTING, body=json.dumps({"bordereaux": [{"id": 1}], "page": 2,
                                            "totalPages": 7}))
    page = tuniclaim_client().bordereaux_page(page=2, page_size=50,
                                              updated_since="2025-03-01T10:00:00+00:00")

    assert page == Page(items=[{"id": 1}], page=2, total_pages=7)
    sent = responses.calls[0].request
    assert sent.params == {"page": "2", "pageSize": "50",
                           "updatedSince": "2025-03-01T10:00:00+00:00"}


@responses.activate
def test_a_bare_array_is_the_only_page():
    responses.get(LISTING, body=json.dumps([{"id": 1}, {"id": 2}]))
    page = tuniclaim_client().bordereaux_page(page=1, page_size=50, updated_since=None)

    assert page == Page(items=[{"id": 1}, {"id": 2}], page=1, total_pages=1)
    assert "updatedSince" not in responses.calls[0].request.params


@responses.activate
def test_an_entry_that_is_not_an_object_is_kept_for_the_mapper_to_refuse():
    responses.get(LISTING, body=json.dumps([{"id": 1}, "garbage"]))
    page = tuniclaim_client().bordereaux_page(page=1, page_size=50, updated_since=None)
    assert page.items == [{"id": 1}, {"_unreadable": "garbage"}]


@responses.activate
def test_amounts_are_decimals_read_from_the_json_text():
    responses.get(f"{LISTING}/b-1/bulletins",
                  body='[{"numBs": "BS-1", "totalPec": 150.5, "items": '
                       '[{"depense": 0.1, "pec": 0.2}]}]')
    [bulletin] = tuniclaim_client().bulletins(bordereau_external_id="b-1")

    assert bulletin["totalPec"] == Decimal("150.5")
    assert isinstance(bulletin["totalPec"], Decimal)
    assert bulletin["items"][0]["depense"] + bulletin["items"][0]["pec"] == Decimal("0.3")


@responses.activate
def test_no_token_is_sent_when_none_is_set():
    responses.get(LISTING, json=[])
    tuniclaim_client().bordereaux_page(page=1, page_size=50, updated_since=None)
    assert "Authorization" not in responses.calls[0].request.headers


@responses.activate
def test_the_environment_token_is_sent_as_bearer_and_kept_out_of_the_audit(settings):
    settings.TUNICLAIM_API_TOKEN = "s3cret-token"
    responses.get(LISTING, json=[])
    tuniclaim_client().bordereaux_page(page=1, page_size=50, updated_since=None)

    assert responses.calls[0].request.headers["Authorization"] == "Bearer s3cret-token"
    log = SyncLog.objects.get(platform=PLATFORM)
    assert "s3cret-token" not in json.dumps(log.request_headers)


@responses.activate
def test_a_connection_sends_its_own_token(settings):
    settings.TUNICLAIM_API_TOKEN = "environment-token"
    connection = connection_create(platform=PLATFORM, name="ARS Sfax",
                                   credentials=Credentials(api_key="sfax-token"))
    responses.get(LISTING, json=[])
    tuniclaim_client(connection).bordereaux_page(page=1, page_size=50, updated_since=None)

    assert responses.calls[0].request.headers["Authorization"] == "Bearer sfax-token"


@responses.activate
def test_a_refusal_is_a_permanent_error_at_once():
    responses.get(f"{LISTING}/b-9/bulletins", status=404, json={"message": "not found"})
    with pytest.raises(PermanentError) as refused:
        tuniclaim_client().bulletins(bordereau_external_id="b-9")

    assert refused.value.status_code == 404
    assert len(responses.calls) == 1


@responses.activate
def test_server_errors_are_retried_three_times_with_backoff(_api):
    responses.get(LISTING, status=503)
    with pytest.raises(TransientError):
        tuniclaim_client().bordereaux_page(page=1, page_size=50, updated_since=None)

    assert len(responses.calls) == 4
    assert len(_api) == 3


@responses.activate
def test_an_unreadable_answer_is_transient():
    responses.get(LISTING, body="<html>proxy error</html>")
    with pytest.raises(TransientError):
        tuniclaim_client().bordereaux_page(page=1, page_size=50, updated_since=None)


@responses.activate
def test_an_object_of_another_shape_is_transient():
    responses.get(LISTING, json={"items": []})
    with pytest.raises(TransientError):
        tuniclaim_client().bordereaux_page(page=1, page_size=50, updated_since=None)


@responses.activate
def test_the_puts_send_their_body_and_are_retried_as_idempotent():
    url = f"{LISTING}/b%2F1/status"
    responses.put(url, status=500)
    responses.put(url, json={"ok": True})
    body = {"bordereauId": "BR-1", "bsId": "BS-1", "oldStatus": "IN_PROGRESS",
            "newStatus": "VALIDATED"}
    answer = tuniclaim_client().put_status(bordereau_external_id="b/1", body=body)

    assert answer == {"ok": True}
    assert len(responses.calls) == 2
    assert json.loads(responses.calls[1].request.body) == body


@responses.activate
def test_a_payment_put_answered_without_a_body_is_a_success():
    responses.put(f"{LISTING}/b-1/payment", status=204)
    answer = tuniclaim_client().put_payment(bordereau_external_id="b-1",
                                            body={"paymentStatus": "EXECUTE"})
    assert answer == {}


@responses.activate
def test_the_insured_names_are_masked_in_the_audit_trail():
    responses.get(f"{LISTING}/b-1/bulletins",
                  json=[{"numBs": "BS-1", "nomAssure": "Ahmed Ben Salah",
                         "nomBeneficiaire": "Leila Ben Salah"}])
    tuniclaim_client().bulletins(bordereau_external_id="b-1")

    log = SyncLog.objects.get(platform=PLATFORM)
    assert "Ahmed" not in log.response_body
    assert "Leila" not in log.response_body
