"""The morning digest: attention items raised since the previous one, mailed to the managers.

Each active member of the Manager group with an e-mail address gets one mail
listing the items still open that were raised since the last digest,
grouped by domain, each with a link to its page in the back-office. The mail
is in the recipient's language and time zone (their preferences, else the
hub's). Nothing is sent when nothing is new.

When the last digest went out is kept in the database (a `Heartbeat` row
named DIGEST_HEARTBEAT), so a restarted beat or a second worker neither
repeats nor skips a digest: each run claims its period with a conditional
update of that row, and gives it back if the mails could not be sent.
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from apps.core.api.permissions import MANAGER_GROUP
from apps.core.attention_selectors import attention_object_url
from apps.core.models import AttentionItem, Heartbeat
from apps.core.preferences import user_locale
from apps.core.registry import registered_domains

logger = logging.getLogger(__name__)

DIGEST_HEARTBEAT = "attention-digest"
# The first digest of a new deployment covers the day before it.
FIRST_DIGEST_PERIOD = timedelta(days=1)


@dataclass(frozen=True)
class DigestEntry:
    # The item itself: its texts are translated when the mail is rendered,
    # in each recipient's language (AttentionItem.summary_text).
    item: AttentionItem
    url: str


@dataclass
class DomainItems:
    label: str
    name: str
    entries: list[DigestEntry] = field(default_factory=list)
    more: int = 0


def _absolute(path: str) -> str:
    return settings.HUB_BASE_URL.rstrip("/") + path


def _item_url(item: AttentionItem) -> str:
    # The object's page, where the manager acts; the item's own page when
    # the object has none (or the item is about no object).
    path = attention_object_url(item) or reverse("admin:core_attentionitem_change",
                                                 args=[item.pk])
    return _absolute(path)


def attention_digest_items(*, since: datetime, until: datetime) -> list[DomainItems]:
    """Items raised in (since, until] and still open, by domain, at most
    DIGEST_MAX_ITEMS_PER_DOMAIN listed per domain."""
    limit = settings.DIGEST_MAX_ITEMS_PER_DOMAIN
    # Lazy names: translated when the mail is rendered, in its language.
    names = {domain.label: domain.verbose_name or domain.label
             for domain in registered_domains()}
    groups: dict[str, DomainItems] = {}
    items = (AttentionItem.objects.open().select_related("content_type")
             .filter(created_at__gt=since, created_at__lte=until)
             .order_by("domain", "created_at", "pk"))
    for item in items:
        group = groups.setdefault(item.domain, DomainItems(
            label=item.domain, name=names.get(item.domain, item.domain)))
        if len(group.entries) < limit:
            group.entries.append(DigestEntry(item=item, url=_item_url(item)))
        else:
            group.more += 1
    return list(groups.values())


def _recipients():
    return (get_user_model().objects
            .filter(is_active=True, groups__name=MANAGER_GROUP)
            .exclude(email="").order_by("pk").distinct())


def _message(*, user, groups: list[DomainItems], since: datetime,
             connection) -> EmailMultiAlternatives:
    locale = user_locale(user=user)
    language = locale.language or settings.LANGUAGE_CODE
    zone = zoneinfo.ZoneInfo(locale.time_zone or settings.TIME_ZONE)
    context = {
        "user": user,
        "groups": groups,
        "count": sum(len(group.entries) + group.more for group in groups),
        "since": since,
        "time_zone": zone.key,
        "queue_url": _absolute(reverse("admin:core_attentionitem_changelist")),
    }
    with translation.override(language), timezone.override(zone):
        subject = " ".join(render_to_string("email/attention_digest_subject.txt",
                                            context).split())
        text = render_to_string("email/attention_digest.txt", context)
        html = render_to_string("email/attention_digest.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email],
                                     connection=connection)
    message.attach_alternative(html, "text/html")
    return message


def attention_digest_send(*, now: datetime | None = None) -> int:
    """Mail the new attention items to the managers; returns how many mails were sent.

    Nothing is sent, and the period is not closed, while no item is new: the
    next digest then covers the longer period.
    """
    now = now or timezone.now()
    beat, _created = Heartbeat.objects.get_or_create(
        name=DIGEST_HEARTBEAT, defaults={"beat_at": now - FIRST_DIGEST_PERIOD})
    since = beat.beat_at
    groups = attention_digest_items(since=since, until=now)
    if not groups:
        return 0
    # The claim: only the run that moves the mark from where it read it
    # sends; a second run at the same time finds it moved and stops.
    if not Heartbeat.objects.filter(pk=beat.pk, beat_at=since).update(beat_at=now):
        logger.info("attention digest: another run already sent this period")
        return 0
    try:
        recipients = list(_recipients())
        connection = get_connection()
        messages = [_message(user=user, groups=groups, since=since, connection=connection)
                    for user in recipients]
        sent = (connection.send_messages(messages) or 0) if messages else 0
    except Exception:
        # Given back, so the next run sends these items rather than losing them.
        Heartbeat.objects.filter(pk=beat.pk, beat_at=now).update(beat_at=since)
        raise
    logger.info("attention digest: %d item(s) mailed to %d manager(s)",
                sum(len(group.entries) + group.more for group in groups), sent)
    return sent
