"""`Authorization: Bearer <key>` is accepted beside `Token <key>`: the same hashed token."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from apps.core.models import ApiToken

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]


@pytest.fixture
def key(manager_user) -> str:
    _token, key = ApiToken.issue(manager_user)
    return key


def _whoami(authorization: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.get("/api/test/whoami/")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "Token"])
def test_it_authenticates_the_same_key_under_either_scheme(key, scheme):
    response = _whoami(f"{scheme} {key}")

    assert response.status_code == 200
    assert response.json() == {"username": "manager"}


def test_it_refuses_an_unknown_bearer_key_in_the_error_shape(key):
    response = _whoami("Bearer not-a-key-we-issued")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_it_refuses_a_revoked_key_under_bearer_too(key, manager_user):
    manager_user.is_active = False
    manager_user.save(update_fields=["is_active"])

    assert _whoami(f"Bearer {key}").status_code == 401


def test_it_does_not_take_the_cron_secret_for_a_user_token(settings, key):
    settings.CRON_SECRET = "cron-secret-for-tests"

    assert _whoami("Bearer cron-secret-for-tests").status_code == 401


def test_it_documents_both_schemes_each_sufficient_on_its_own():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["tokenAuth"]["in"] == "header"
    security = schema["paths"]["/api/dimona/shifts/"]["get"]["security"]
    assert {"bearerAuth": []} in security
    assert {"tokenAuth": []} in security
