"""The core's own endpoints (attention queue, OAuth connect and callback) refuse
an unknown query parameter with a 400 naming it, as the domains' endpoints do."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.core.models import OAuthState
from tests.core.oauth_stub import OAuthConnectionFactory

pytestmark = pytest.mark.django_db


def _refused_names(response) -> set[str]:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "unknown_query_parameter"
    return set(error["details"])


def test_it_refuses_an_unknown_parameter_of_the_attention_queue(api_client):
    response = api_client.get("/api/attention/", {"search": "dimona", "domian": "dimona"})

    assert _refused_names(response) == {"search", "domian"}


def test_it_takes_the_attention_queues_filters_pagination_and_format(api_client):
    response = api_client.get("/api/attention/", {"domain": "dimona", "kind": "dimona.refused",
                                                  "page": 1, "page_size": 10, "format": "json"})

    assert response.status_code == 200, response.content
    assert response.json()["count"] == 0


def test_it_refuses_an_unknown_parameter_before_starting_a_connection(api_client):
    connection = OAuthConnectionFactory()

    response = api_client.get(f"/api/connections/{connection.pk}/oauth/connect/",
                              {"scope": "everything"})

    assert _refused_names(response) == {"scope"}
    assert not OAuthState.objects.exists()


def test_it_refuses_an_unknown_parameter_of_the_callback(api_client):
    response = api_client.get("/api/oauth/callback/", {"state": "s", "code": "c",
                                                       "redirect": "https://evil.test/"})

    assert _refused_names(response) == {"redirect"}


def test_it_takes_what_standard_providers_add_to_the_callback(api_client):
    response = api_client.get("/api/oauth/callback/", {
        "state": "unknown", "code": "c", "iss": "https://accounts.google.com",
        "scope": "openid", "authuser": "0", "prompt": "consent", "session_state": "x"})

    # Past the parameter check: the unknown state is what is refused.
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "OAUTH_ERROR"


def test_it_checks_who_calls_before_the_parameters():
    response = APIClient().get("/api/attention/", {"unknown": "1"})

    assert response.status_code in (401, 403)
