"""Every operation of the OpenAPI schema, fuzzed: no input may make the hub answer 5xx,
nor a status code its schema does not document (a client generated from the
schema must know every answer it can get).

Schemathesis generates requests from the schema the hub serves (valid ones
and, in its negative phase, requests that break the schema) and sends them
to the WSGI application in this process, with a Manager's token, against the
test database. The examples are derandomised so CI stays reproducible; set
FUZZ_EXAMPLES higher for a deeper run by hand.
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from apps.core.models import ApiToken

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


def _served_schema() -> schemathesis.schemas.BaseSchema:
    # Built as /api/schema/ builds it, without a request: at collection time
    # the database (which holds the throttle counts without Redis) is closed.
    document = json.loads(OpenApiJsonRenderer().render(
        SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = get_wsgi_application()
    return loaded


schema = _served_schema()


@pytest.fixture
def manager_token(db, manager_user) -> str:
    _, key = ApiToken.issue(manager_user)
    return key


@pytest.fixture
def wsgi_keeps_connection():
    """As Django's test client does: a request must not close the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def existing_objects(db):
    """A few rows so that ids drawn by the fuzzer (small integers first) find objects."""
    from tests.dimona.factories import ShiftFactory
    from tests.symphonics.factories import InterventionFactory

    return [ShiftFactory(), ShiftFactory(), InterventionFactory()]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_it_answers_only_documented_statuses_and_never_a_server_error(
        case, manager_token, existing_objects, settings, wsgi_keeps_connection):
    # Throttles would turn most examples into 429s and hide what lies behind them.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    case.call_and_validate(headers={"Authorization": f"Token {manager_token}"},
                           checks=[not_a_server_error, status_code_conformance])
