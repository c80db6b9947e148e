"""The managers' back-office of calendars and messaging: organisations and their
members, events with their attendees, and the connected integrations.

Events are written through the services (a change bumps the version the
calendars compare; a cancelled event keeps its row and can no longer be
changed), so the admin follows the API's rules. Attendees arrive from the
API and the providers' imports: shown here, not edited. An integration is
made by connecting at the provider (`/api/integrations/<provider>/connect`)
and owned by that flow: shown read-only, with its connection's status and,
when the connection is in error, how to reconnect.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.admin_display import (
    CONNECTION_TONES,
    EMPTY,
    masked_column,
    status_badge,
    time_column,
)
from apps.core.admin_tools import ReadOnlyAdmin, run_service_action
from apps.core.models import Connection
from apps.integrations import services
from apps.integrations.models import Attendance, Event, Integration, Membership, Organization
from apps.integrations.providers import PERMISSION_LABELS


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_default", "time_zone", "members"]
    search_fields = ["name", "slug"]
    readonly_fields = ["is_default", "created_at"]

    def get_queryset(self, request):
        # One query for the page, not one count per row.
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description=_("members"), ordering="member_count")
    def members(self, organization: Organization) -> int:
        return organization.member_count


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "created_at"]
    list_filter = ["organization"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__username", "user__first_name", "user__last_name",
                     "organization__name"]
    readonly_fields = ["created_at"]


class AttendanceInline(admin.TabularInline):
    """Attendees as the API and the providers' imports recorded them: read-only."""

    model = Attendance
    extra = 0
    can_delete = False
    fields = ["name", "email_shown", "status", "minutes_present", "source", "updated_local"]
    readonly_fields = fields
    email_shown = masked_column("email", _("e-mail"), kind="email")
    updated_local = time_column("updated_at", _("updated at"), ordering=False)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class EventForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = ["organization", "type", "title", "description", "location", "start", "end",
                  "time_zone", "is_private"]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        # The service refuses it too; said here, on the field, rather than as a page error.
        if start and end and end <= start:
            self.add_error("end", gettext("An event ends after it starts."))
        return cleaned


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    form = EventForm
    list_display = ["title", "type", "organization", "start_local", "end_local", "organizer",
                    "attendee_count", "version", "cancelled"]
    list_filter = ["type", "organization", ("cancelled_at", admin.EmptyFieldListFilter)]
    list_select_related = ["organization", "organizer"]
    search_fields = ["title", "location"]
    date_hierarchy = "start"
    inlines = [AttendanceInline]
    readonly_fields = ["organizer", "version", "created_local", "updated_local",
                       "cancelled_local"]
    actions = ["cancel_events"]
    start_local = time_column("start", _("start"))
    end_local = time_column("end", _("end"))
    created_local = time_column("created_at", _("created at"))
    updated_local = time_column("updated_at", _("updated at"))
    cancelled_local = time_column("cancelled_at", _("cancelled at"))

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(attendees=Count("attendances"))

    @admin.display(description=_("attendees"), ordering="attendees")
    def attendee_count(self, event: Event) -> int:
        return event.attendees

    @admin.display(description=_("cancelled"), boolean=True, ordering="cancelled_at")
    def cancelled(self, event: Event) -> bool:
        return event.cancelled_at is not None

    def has_change_permission(self, request, obj=None) -> bool:
        # A cancelled event can no longer be changed (its calendar links are being removed).
        if obj is not None and obj.cancelled_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Events are cancelled, never deleted here: their links at the calendars
        # must be cleaned up first.
        return False

    def save_model(self, request, obj: Event, form, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in services.EVENT_FIELDS
                if name in form.cleaned_data}
        if change:
            changed = {name: value for name, value in data.items() if name in form.changed_data}
            saved = services.event_update(event=obj, user=request.user, data=changed)
        else:
            saved = services.event_create(organization=form.cleaned_data["organization"],
                                          user=request.user, data=data)
        obj.pk = saved.pk
        obj.version = saved.version
        obj.organizer = saved.organizer

    @admin.action(description=_("Cancel the selected events"), permissions=["change"])
    def cancel_events(self, request, queryset) -> None:
        events = list(queryset.filter(cancelled_at__isnull=True))
        run_service_action(self, request, events,
                           lambda event: services.event_cancel(event=event, user=request.user),
                           gettext("{count} event(s) cancelled."))


INTEGRATION_READONLY = ["organization", "provider", "type", "name", "connection",
                        "status_badge", "reconnect_hint", "account_email_masked",
                        "account_name", "permissions_granted",
                        "last_sync_local",
                        "last_activity_local", "disconnected_local", "created_local"]


@admin.register(Integration)
class IntegrationAdmin(ReadOnlyAdmin):
    list_display = ["name", "provider", "type", "organization", "status_badge",
                    "account_email_masked", "last_sync_local", "reconnect_hint"]
    list_filter = ["provider", "type", "connection__status", "organization"]
    list_select_related = ["organization", "connection"]
    search_fields = ["name", "account_name"]
    fields = INTEGRATION_READONLY
    readonly_fields = INTEGRATION_READONLY
    account_email_masked = masked_column("account_email", _("account e-mail"), kind="email")
    last_sync_local = time_column("last_sync_at", _("last sync"))
    last_activity_local = time_column("last_activity_at", _("last activity"))
    disconnected_local = time_column("disconnected_at", _("disconnected at"))
    created_local = time_column("created_at", _("created at"))

    @admin.display(description=_("status"), ordering="connection__status")
    def status_badge(self, integration: Integration) -> str:
        connection = integration.connection
        return status_badge(connection.status, connection.get_status_display(),
                            CONNECTION_TONES.get(connection.status, "pending"))

    @admin.display(description=_("permissions"))
    def permissions_granted(self, integration: Integration) -> str:
        return ", ".join(str(PERMISSION_LABELS.get(name, name))
                         for name in integration.permissions) or EMPTY

    @admin.display(description=_("what to do"))
    def reconnect_hint(self, integration: Integration) -> str:
        connection = integration.connection
        if connection.status != Connection.Status.ERROR:
            return EMPTY
        hint = gettext("Connect again from /api/integrations/%(provider)s/connect") % {
            "provider": integration.provider}
        reason = connection.status_reason
        return f"{reason} — {hint}" if reason else hint

