"""Every error the API answers has one shape:
{"error": {"code", "message", "details", "request_id"}}, the request id
being the response's X-Request-ID."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.core.webhook_source import body_for, sign
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]


@pytest.fixture
def anonymous() -> APIClient:
    client = APIClient()
    client.raise_request_exception = False
    return client


@pytest.fixture
def outsider(anonymous) -> APIClient:
    """Logged in, but in neither the Manager nor the Admin group."""
    anonymous.force_login(UserFactory(username="outsider"))
    return anonymous


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], dict)
    assert error["request_id"]
    assert error["request_id"] == response["X-Request-ID"]
    return error


def test_it_shapes_a_validation_error(anonymous):
    error = assert_error(anonymous.post("/api/auth/token/", {}, format="json"),
                         400, "validation_error")

    assert set(error["details"]) == {"username", "password"}


def test_it_shapes_wrong_credentials_as_a_validation_error(anonymous):
    UserFactory(username="jane")

    error = assert_error(anonymous.post("/api/auth/token/",
                                        {"username": "jane", "password": "wrong"},
                                        format="json"), 400, "validation_error")

    assert "non_field_errors" in error["details"]


def test_it_shapes_a_malformed_body(anonymous):
    assert_error(anonymous.post("/api/auth/token/", "{not json", content_type="application/json"),
                 400, "parse_error")


def test_it_shapes_not_authenticated(anonymous):
    response = anonymous.get("/api/test/whoami/")

    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_it_shapes_a_bad_token(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert_error(anonymous.get("/api/test/whoami/"), 401, "authentication_failed")


def test_it_shapes_permission_denied(outsider):
    assert_error(outsider.get("/api/test/whoami/"), 403, "permission_denied")


def test_it_shapes_an_unknown_api_url(anonymous):
    assert_error(anonymous.get("/api/no/such/endpoint/"), 404, "not_found")


def test_it_shapes_a_not_found_raised_by_a_view(api_client):
    api_client.raise_request_exception = False

    error = assert_error(api_client.get("/api/test/things/42/"), 404, "not_found")

    assert error["message"] == "No thing 42."


def test_it_shapes_method_not_allowed(anonymous):
    assert_error(anonymous.get("/api/auth/token/"), 405, "method_not_allowed")


def test_it_shapes_unsupported_media_type(anonymous):
    assert_error(anonymous.post("/api/auth/token/", "username=a", content_type="text/plain"),
                 415, "unsupported_media_type")


def test_it_shapes_throttling(anonymous, monkeypatch):
    # DRF reads the rates once, at import: patch them where they live.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"auth": "2/minute",
                                                               "user": "1000/minute"})
    cache.clear()
    for _ in range(2):
        anonymous.post("/api/auth/token/", {}, format="json")

    response = anonymous.post("/api/auth/token/", {}, format="json")

    error = assert_error(response, 429, "throttled")
    assert 0 < error["details"]["retry_after_seconds"] <= 60
    assert "Retry-After" in response


def test_it_shapes_a_service_refusal(api_client):
    error = assert_error(api_client.get("/api/test/refuse/"), 409, "shift_locked")

    assert error["message"] == "The shift is already declared."
    assert error["details"] == {"shift": 42}


def test_it_shapes_a_model_validation_error(api_client):
    error = assert_error(api_client.post("/api/test/refuse/", {}, format="json"),
                         400, "validation_error")

    assert error["details"] == {"starts_at": ["Must be in the future."]}


def test_it_shapes_an_oversized_webhook(anonymous):
    body = body_for(padding="x" * (1024 * 1024))

    response = anonymous.post("/webhooks/testhook/", body, content_type="application/json",
                              headers={"X-Testhook-Signature": sign(body)})

    assert_error(response, 413, "payload_too_large")


@pytest.mark.parametrize("url", ["/api/test/crash/", "/api/test/crash-django/"])
def test_it_shapes_a_server_error(api_client, url):
    api_client.raise_request_exception = False

    error = assert_error(api_client.get(url), 500, "server_error")

    assert "unexpected bug" not in error["message"]


def test_it_echoes_the_callers_request_id_in_the_error(anonymous):
    response = anonymous.get("/api/no/such/endpoint/", headers={"X-Request-ID": "caller-42"})

    assert assert_error(response, 404, "not_found")["request_id"] == "caller-42"
