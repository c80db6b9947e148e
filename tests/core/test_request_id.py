"""X-Request-ID: the caller's when it is safe to echo, a fresh one otherwise."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db
GENERATED = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize("request_id", ["abc-123", "trace:4f2.a_b", "x" * 100])
def test_it_echoes_a_sane_request_id(client, request_id):
    response = client.get("/healthz", headers={"X-Request-ID": request_id})

    assert response["X-Request-ID"] == request_id


def test_it_generates_a_request_id_when_absent(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]

    assert GENERATED.match(first)
    assert first != second


@pytest.mark.parametrize("request_id", ["", "has space", "<script>", "x" * 101, "a\tb",
                                        "ünïcode", "abc\n", "abc\r\nSet-Cookie: x=1"])
def test_it_replaces_an_unsafe_request_id(client, request_id):
    response = client.get("/healthz", headers={"X-Request-ID": request_id})

    assert GENERATED.match(response["X-Request-ID"])


def test_it_sets_the_request_id_on_pages_that_fail(client):
    response = client.get("/no/such/page/", headers={"X-Request-ID": "req-404"})

    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-404"
