"""Demo data: one employer, three flexi workers, shifts today and tomorrow."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone

from apps.dimona.mapping import BRUSSELS
from apps.dimona.models import FLEXI_JOINT_COMMISSION, Employer, Shift, Worker

# Valid check digits, fictitious people.
DEMO_WORKERS = [("Lina", "Peeters", "85073003328"), ("Tom", "Janssens", "90021512345"),
                ("Sara", "Dubois", "01020312345")]


def _valid_ssin(base9: str, born_2000: bool) -> str:
    check = 97 - int(("2" if born_2000 else "") + base9) % 97
    return f"{base9}{check:02d}"


def demo_load() -> str:
    employer, _ = Employer.objects.get_or_create(
        enterprise_number="0403170701",
        defaults={"name": "Frituur De Demo", "joint_commission": FLEXI_JOINT_COMMISSION})
    workers = []
    for first, last, ssin in DEMO_WORKERS:
        ssin = _valid_ssin(ssin[:9], born_2000=ssin.startswith("0"))
        worker = Worker.objects.filter(ssin_index=Worker.index_for(ssin)).first()
        workers.append(worker or Worker.objects.create(first_name=first, last_name=last,
                                                       ssin=ssin))
    today = timezone.localtime(timezone.now(), BRUSSELS).date()
    created = 0
    for offset, (worker, hour) in enumerate(zip(workers, (11, 17, 18), strict=True)):
        for day in (today, today + timedelta(days=1)):
            start = datetime.combine(day, time(hour), tzinfo=BRUSSELS)
            _, new = Shift.objects.get_or_create(
                employer=employer, worker=worker, start=start,
                defaults={"end": start + timedelta(hours=4 + offset),
                          "status": Shift.Status.ACCEPTED})
            created += new
    return f"employer {employer.name}, {len(workers)} workers, {created} new shifts"
