"""What two-way syncs and batch imports share: mappings, runs, cursors, conflicts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExternalMapping(models.Model):
    """Our object ↔ its counterpart on one connection's platform."""

    class Status(models.TextChoices):
        SYNCED = "synced", _("Synced")
        PENDING = "pending", _("Pending")
        CONFLICT = "conflict", _("Conflict")

    entity_type = models.CharField(_("entity type"), max_length=60)
    local_id = models.CharField(_("local id"), max_length=64)
    connection = models.ForeignKey("core.Connection", verbose_name=_("connection"),
                                   on_delete=models.CASCADE,
                                   related_name="mappings")
    external_id = models.CharField(_("external id"), max_length=200)
    secondary_id = models.CharField(
        _("secondary id"), max_length=200, blank=True,
        help_text=_("A second reference the platform uses (our reference on its side)."))
    raw = models.JSONField(_("as the platform last sent it"), default=dict, blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.SYNCED)
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("external mapping")
        verbose_name_plural = _("external mappings")
        constraints = [
            models.UniqueConstraint(fields=["entity_type", "local_id", "connection"],
                                    name="mapping_one_per_local_object"),
            models.UniqueConstraint(fields=["connection", "external_id", "entity_type"],
                                    name="mapping_one_per_external_object"),
        ]

    def __str__(self) -> str:
        return f"{self.entity_type} {self.local_id} ↔ {self.external_id}"


class SyncRun(models.Model):
    """One run of a sync or import: what it did, how far it is, what went wrong."""

    class Trigger(models.TextChoices):
        AUTOMATIC = "automatic", _("Automatic")
        MANUAL = "manual", _("Manual")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCESS = "success", _("Success")
        PARTIAL = "partial", _("Partial")
        ERROR = "error", _("Error")

    kind = models.CharField(_("kind"), max_length=80)
    connection = models.ForeignKey("core.Connection", verbose_name=_("connection"),
                                   on_delete=models.CASCADE,
                                   related_name="sync_runs")
    trigger = models.CharField(_("trigger"), max_length=10, choices=Trigger.choices,
                               default=Trigger.AUTOMATIC)
    triggered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("triggered by"),
                                     null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    direction = models.CharField(_("direction"), max_length=10, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    deleted = models.PositiveIntegerField(_("deleted"), default=0)
    invalid = models.PositiveIntegerField(_("invalid"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)
    # The first errors only, each with the record it concerns: enough to act on.
    error_samples = models.JSONField(_("first errors"), default=list, blank=True)
    progress_done = models.PositiveIntegerField(_("progress done"), default=0)
    progress_total = models.PositiveIntegerField(_("progress total"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        constraints = [
            # A second trigger while one runs gets the running one back.
            models.UniqueConstraint(fields=["kind", "connection"],
                                    condition=models.Q(status="running"),
                                    name="syncrun_one_running_per_kind_and_connection"),
        ]
        indexes = [models.Index(fields=["connection", "kind", "-started_at"],
                                name="syncrun_recent")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class SyncCursor(models.Model):
    """Where the last sync of one stream stopped: a sync token, a delta link, a time."""

    connection = models.ForeignKey("core.Connection", verbose_name=_("connection"),
                                   on_delete=models.CASCADE,
                                   related_name="cursors")
    stream = models.CharField(_("stream"), max_length=80)
    value = models.TextField(_("cursor"), blank=True,
                             help_text=_("Opaque; empty means the next run is a full resync."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sync cursor")
        verbose_name_plural = _("sync cursors")
        constraints = [models.UniqueConstraint(fields=["connection", "stream"],
                                               name="cursor_one_per_stream")]

    def __str__(self) -> str:
        return f"{self.connection} / {self.stream}"


class Conflict(models.Model):
    """Both sides changed the same object differently; a manager decides."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    class Resolution(models.TextChoices):
        KEEP_LOCAL = "keep_local", _("Kept ours")
        TAKE_REMOTE = "take_remote", _("Took theirs")
        MERGED = "merged", _("Merged")

    entity_type = models.CharField(_("entity type"), max_length=60)
    local_id = models.CharField(_("local id"), max_length=64)
    connection = models.ForeignKey("core.Connection", verbose_name=_("connection"),
                                   on_delete=models.CASCADE,
                                   related_name="conflicts")
    local_value = models.JSONField(_("ours"), default=dict)
    remote_value = models.JSONField(_("theirs"), default=dict)
    proposed_value = models.JSONField(_("proposed merge"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.OPEN)
    resolution = models.CharField(_("resolution"), max_length=12, choices=Resolution.choices,
                                  blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("resolved by"),
                                    null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("conflict")
        verbose_name_plural = _("conflicts")
        constraints = [
            models.UniqueConstraint(fields=["entity_type", "local_id", "connection"],
                                    condition=models.Q(status="open"),
                                    name="conflict_one_open_per_object"),
        ]

    def __str__(self) -> str:
        return f"{self.entity_type} {self.local_id} ({self.get_status_display()})"
