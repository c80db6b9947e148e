"""An organisation's events and attendance, and the calendars, chat and video
accounts it connects to them.

The account itself (tokens, status, who connected it and when, the scopes
granted) is a core `Connection`, owned by the organisation; an
`Integration` adds what this domain needs on top: the provider's kind and
the settings of the seed. Sync history is core `SyncRun`s, links between our
events and the providers' are core `ExternalMapping`s, and outgoing
webhooks are the core's.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField

# A Connection's tenant, for connections an organisation owns.
ORGANIZATION_TENANT = "integrations.organization"
# The entity type of events in the core's mappings, sync errors and audit rows.
ENTITY_EVENT = "integrations.event"


class Organization(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    # A single-company deployment needs no set-up: users with no membership
    # act for the default organisation, which a migration creates.
    is_default = models.BooleanField(_("default organisation"), default=False)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Brussels")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                               name="integrations_one_default_organization")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """The organisation a user acts for; roles (Manager, Admin) are the core's groups."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user"),
                                on_delete=models.CASCADE, related_name="organization_membership")
    organization = models.ForeignKey(Organization, verbose_name=_("organisation"),
                                     on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organization", "user"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization}"


class Event(models.Model):
    class Type(models.TextChoices):
        TRAINING = "training", _("Training")
        MEETING = "meeting", _("Meeting")
        CONFERENCE = "conference", _("Conference")
        WORKSHOP = "workshop", _("Workshop")
        WEBINAR = "webinar", _("Webinar")
        OTHER = "other", _("Other")

    organization = models.ForeignKey(Organization, verbose_name=_("organisation"),
                                     on_delete=models.CASCADE, related_name="events")
    type = models.CharField(_("type"), max_length=20, choices=Type.choices,
                            default=Type.MEETING)
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    location = models.CharField(_("location"), max_length=255, blank=True)
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Brussels")
    is_private = models.BooleanField(_("private"), default=False)
    organizer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("organiser"),
                                  null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    # Bumped on every change, so a push or an import can tell which side is newer.
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    # An event deleted here (or at a provider) is kept, so its links can be
    # cleaned up at every connected calendar before it goes.
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-start", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(end__gt=models.F("start")),
                                              name="integrations_event_ends_after_start")]
        indexes = [models.Index(fields=["organization", "-start"],
                                name="integrations_event_org_start")]

    def __str__(self) -> str:
        return self.title


class Attendance(models.Model):
    """One attendee of an event: invited, answered, then present for so many minutes."""

    class Status(models.TextChoices):
        INVITED = "invited", _("Invited")
        ACCEPTED = "accepted", _("Accepted")
        TENTATIVE = "tentative", _("Tentative")
        DECLINED = "declined", _("Declined")
        PRESENT = "present", _("Present")
        ABSENT = "absent", _("Absent")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered here")
        GOOGLE = "google", _("Google Calendar")
        MICROSOFT = "microsoft", _("Microsoft 365")
        ZOOM = "zoom", _("Zoom")

    event = models.ForeignKey(Event, verbose_name=_("event"), on_delete=models.CASCADE,
                              related_name="attendances")
    # Contact details: encrypted at rest; the keyed hash keeps one row per person.
    email = EncryptedTextField(_("e-mail"))
    email_index = models.CharField(max_length=64, editable=False)
    name = models.CharField(_("name"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.INVITED)
    minutes_present = models.PositiveIntegerField(_("minutes present"), default=0)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices,
                              default=Source.MANUAL)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        ordering = ["event", "name"]
        constraints = [models.UniqueConstraint(fields=["event", "email_index"],
                                               name="integrations_attendee_once_per_event")]

    def __str__(self) -> str:
        return self.name or _("attendee")


class Integration(models.Model):
    """One provider account of an organisation, on a core connection."""

    class Provider(models.TextChoices):
        GOOGLE = "google", _("Google Calendar")
        MICROSOFT = "microsoft", _("Microsoft 365")
        SLACK = "slack", _("Slack")
        ZOOM = "zoom", _("Zoom")

    class Type(models.TextChoices):
        CALENDAR = "calendar", _("Calendar")
        COMMUNICATION = "communication", _("Communication")
        VIDEO = "video", _("Video")
        STORAGE = "storage", _("Storage")

    organization = models.ForeignKey(Organization, verbose_name=_("organisation"),
                                     on_delete=models.CASCADE, related_name="integrations")
    connection = models.OneToOneField("core.Connection", verbose_name=_("connection"),
                                      on_delete=models.PROTECT, related_name="integration")
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    name = models.CharField(_("name"), max_length=120)
    # The seed's settings for this provider, checked by the domain's schema
    # (an unknown key or a wrong type is refused).
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    # The seed's permission names granted (read_calendar, ...), from the
    # provider's scopes as granted.
    permissions = models.JSONField(_("permissions"), default=list, blank=True)
    # The account at the provider (e-mail, name), as its user-info answered.
    account_email = EncryptedTextField(_("account e-mail"), blank=True)
    account_name = models.CharField(_("account name"), max_length=200, blank=True)
    last_sync_at = models.DateTimeField(_("last sync"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    disconnected_at = models.DateTimeField(_("disconnected at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")
        ordering = ["organization", "provider", "name"]
        indexes = [models.Index(fields=["organization", "provider"],
                                name="integrations_org_provider")]

    def __str__(self) -> str:
        return self.name
