"""Every operation of the schema documents the errors it can answer, in our error shape."""

from __future__ import annotations

import pytest
from django.urls import path as route
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

ERROR_REF = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method.upper(), operation


def _errors(operation: dict) -> set[str]:
    return {status for status in operation["responses"] if status.startswith("4")}


def test_it_describes_the_error_shape_once_as_a_component(schema):
    components = schema["components"]["schemas"]

    assert components["Error"]["required"] == ["error"]
    assert components["Error"]["properties"]["error"]["$ref"] == "#/components/schemas/ErrorDetail"
    assert set(components["ErrorDetail"]["properties"]) == {"code", "message", "details",
                                                             "request_id"}


# The seed's envelope, for the Integrations and Events APIs only.
ENVELOPED = ("/api/integrations/", "/api/events/")
ENVELOPED_ERROR_REF = "#/components/schemas/IntegrationsError"


def test_it_gives_every_error_response_the_error_shape(schema):
    for path, method, operation in _operations(schema):
        expected = ENVELOPED_ERROR_REF if path.startswith(ENVELOPED) else ERROR_REF
        for status in _errors(operation):
            content = operation["responses"][status]["content"]
            assert content["application/json"]["schema"]["$ref"] == expected, (
                method, path, status)
            assert operation["responses"][status]["description"], (method, path, status)


def test_it_documents_a_validation_error_everywhere_and_authentication_where_checked(schema):
    for path, method, operation in _operations(schema):
        assert "400" in _errors(operation), (method, path)
        if path != "/api/auth/token/":
            assert {"401", "403"} <= _errors(operation), (method, path)


def test_it_documents_404_on_detail_routes_and_paginated_lists(schema):
    paths = schema["paths"]

    assert "404" in paths["/api/dimona/shifts/{id}/"]["get"]["responses"]
    assert "404" in paths["/api/dimona/shifts/{id}/accept/"]["post"]["responses"]
    assert "404" in paths["/api/dimona/shifts/"]["get"]["responses"]  # a page past the last
    assert "404" not in paths["/api/dimona/shifts/"]["post"]["responses"]


def test_it_documents_409_on_writes_to_our_objects_only(schema):
    paths = schema["paths"]

    assert "409" in paths["/api/symphonics/interventions/"]["post"]["responses"]
    assert "409" in paths["/api/dimona/shifts/{id}/declare/"]["post"]["responses"]
    assert "409" not in paths["/api/dimona/shifts/"]["get"]["responses"]
    assert "409" not in paths["/api/auth/token/"]["post"]["responses"]


def test_it_documents_429_where_a_throttle_applies(schema):
    paths = schema["paths"]

    assert "429" in paths["/api/auth/token/"]["post"]["responses"]
    assert "429" in paths["/api/dimona/cron/"]["post"]["responses"]


def test_it_keeps_what_a_view_says_of_its_own_errors(schema):
    token = schema["paths"]["/api/auth/token/"]["post"]["responses"]

    assert token["403"]["description"] == "The account may not use the API."
    assert token["403"]["content"]["application/json"]["schema"]["$ref"] == ERROR_REF
    assert "401" not in token  # no authentication runs on it, so no token can be refused


class PlatformLookupView(APIView):
    """As a view that asks a platform while the client waits declares what that adds."""

    @extend_schema(responses={200: dict, 502: None, 503: None})
    def get(self, request):
        return Response({})


def test_it_gives_a_declared_platform_error_our_body_and_description():
    generator = SchemaGenerator(patterns=[route("api/test/lookup/", PlatformLookupView.as_view())])
    responses = generator.get_schema(request=None, public=True)["paths"]["/api/test/lookup/"][
        "get"]["responses"]

    for status in ("502", "503"):
        assert responses[status]["content"]["application/json"]["schema"]["$ref"] == ERROR_REF
        assert "platform" in responses[status]["description"]
    assert {"400", "401", "403"} <= set(responses)


def test_every_operation_that_reads_a_body_documents_the_415_of_an_unreadable_one(client):
    # Found by the fuzzer: a multipart body the parser cannot read on
    # POST /api/dimona/shifts/{id}/cancel/ was answered 415, undocumented.
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method.upper() in {"POST", "PUT", "PATCH"}:
                assert "415" in operation["responses"], f"{method.upper()} {path}"
