"""Celery tasks of the Dimona app: load, call a service, nothing else."""

from celery import shared_task

from apps.dimona.services import tomorrow_declare


@shared_task(name="dimona.declare_tomorrow", ignore_result=True)
def declare_tomorrow() -> int:
    """The 20:00 job: Dimona-In for every accepted shift of tomorrow."""
    return len(tomorrow_declare())
