"""Factories for the core models. Domain apps add theirs in their own test packages."""

from __future__ import annotations

import factory
from django.contrib.auth import get_permission_codename, get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from apps.core.models import OutboundOperation, SyncLog, WebhookEvent


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.test")
    password = factory.django.Password("pw-user-1")



def view_only_user(*models):
    """A staff account with the view permission of `models` and nothing else."""
    user = UserFactory(is_staff=True)
    user.user_permissions.set([
        Permission.objects.get(content_type=ContentType.objects.get_for_model(model),
                               codename=get_permission_codename("view", model._meta))
        for model in models])
    return user

class SyncLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncLog

    platform = "acme"
    direction = SyncLog.Direction.OUTBOUND
    action = "worker.create"
    status = SyncLog.Status.SUCCESS
    http_method = "POST"
    url = "https://acme.test/api/workers"
    http_status = 201
    entity_type = "worker"
    entity_id = factory.Sequence(str)
    duration_ms = 42


class WebhookEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEvent

    platform = "acme"
    event_id = factory.Sequence(lambda n: f"evt-{n}")
    event_type = "worker.updated"
    dedupe_key = factory.LazyAttribute(lambda event: f"{event.platform}:{event.event_id}")
    status = WebhookEvent.Status.PROCESSED
    signature_valid = True
    headers = factory.LazyFunction(lambda: {"Content-Type": "application/json"})
    body = factory.LazyAttribute(lambda event: f'{{"id": "{event.event_id}"}}')


class OutboundOperationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboundOperation

    platform = "acme"
    kind = "test.scripted"
    idempotency_key = factory.Sequence(lambda n: f"acme:thing:{n}")
    entity_type = "thing"
    entity_id = factory.Sequence(str)
    state = OutboundOperation.State.PENDING
    next_attempt_at = factory.LazyFunction(timezone.now)
