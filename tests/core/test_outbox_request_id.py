"""The audit rows a worker writes carry the id of the request that enqueued the work."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.context import current_request_id, reset_request_id, set_request_id
from apps.core.models import OutboundOperation, SyncLog
from apps.core.operations import operation_enqueue, operation_run
from config import urls as project_urls
from tests.core.stub_platform import KIND, StubPlatform

pytestmark = pytest.mark.django_db

REQUEST_ID = "req-7f3a9c"


class BookThingView(APIView):
    """Stands for a domain endpoint whose service enqueues a call."""

    def post(self, request):
        operation, _ = operation_enqueue(
            platform="stub", kind=KIND, idempotency_key=f"stub:thing:{request.data['n']}",
            payload={"base_url": request.data["base_url"]}, entity_type="thing",
            entity_id=request.data["n"])
        return Response({"operation": operation.pk}, status=202)


urlpatterns = [*project_urls.urlpatterns, path("test/book-thing/", BookThingView.as_view())]


@override_settings(ROOT_URLCONF=__name__)
def test_it_runs_the_worker_under_the_request_id_of_the_enqueuing_request(
        api_client, django_capture_on_commit_callbacks):
    with StubPlatform() as stub, django_capture_on_commit_callbacks(execute=False):
        response = api_client.post("/test/book-thing/", {"n": 1, "base_url": stub.base_url},
                                   format="json", HTTP_X_REQUEST_ID=REQUEST_ID)
        assert response.status_code == 202, response.content
        operation = OutboundOperation.objects.get(pk=response.json()["operation"])
        assert operation.request_id == REQUEST_ID

        # Later, in a worker: no request around it.
        assert current_request_id() == ""
        operation = operation_run(operation.pk)

    assert operation.state == OutboundOperation.State.SUCCEEDED
    assert stub.creates == ["stub:thing:1"]
    logs = list(SyncLog.objects.filter(operation=operation))
    assert [log.action for log in logs] == ["thing.create"]
    assert {log.request_id for log in logs} == {REQUEST_ID}
    # The worker's own id is back once the operation is done.
    assert current_request_id() == ""


def test_it_keeps_the_worker_id_for_an_operation_enqueued_outside_any_request(outbox):
    token = set_request_id("task-11")
    try:
        operation, _ = operation_enqueue(platform="acme", kind="test.scripted",
                                         idempotency_key="acme:cron:1")
        seen = []
        outbox.script[operation.idempotency_key] = [
            lambda op: seen.append(current_request_id()) or None]
        set_request_id("worker-22")
        operation_run(operation.pk)
        assert current_request_id() == "worker-22"
    finally:
        reset_request_id(token)

    assert operation.request_id == "task-11"
    assert seen == ["task-11"]
