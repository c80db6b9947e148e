"""The managers' Dimona back-office: shifts, declarations, the live page.

Every action is declared once (`SHIFT_ACTIONS`) and offered both as a button
on a shift's page and in the shifts' list; each calls one service, so the
back-office follows the API's rules. Pages with a declaration in flight
refresh themselves until the ONSS has answered.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from apps.core.admin_attention import AttentionColumnMixin, NeedsAttentionFilter
from apps.core.admin_display import (
    EMPTY,
    choice_badge,
    register_entity,
    related_links,
    short_text,
    status_badge,
    time_column,
)
from apps.core.admin_tools import (
    AutoRefreshMixin,
    BigTableAdmin,
    ObjectAction,
    ObjectActionsMixin,
    Progress,
    require_change_permission,
    run_service_action,
)
from apps.core.attention_selectors import attention_reason_text
from apps.core.errors import ServiceError
from apps.core.models.attention import stored_text
from apps.dimona import services
from apps.dimona.models import DimonaDeclaration, Employer, Shift, Worker
from apps.dimona.selectors import (
    IN_FLIGHT,
    NO_SHOW_AFTER,
    RESOLVED,
    no_show_candidates,
    shift_active_in,
    shift_declaration_annotations,
    shift_declared_hours,
    shifts_of_day,
    shifts_without_stale_attention,
)
from apps.dimona.validators import normalise_digits, validate_ssin

Status = DimonaDeclaration.Status
Kind = DimonaDeclaration.Kind

# The outbox and the audit trail name a declaration "dimona.declaration".
register_entity("dimona.declaration", model=DimonaDeclaration)

DECLARATION_TONES = {
    Status.PENDING: "pending",
    Status.SENT: "pending",
    Status.WAITING_SIGEDIS: "pending",
    Status.ACCEPTED: "ok",
    Status.ACCEPTED_WITH_WARNINGS: "warning",
    Status.REFUSED: "error",
    Status.FAILED: "error",
    Status.MANUAL_CHECK: "error",
}
SHIFT_TONES = {
    Shift.Status.PROPOSED: "pending",
    Shift.Status.ACCEPTED: "ok",
    Shift.Status.IN_PROGRESS: "ok",
    Shift.Status.COMPLETED: "ok",
    Shift.Status.REFUSED: "muted",
    Shift.Status.CANCELLED: "muted",
    Shift.Status.NO_SHOW: "warning",
}
# How much of an attention reason the shifts' list shows; the rest is in its tooltip.
ATTENTION_SHOWN = 40


def declaration_label(kind: str | None, status: str | None) -> str:
    """"Dimona-In: Accepted (A)", in the reader's language, from the stored values."""
    if not status:
        return gettext("Not declared")
    kind_label = Kind(kind).label if kind in Kind.values else kind
    status_label = Status(status).label if status in Status.values else status
    return f"{kind_label}: {status_label}"


def declaration_badge(kind: str | None, status: str | None) -> str:
    if not status:
        return status_badge("", gettext("Not declared"), "muted")
    return status_badge(status, declaration_label(kind, status),
                        DECLARATION_TONES.get(status, "pending"))


def declaration_cell(kind: str | None, status: str | None) -> str:
    """A list cell: the kind in small letters above the status's badge, so a long
    label wraps inside a narrow column."""
    if not status:
        return declaration_badge(kind, status)
    kind_label = Kind(kind).label if kind in Kind.values else kind
    status_label = Status(status).label if status in Status.values else status
    return format_html('<small class="hub-dimona-kind">{}</small> {}', kind_label,
                       status_badge(status, status_label,
                                    DECLARATION_TONES.get(status, "pending")))


def two_line_time(moment: datetime | None) -> str:
    """A list cell's time: the day above the time and its zone, half as wide as one line."""
    if moment is None:
        return EMPTY
    local = timezone.localtime(moment)
    return format_html('<time datetime="{}" title="{}">{}<br>{}</time>', moment.isoformat(),
                       timezone.get_current_timezone_name(),
                       formats.date_format(local, "SHORT_DATE_FORMAT"), _time_with_zone(moment))


def shift_status_badge(shift: Shift) -> str:
    return choice_badge(shift, "status", SHIFT_TONES)


def _hours(start: datetime | None, end: datetime | None) -> str:
    """"23/11/2026 17:00 – 21:30 CET" in the reader's zone."""
    if start is None or end is None:
        return EMPTY
    start, end = timezone.localtime(start), timezone.localtime(end)
    shown_end = formats.time_format(end, "TIME_FORMAT")
    if end.date() != start.date():
        shown_end = f"{formats.date_format(end, 'SHORT_DATE_FORMAT')} {shown_end}"
    return (f"{formats.date_format(start, 'SHORT_DATE_FORMAT')} "
            f"{formats.time_format(start, 'TIME_FORMAT')} – {shown_end} {end.tzname()}")


@admin.register(Employer)
class EmployerAdmin(admin.ModelAdmin):
    list_display = ("name", "enterprise_number", "joint_commission", "connection")
    list_select_related = ("connection",)
    search_fields = ("name", "=enterprise_number")
    fields = ("name", "enterprise_number", "joint_commission", "connection")

    def save_model(self, request, obj, form, change):
        # The form has checked the fields as the model does; the services
        # decide the rest, as for the API.
        data = {field: form.cleaned_data[field] for field in self.fields}
        if change:
            saved = services.employer_update(employer=obj, **data)
        else:
            saved = services.employer_create(**data)
        obj.pk = saved.pk


class WorkerForm(forms.ModelForm):
    """The SSIN is write-only: typed to set or change it, never shown back."""

    new_ssin = forms.CharField(
        label=_("National number (SSIN)"), required=False, max_length=20,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the current number."))

    class Meta:
        model = Worker
        fields = ["first_name", "last_name"]

    def clean_new_ssin(self) -> str:
        value = self.cleaned_data["new_ssin"]
        if not value:
            if not self.instance.pk:
                raise forms.ValidationError(_("A new worker needs a national number."))
            return ""
        validate_ssin(value)
        number = normalise_digits(value)
        clash = Worker.objects.filter(ssin_index=Worker.index_for(number))
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("Another worker has this national number."))
        return number


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    form = WorkerForm
    list_display = ("last_name", "first_name", "masked_ssin")
    search_fields = ("last_name", "first_name")
    readonly_fields = ("masked_ssin",)
    fields = ("first_name", "last_name", "masked_ssin", "new_ssin")

    def save_model(self, request, obj, form, change):
        # Checked by the form (the SSIN's format and uniqueness); saved by the services.
        data = form.cleaned_data
        if not change:
            obj.pk = services.worker_create(first_name=data["first_name"],
                                            last_name=data["last_name"],
                                            ssin=data["new_ssin"]).pk
            return
        services.worker_update_names(worker=obj, first_name=data["first_name"],
                                     last_name=data["last_name"])
        if data.get("new_ssin"):
            services.worker_set_ssin(worker=obj, ssin=data["new_ssin"])

    @admin.display(description=_("SSIN"))
    def masked_ssin(self, worker: Worker) -> str:
        return worker.ssin_masked if worker.pk else EMPTY

    def get_search_results(self, request, queryset, search_term):
        # An exact SSIN typed in the search box finds its worker through the blind index.
        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        digits = normalise_digits(search_term)
        if len(digits) == 11:
            queryset |= self.model.objects.filter(ssin_index=Worker.index_for(digits))
        return queryset, duplicates


class DeclarationInline(admin.TabularInline):
    model = DimonaDeclaration
    extra = 0
    can_delete = False
    # The status badge already says the ONSS result (A, W, B, S): no column of
    # its own, so the table fits 1400 px beside the sidebar.
    fields = ("kind", "status_badge", "period_id", "anomaly_list", "reason", "short_error",
              "sent", "completed")
    readonly_fields = fields
    ordering = ("created_at",)

    sent = time_column("sent_at", _("sent"), ordering=False)
    completed = time_column("completed_at", _("completed"), ordering=False)

    @admin.display(description=_("status"))
    def status_badge(self, obj: DimonaDeclaration) -> str:
        return choice_badge(obj, "status", DECLARATION_TONES)

    @admin.display(description=_("anomalies"))
    def anomaly_list(self, obj: DimonaDeclaration) -> str:
        return anomalies_html(obj.anomalies)

    @admin.display(description=_("last error"))
    def short_error(self, obj: DimonaDeclaration) -> str:
        return short_text(stored_text(obj.error))

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def anomalies_html(anomalies: list[dict]) -> str:
    if not anomalies:
        return EMPTY
    return format_html("<ul style='margin:0'>{}</ul>", format_html_join(
        "", "<li><code>{}</code> {}</li>",
        ((a.get("code", ""), a.get("label", "")) for a in anomalies)))


# -- the actions on shifts ---------------------------------------------------------------

class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=100,
                             initial=_("cancelled by manager"),
                             help_text=_("Kept with the Dimona-Cancel, for the ONSS's records."))


class ValidateHoursForm(forms.Form):
    """The hours really worked, typed in the reader's own time zone."""

    start = forms.DateTimeField(label=_("Started at"), input_formats=["%Y-%m-%dT%H:%M"],
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                           format="%Y-%m-%dT%H:%M"))
    end = forms.DateTimeField(label=_("Ended at"), input_formats=["%Y-%m-%dT%H:%M"],
                              widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                         format="%Y-%m-%dT%H:%M"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        zone = timezone.get_current_timezone_name()
        minutes = int(services.update_threshold().total_seconds() // 60)
        for field in self.fields.values():
            field.help_text = gettext("In %(zone)s.") % {"zone": zone}
        self.fields["end"].help_text += " " + ngettext(
            "A Dimona-Update is sent to the ONSS when the start or the end moves more "
            "than %(minutes)d minute from the declared hours.",
            "A Dimona-Update is sent to the ONSS when the start or the end moves more "
            "than %(minutes)d minutes from the declared hours.", minutes) % {"minutes": minutes}

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", gettext("The end must be after the start."))
        return data


def _state_reason(shift: Shift, action: str) -> str:
    # The same sentence as the services' refusal, so it reads the same everywhere.
    return gettext("A shift that is %(status)s cannot be %(action)s.") % {
        "status": shift.get_status_display().lower(), "action": action}


def _period(shift: Shift) -> str:
    return getattr(shift, "active_in_period", "") or ""


def _cannot_accept(shift: Shift) -> str:
    if shift.status != Shift.Status.PROPOSED:
        return _state_reason(shift, gettext("accepted"))
    return ""


def _cannot_declare(shift: Shift) -> str:
    if shift.status not in (Shift.Status.ACCEPTED, Shift.Status.IN_PROGRESS):
        return _state_reason(shift, gettext("declared"))
    if getattr(shift, "active_in_status", None):
        return gettext("Already declared (%(declaration)s).") % {
            "declaration": declaration_label(Kind.IN, shift.active_in_status)}
    return ""


def _cannot_validate_hours(shift: Shift) -> str:
    if shift.status in (Shift.Status.CANCELLED, Shift.Status.NO_SHOW, Shift.Status.REFUSED):
        return _state_reason(shift, gettext("given worked hours"))
    return ""


def _cannot_cancel_dimona(shift: Shift) -> str:
    if shift.status in RESOLVED:
        return gettext("The shift is already %(status)s.") % {
            "status": shift.get_status_display().lower()}
    if shift.status == Shift.Status.COMPLETED:
        return _state_reason(shift, gettext("cancelled"))
    if not getattr(shift, "active_in_status", None):
        return gettext("This shift has no Dimona-In to cancel.")
    if not _period(shift):
        return gettext("The Dimona-In has no result yet; cancel it once the ONSS has "
                       "accepted it.")
    return ""


def _cannot_mark_no_show(shift: Shift) -> str:
    if shift.clock_in_at:
        return gettext("The worker clocked in; this is not a no-show.")
    if shift.status != Shift.Status.ACCEPTED:
        return _state_reason(shift, gettext("marked as a no-show"))
    if timezone.now() < shift.start + NO_SHOW_AFTER:
        return gettext("A no-show can be recorded 30 minutes after the start of the shift "
                       "(from %(time)s).") % {
            "time": _time_with_zone(shift.start + NO_SHOW_AFTER)}
    return _cannot_cancel_dimona(shift)


def _cannot_poll(shift: Shift) -> str:
    if not getattr(shift, "dimona_pollable", False):
        return gettext("No declaration of this shift is waiting for a result.")
    return ""


def _time_with_zone(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{formats.time_format(local, 'TIME_FORMAT')} {local.tzname()}"


def _cancel_consequence(shift: Shift) -> str:
    return gettext("A Dimona-Cancel for period %(period)s will be sent to the ONSS, and the "
                   "shift will be marked cancelled. A Dimona can only be cancelled until its "
                   "start date; after that, validate the real hours instead."
                   ) % {"period": _period(shift) or "?"}


def _no_show_consequence(shift: Shift) -> str:
    return gettext("A Dimona-Cancel for period %(period)s will be sent to the ONSS with the "
                   "reason “no-show”, and the shift will be marked as a no-show."
                   ) % {"period": _period(shift) or "?"}


def _validate_hours_consequence(shift: Shift) -> str:
    recorded = gettext("The hours are recorded and the shift is completed.")
    if not _period(shift):
        return recorded + " " + gettext("The shift has no accepted Dimona-In: nothing is "
                                        "sent to the ONSS.")
    minutes = int(services.update_threshold().total_seconds() // 60)
    # The hours the ONSS knows, as the service compares them: the newest accepted
    # In or Update, else the active In's.
    declared = shift_declared_hours(shift)
    if declared is None:
        active_in = shift_active_in(shift)
        declared = (active_in.declared_start, active_in.declared_end) if active_in else None
    if declared is None or None in declared:
        return recorded + " " + gettext(
            "If they differ by more than %(minutes)d minutes from the declared hours, a "
            "Dimona-Update for period %(period)s will be sent to the ONSS.") % {
            "minutes": minutes, "period": _period(shift)}
    return recorded + " " + gettext(
        "If they differ by more than %(minutes)d minutes from the hours the ONSS knows "
        "(%(hours)s), a Dimona-Update for period %(period)s will be sent to the ONSS.") % {
        "minutes": minutes, "hours": _hours(*declared), "period": _period(shift)}


def _validate_hours_initial(shift: Shift) -> dict:
    return {"start": timezone.localtime(shift.validated_start or shift.start),
            "end": timezone.localtime(shift.validated_end or shift.end)}


def _validated(shift: Shift, update: DimonaDeclaration | None) -> str:
    if update is None:
        return gettext("%(shift)s: hours recorded; no Dimona-Update was needed.") % {
            "shift": shift}
    return gettext("%(shift)s: hours recorded; a Dimona-Update for period %(period)s is sent "
                   "to the ONSS.") % {"shift": shift, "period": update.period_id}


SHIFT_ACTIONS = (
    ObjectAction(
        name="accept", label=_("Accept"),
        service=lambda shift, data, user: services.shift_accept(shift=shift),
        unavailable=_cannot_accept, hide_when_unavailable=True,
        success=_("{count} shift(s) accepted.")),
    ObjectAction(
        name="declare", label=_("Declare (Dimona-In)"),
        service=lambda shift, data, user: services.shift_declare(shift=shift),
        unavailable=_cannot_declare,
        success=_("{count} shift(s) declared or already declared."),
        report=lambda shift, declaration: gettext(
            "%(shift)s: a Dimona-In is sent to the ONSS.") % {"shift": shift}),
    ObjectAction(
        name="validate_hours", label=_("Validate hours"),
        service=lambda shift, data, user: services.shift_validate_hours(
            shift=shift, start=data["start"], end=data["end"]),
        unavailable=_cannot_validate_hours, form_class=ValidateHoursForm,
        initial=_validate_hours_initial, consequence=_validate_hours_consequence,
        confirm_label=_("Record the hours"), success=_("{count} shift(s) validated."),
        report=_validated, bulk=False),
    ObjectAction(
        name="cancel_dimona", label=_("Cancel the shift and its Dimona"),
        service=lambda shift, data, user: services.shift_cancel(shift=shift, reason=data["reason"]),
        unavailable=_cannot_cancel_dimona, destructive=True, form_class=CancelForm,
        consequence=_cancel_consequence, confirm_label=_("Cancel and send Dimona-Cancel"),
        success=_("{count} Dimona-Cancel(s) sent.")),
    ObjectAction(
        name="mark_no_show", label=_("Mark no-show"),
        service=lambda shift, data, user: services.shift_mark_no_show(shift=shift),
        unavailable=_cannot_mark_no_show, destructive=True,
        consequence=_no_show_consequence, confirm_label=_("Record the no-show"),
        success=_("{count} no-show(s) recorded; Dimona-Cancel sent.")),
    ObjectAction(
        name="poll_now", label=_("Poll the ONSS now"),
        service=lambda shift, data, user: services.shift_poll_now(shift=shift),
        unavailable=_cannot_poll, success=_("{count} shift(s) polled again.")),
)


class ShiftForm(forms.ModelForm):
    """An edited shift is checked by the service's rules before anything is saved, so
    a refusal (a declared shift moved to another worker…) is a message on the form."""

    declared_late = forms.BooleanField(
        required=False, label=_("Declared late"),
        help_text=_("Record a new shift that has already started; its Dimona is late."))

    class Meta:
        model = Shift
        fields = ["employer", "worker", "start", "end", "declared_late"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            if self.instance.pk:
                services.shift_update_check(
                    shift=Shift.objects.get(pk=self.instance.pk), employer=data["employer"],
                    worker=data["worker"], start=data["start"], end=data["end"])
            else:
                # The API's refusals, as form errors before anything is saved.
                for problem in services.shift_local_problems(
                        worker=data["worker"], start=data["start"], end=data["end"],
                        declared_late=data.get("declared_late", False)):
                    self.add_error("start", problem.message)
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc
        return data


@admin.register(Shift)
class ShiftAdmin(ObjectActionsMixin, AutoRefreshMixin, AttentionColumnMixin, BigTableAdmin):
    form = ShiftForm
    # Narrow cells: beside the two sidebars, seven columns fit 1400 px only if the
    # long ones (the Dimona state, the attention reason) wrap or are cut.
    list_display = ("start_local", "worker", "employer", "status_badge", "dimona_short",
                    "clock_in_short", "attention_short")
    list_filter = ("status", NeedsAttentionFilter, "employer")
    list_select_related = ("worker", "employer")
    search_fields = ("worker__last_name", "worker__first_name", "employer__name")
    date_hierarchy = "start"
    inlines = [DeclarationInline]
    readonly_fields = ("status_badge", "dimona", "clock_in", "validated_hours", "attention",
                       "links")
    object_actions = SHIFT_ACTIONS
    change_list_template = "admin/dimona/shift/change_list.html"

    clock_in = time_column("clock_in_at", _("clocked in"))

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["employer", "worker", "start", "end", "declared_late"]})]
        return [
            (None, {"fields": ["employer", "worker", "start", "end"]}),
            (_("State"), {"fields": ["status_badge", "dimona", "clock_in", "validated_hours",
                                     "attention", "links"]}),
        ]

    def get_queryset(self, request):
        return shifts_without_stale_attention(
            super().get_queryset(request).annotate(**shift_declaration_annotations()))

    def has_delete_permission(self, request, obj=None) -> bool:
        # A shift the ONSS has heard of is cancelled, never deleted: its
        # declarations are the record of what was sent.
        if obj is not None and getattr(obj, "dimona_kind", None):
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description=_("start"), ordering="start")
    def start_local(self, shift: Shift) -> str:
        return two_line_time(shift.start)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, shift: Shift) -> str:
        return shift_status_badge(shift)

    @admin.display(description=_("Dimona"))
    def dimona(self, shift: Shift) -> str:
        return declaration_badge(getattr(shift, "dimona_kind", None),
                                 getattr(shift, "dimona_status", None))

    @admin.display(description=_("Dimona"))
    def dimona_short(self, shift: Shift) -> str:
        return declaration_cell(getattr(shift, "dimona_kind", None),
                                getattr(shift, "dimona_status", None))

    @admin.display(description=_("clocked in"), ordering="clock_in_at")
    def clock_in_short(self, shift: Shift) -> str:
        # The day is the shift's own: the time and its zone say the rest.
        if shift.clock_in_at is None:
            return EMPTY
        local, shown = timezone.localtime(shift.clock_in_at), _time_with_zone(shift.clock_in_at)
        return format_html('<time datetime="{}" title="{}">{}</time>',
                           shift.clock_in_at.isoformat(),
                           f"{formats.date_format(local, 'SHORT_DATE_FORMAT')} {shown}", shown)

    @admin.display(description=_("attention"))
    def attention_short(self, shift: Shift) -> str:
        if not getattr(shift, "needs_attention", False):
            return ""
        reason = attention_reason_text(shift)
        shown = reason if len(reason) <= ATTENTION_SHOWN else f"{reason[:ATTENTION_SHOWN]}…"
        return format_html('<span title="{}">⚠ {}</span>', reason, shown)

    @admin.display(description=_("validated hours"))
    def validated_hours(self, shift: Shift) -> str:
        return _hours(shift.validated_start, shift.validated_end)

    @admin.display(description=_("see also"))
    def links(self, shift: Shift) -> str:
        declarations = list(shift.declarations.order_by("created_at", "pk"))
        if not declarations:
            return EMPTY
        return format_html_join(mark_safe("<br>"), "{}: {}", (
            (declaration_label(d.kind, d.status), related_links(d)) for d in declarations))

    # -- work in flight ---------------------------------------------------------------------
    def pending(self, shift: Shift) -> bool:
        return bool(getattr(shift, "dimona_in_flight", False))

    def pending_progress(self, shift: Shift) -> Progress | None:
        return Progress(summary=gettext("%(shift)s — %(declaration)s") % {
            "shift": shift, "declaration": declaration_label(shift.dimona_kind,
                                                             shift.dimona_status)})

    # -- saving an edited shift through the service ----------------------------------------
    def save_model(self, request, obj, form, change):
        if change:
            self._save_change(request, obj, form)
            return
        try:
            created = services.shift_create(
                employer=obj.employer, worker=obj.worker, start=obj.start, end=obj.end,
                declared_late=form.cleaned_data.get("declared_late", False))
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc
        obj.pk = created.pk

    def _save_change(self, request, obj, form) -> None:
        data = form.cleaned_data
        # The hours before the edit: `obj` already carries the form's.
        before = Shift.objects.get(pk=obj.pk)
        try:
            update = services.shift_update(shift=before, employer=data["employer"],
                                           worker=data["worker"], start=data["start"],
                                           end=data["end"])
        except ServiceError as exc:
            # Checked by the form already: only a change made meanwhile gets here.
            self.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
            return
        if update is not None:
            self.message_user(request, gettext(
                "The hours moved: a Dimona-Update for period %(period)s is sent to the ONSS."
            ) % {"period": update.period_id}, messages.SUCCESS)
        elif (data["start"], data["end"]) != (before.start, before.end):
            self.message_user(request, self._why_no_update(before), messages.INFO)

    def _why_no_update(self, shift: Shift) -> str:
        declaration = shift_active_in(shift)
        if declaration is None:
            return gettext("The hours changed. The shift is not declared yet: its Dimona-In "
                           "will carry the new hours.")
        minutes = int(services.update_threshold().total_seconds() // 60)
        return ngettext(
            "The hours changed by at most %(minutes)d minute from the declared ones: no "
            "Dimona-Update is needed.",
            "The hours changed by at most %(minutes)d minutes from the declared ones: no "
            "Dimona-Update is needed.", minutes) % {"minutes": minutes}

    # -- the live page ----------------------------------------------------------------------
    def get_urls(self):
        return [path("live/", self.admin_site.admin_view(self.live_view),
                     name="dimona_shift_live"), *super().get_urls()]

    def live_view(self, request):
        # Part of the shifts' change list, with its permissions: watching needs
        # the view permission, clocking in or marking a no-show the change one.
        if request.method == "POST":
            return self._live_action(request)
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        today = timezone.localdate(now)
        candidates = list(no_show_candidates(now))
        shifts = list(self.get_queryset(request).filter(
            pk__in=shifts_of_day(today).values("pk")).select_related("worker", "employer"))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Live — %(day)s") % {
                "day": formats.date_format(today, "DATE_FORMAT")},
            "opts": self.opts,
            "shifts": [(shift, self.dimona(shift), shift_status_badge(shift))
                       for shift in shifts],
            "candidate_ids": {shift.pk for shift in candidates},
            "candidates": candidates,
            "can_change": self.has_change_permission(request),
            "now": now,
            "auto_refresh": self.auto_refresh_for(shifts),
        }
        return TemplateResponse(request, "admin/dimona/live.html", context)

    def _live_action(self, request):
        require_change_permission(self, request)
        shift = Shift.objects.filter(pk=request.POST.get("shift")).first()
        if shift is None:
            self.message_user(request, gettext("Unknown shift."), messages.ERROR)
        else:
            try:
                if request.POST.get("action") == "clock_in":
                    services.shift_clock_in(shift=shift)
                    self.message_user(request, gettext("%(worker)s clocked in.") % {
                        "worker": shift.worker})
                elif request.POST.get("action") == "no_show":
                    # A no-show sends a Dimona-Cancel: it is confirmed on its own page first.
                    url = reverse("admin:dimona_shift_action_mark_no_show", args=[shift.pk])
                    return HttpResponseRedirect(
                        f"{url}?{urlencode({'next': reverse('admin:dimona_shift_live')})}")
            except ServiceError as exc:
                self.message_user(request, f"{shift}: {exc.message}", messages.ERROR)
        return HttpResponseRedirect(reverse("admin:dimona_shift_live"))


@admin.register(DimonaDeclaration)
class DimonaDeclarationAdmin(AutoRefreshMixin, BigTableAdmin):
    # The kind sits above the status and the result is in the status's label: the
    # last error stays on screen at 1400 px beside the two sidebars.
    list_display = ("created_short", "shift_link", "kind_and_status", "period_id",
                    "anomaly_codes", "short_error", "polls")
    list_filter = ("status", "result", "kind")
    list_select_related = ("shift__worker", "shift__employer")
    search_fields = ("=declaration_id", "=period_id")
    fields = ("shift", "kind", "status_badge", "result", "declaration_id", "period_id",
              "anomaly_list", "reason", "error_text", "declared", "poll_count", "created",
              "send_attempted", "sent", "completed", "operation", "links", "raw_status")
    readonly_fields = fields
    actions = ["poll_now"]
    change_list_template = "admin/dimona/dimonadeclaration/change_list.html"

    created = time_column("created_at", _("created"))
    send_attempted = time_column("send_attempted_at", _("send attempted"))
    sent = time_column("sent_at", _("sent"))
    completed = time_column("completed_at", _("completed"))

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def pending(self, declaration: DimonaDeclaration) -> bool:
        return declaration.status in IN_FLIGHT

    @admin.display(description=_("created"), ordering="created_at")
    def created_short(self, obj: DimonaDeclaration) -> str:
        return two_line_time(obj.created_at)

    @admin.display(description=_("polls"), ordering="poll_count")
    def polls(self, obj: DimonaDeclaration) -> int:
        return obj.poll_count

    @admin.display(description=_("declaration"), ordering="status")
    def kind_and_status(self, obj: DimonaDeclaration) -> str:
        return declaration_cell(obj.kind, obj.status)

    @admin.display(description=_("shift"))
    def shift_link(self, obj: DimonaDeclaration) -> str:
        url = reverse("admin:dimona_shift_change", args=[obj.shift_id])
        return format_html('<a href="{}">{}<br>{}</a>', url, obj.shift.worker,
                           two_line_time(obj.shift.start))

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: DimonaDeclaration) -> str:
        return choice_badge(obj, "status", DECLARATION_TONES)

    @admin.display(description=_("declared hours"))
    def declared(self, obj: DimonaDeclaration) -> str:
        return _hours(obj.declared_start, obj.declared_end)

    @admin.display(description=_("anomalies"))
    def anomaly_codes(self, obj: DimonaDeclaration) -> str:
        return short_text(", ".join(a.get("code", "") for a in obj.anomalies), 40)

    @admin.display(description=_("anomalies"))
    def anomaly_list(self, obj: DimonaDeclaration) -> str:
        return anomalies_html(obj.anomalies)

    @admin.display(description=_("last error"))
    def short_error(self, obj: DimonaDeclaration) -> str:
        return short_text(stored_text(obj.error))

    @admin.display(description=_("error"))
    def error_text(self, obj: DimonaDeclaration) -> str:
        return stored_text(obj.error) or EMPTY

    @admin.display(description=_("see also"))
    def links(self, obj: DimonaDeclaration) -> str:
        return related_links(obj)

    @admin.action(description=_("Poll the ONSS now"), permissions=["change"])
    def poll_now(self, request, queryset):
        run_service_action(self, request, queryset,
                           lambda d: services.declaration_poll_now(declaration=d),
                           str(_("{count} declaration(s) polled again.")))

    def has_change_permission(self, request, obj=None) -> bool:
        # Read-only form; the "poll now" action needs the permission.
        return request.user.has_perm("dimona.change_dimonadeclaration")
