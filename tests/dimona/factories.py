from __future__ import annotations

from datetime import datetime, timedelta

import factory

from apps.dimona.mapping import BRUSSELS
from apps.dimona.models import Employer, Shift, Worker


def valid_ssin(base9: str, *, born_2000: bool = False) -> str:
    check = 97 - int(("2" if born_2000 else "") + base9) % 97
    return f"{base9}{check:02d}"


def valid_enterprise_number(base8: str) -> str:
    return f"{base8}{97 - int(base8) % 97:02d}"


class EmployerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employer

    name = factory.Sequence(lambda n: f"Frituur {n}")
    enterprise_number = factory.Sequence(lambda n: valid_enterprise_number(f"0{4000000 + n:07d}"))
    joint_commission = "XXX"


class WorkerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Worker

    first_name = factory.Sequence(lambda n: f"Worker{n}")
    last_name = "Flexi"
    ssin = factory.Sequence(lambda n: valid_ssin(f"850730{n:03d}"))


def brussels(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


class ShiftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shift

    employer = factory.SubFactory(EmployerFactory)
    worker = factory.SubFactory(WorkerFactory)
    start = factory.LazyFunction(lambda: brussels(2026, 11, 23, 17))
    end = factory.LazyAttribute(lambda shift: shift.start + timedelta(hours=4, minutes=30))
    status = Shift.Status.ACCEPTED
