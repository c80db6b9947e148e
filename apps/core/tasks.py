"""Celery tasks of the core: thin wrappers that load by id and call a service."""

from celery import shared_task

from apps.core.digest import attention_digest_send
from apps.core.operations import operation_run, operations_due_ids
from apps.core.store import shared_state_purge
from apps.core.webhooks import (
    webhook_process,
    webhooks_process_waiting,
    webhooks_purge,
    webhooks_stuck_ids,
)


@shared_task(name="core.run_operation", ignore_result=True)
def run_operation(operation_id: int) -> None:
    operation_run(operation_id)


@shared_task(name="core.process_webhook", ignore_result=True)
def process_webhook(event_id: int) -> None:
    webhook_process(event_id)


@shared_task(name="core.process_waiting_webhooks", ignore_result=True)
def process_waiting_webhooks() -> int:
    return webhooks_process_waiting()


@shared_task(name="core.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    """Every minute: re-send due operations and webhook events whose message was lost."""
    operation_ids = operations_due_ids()
    for operation_id in operation_ids:
        run_operation.delay(operation_id)
    event_ids = webhooks_stuck_ids()
    for event_id in event_ids:
        process_webhook.delay(event_id)
    return {"operations": len(operation_ids), "webhooks": len(event_ids)}


@shared_task(name="core.purge_webhooks", ignore_result=True)
def purge_webhooks() -> dict[str, int]:
    """Every night: delete webhook deliveries past their retention period, and
    the database store's expired rows."""
    return {**webhooks_purge(), **shared_state_purge()}


@shared_task(name="core.send_attention_digest", ignore_result=True)
def send_attention_digest() -> int:
    """Every morning: mail the managers the attention items raised since the last digest."""
    return attention_digest_send()
