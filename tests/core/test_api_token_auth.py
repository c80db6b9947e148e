"""REST clients exchange a username and password for a token; only its hash is kept."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from apps.core.models import ApiToken
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]


@pytest.fixture
def manager():
    user = UserFactory(username="maria", password="pw-maria-1")
    user.groups.add(Group.objects.get(name="Manager"))
    return user


def _issue(username: str, password: str) -> str:
    response = APIClient().post("/api/auth/token/", {"username": username,
                                                     "password": password}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["token"]


def test_it_issues_a_token_that_authenticates(manager):
    key = _issue("maria", "pw-maria-1")

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/test/whoami/")

    assert response.status_code == 200
    assert response.json() == {"username": "maria"}


def test_it_stores_only_the_hash_of_the_token(manager):
    key = _issue("maria", "pw-maria-1")

    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8]
    stored = [str(value) for value in ApiToken.objects.values().get().values()]
    assert key not in stored


def test_it_records_when_a_token_was_last_used(manager):
    key = _issue("maria", "pw-maria-1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    client.get("/api/test/whoami/")

    assert ApiToken.objects.get().last_used_at is not None


def test_it_refuses_the_token_of_a_deactivated_user(manager):
    key = _issue("maria", "pw-maria-1")
    manager.is_active = False
    manager.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert client.get("/api/test/whoami/").status_code == 401


def test_it_issues_no_token_for_wrong_credentials(manager):
    response = APIClient().post("/api/auth/token/", {"username": "maria", "password": "nope"},
                                format="json")

    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_it_still_accepts_a_session(manager):
    client = APIClient()
    client.force_login(manager)

    assert client.get("/api/test/whoami/").status_code == 200


def test_it_issues_no_token_to_a_user_who_may_not_use_the_api():
    UserFactory(username="outsider", password="pw-outsider-1")

    response = APIClient().post("/api/auth/token/", {"username": "outsider",
                                                     "password": "pw-outsider-1"}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not ApiToken.objects.exists()


def test_it_issues_a_token_to_a_superuser_without_group():
    user = UserFactory(username="root", password="pw-root-1")
    user.is_superuser = True
    user.save()

    assert _issue("root", "pw-root-1")
