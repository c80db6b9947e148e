"""The validation endpoints ask Symphonics while the client waits: the schema
says they may answer 502 and 503 (and the lookup 404), in the error shape."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

ERROR_REF = "#/components/schemas/Error"
VALIDATION_OPERATIONS = [
    ("/api/symphonics/validate/pdl/{pdl}/", "get"),
    ("/api/symphonics/validate/pdl/lookup/", "post"),
    ("/api/symphonics/validate/user/{email}/", "get"),
]


@pytest.fixture(scope="module")
def paths() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)["paths"]


@pytest.mark.parametrize(("path", "method"), VALIDATION_OPERATIONS)
def test_it_documents_the_platforms_failures(paths, path, method):
    responses = paths[path][method]["responses"]

    for status, words in (("502", "refused"), ("503", "did not answer")):
        assert responses[status]["content"]["application/json"]["schema"]["$ref"] == ERROR_REF
        assert words in responses[status]["description"]
    assert "404" in responses


def test_it_documents_the_address_without_a_pdl_as_not_found(paths):
    not_found = paths["/api/symphonics/validate/pdl/lookup/"]["post"]["responses"]["404"]

    assert not_found["description"] == "`not_found`: Symphonics finds no PDL for this address."
    assert not_found["content"]["application/json"]["schema"]["$ref"] == ERROR_REF
