"""Celery tasks of the Symphonics app: load, call a service, nothing else."""

import logging

from celery import shared_task

from apps.core.errors import ServiceError
from apps.core.http import PlatformError
from apps.symphonics.models import Intervention
from apps.symphonics.selectors import interventions_to_poll
from apps.symphonics.services import intervention_refresh

logger = logging.getLogger(__name__)


@shared_task(name="symphonics.poll_open", ignore_result=True)
def poll_open() -> int:
    """Every 10 minutes: read the status of open interventions no webhook spoke of lately."""
    intervention_ids = interventions_to_poll()
    for intervention_id in intervention_ids:
        refresh_intervention.delay(intervention_id)
    return len(intervention_ids)


@shared_task(name="symphonics.refresh_intervention", ignore_result=True)
def refresh_intervention(intervention_id: int) -> None:
    intervention = Intervention.objects.filter(pk=intervention_id).first()
    if intervention is None:
        return
    try:
        intervention_refresh(intervention=intervention)
    except (ServiceError, PlatformError) as exc:
        # Not retried here: the next poll asks again, and the audit log has the details.
        logger.warning("Symphonics status of %s not refreshed: %s", intervention.external_id, exc)
