"""The managers' Dimona back-office: shifts, declarations, the live page."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from apps.core.admin import badge
from apps.core.admin_attention import AttentionColumnMixin, NeedsAttentionFilter
from apps.core.admin_tools import (
    BigTableAdmin,
    confirmed_service_action,
    require_change_permission,
    run_service_action,
)
from apps.core.errors import ServiceError
from apps.dimona import services
from apps.dimona.mapping import BRUSSELS
from apps.dimona.models import DimonaDeclaration, Employer, Shift, Worker
from apps.dimona.selectors import no_show_candidates, shifts_of_day
from apps.dimona.validators import normalise_digits, validate_ssin

DECLARATION_COLOURS = {
    "accepted": "success", "accepted_with_warnings": "conflict", "refused": "failed",
    "failed": "failed", "manual_check": "failed", "waiting_sigedis": "retry",
    "sent": "retry", "pending": "retry",
}


def declaration_badge(status: str | None, label: str | None = None) -> str:
    if not status:
        return badge("skipped", "not declared")
    return badge(DECLARATION_COLOURS.get(status, "retry"), label or status.replace("_", " "))


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
        label="National number (SSIN)", required=False, max_length=20,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current number.")

    class Meta:
        model = Worker
        fields = ["first_name", "last_name"]

    def clean_new_ssin(self) -> str:
        value = self.cleaned_data["new_ssin"]
        if not value:
            if not self.instance.pk:
                raise forms.ValidationError("A new worker needs a national number.")
            return ""
        validate_ssin(value)
        number = normalise_digits(value)
        clash = Worker.objects.filter(ssin_index=Worker.index_for(number))
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Another worker has this national number.")
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

    @admin.display(description="SSIN")
    def masked_ssin(self, worker: Worker) -> str:
        return worker.ssin_masked if worker.pk else "—"

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
    fields = ("kind", "status", "result", "period_id", "anomaly_list", "reason", "sent_at",
              "completed_at")
    readonly_fields = fields
    ordering = ("created_at",)

    @admin.display(description="anomalies")
    def anomaly_list(self, obj: DimonaDeclaration) -> str:
        return anomalies_html(obj.anomalies)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def anomalies_html(anomalies: list[dict]) -> str:
    if not anomalies:
        return "—"
    return format_html("<ul style='margin:0'>{}</ul>", format_html_join(
        "", "<li><code>{}</code> {}</li>",
        ((a.get("code", ""), a.get("label", "")) for a in anomalies)))


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=100, initial="cancelled by manager")


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
class ShiftAdmin(AttentionColumnMixin, BigTableAdmin):
    form = ShiftForm
    list_display = ("start_local", "worker", "employer", "status", "dimona", "clock_in_at",
                    "attention")
    list_filter = ("status", NeedsAttentionFilter, "employer")
    list_select_related = ("worker", "employer")
    search_fields = ("worker__last_name", "worker__first_name", "employer__name")
    date_hierarchy = "start"
    inlines = [DeclarationInline]
    readonly_fields = ("status", "clock_in_at", "validated_start", "validated_end",
                       "attention")
    actions = ["declare", "cancel_dimona", "mark_no_show", "poll_now"]
    change_list_template = "admin/dimona/shift/change_list.html"

    def get_queryset(self, request):
        # The newest declaration's status, annotated: no query per row.
        latest = (DimonaDeclaration.objects.filter(shift=OuterRef("pk"))
                  .order_by("-created_at", "-pk"))
        return super().get_queryset(request).annotate(
            dimona_status=Subquery(latest.values("status")[:1]),
            dimona_kind=Subquery(latest.values("kind")[:1]),
        )

    @admin.display(description="start", ordering="start")
    def start_local(self, shift: Shift) -> str:
        return f"{timezone.localtime(shift.start, BRUSSELS):%a %d/%m %H:%M}"

    @admin.display(description="Dimona")
    def dimona(self, shift: Shift) -> str:
        status = getattr(shift, "dimona_status", None)
        if not status:
            return declaration_badge(None)
        return declaration_badge(status, f"{shift.dimona_kind}: {status.replace('_', ' ')}")

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
        try:
            update = services.shift_update(shift=obj, employer=data["employer"],
                                           worker=data["worker"], start=data["start"],
                                           end=data["end"])
        except ServiceError as exc:
            # Checked by the form already: only a change made meanwhile gets here.
            self.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
            return
        if update is not None:
            self.message_user(request, _("The hours moved: a Dimona-Update is sent."))

    @admin.action(description="Declare (Dimona-In)", permissions=["change"])
    def declare(self, request, queryset):
        run_service_action(self, request, queryset, lambda shift: services.shift_declare(
            shift=shift), "{count} shift(s) declared or already declared.")

    @admin.action(description="Mark no-show (cancels the Dimona)", permissions=["change"])
    def mark_no_show(self, request, queryset):
        run_service_action(self, request, queryset, lambda shift: services.shift_mark_no_show(
            shift=shift), "{count} no-show(s) recorded; Dimona-Cancel sent.")

    @admin.action(description="Poll the ONSS now", permissions=["change"])
    def poll_now(self, request, queryset):
        declarations = DimonaDeclaration.objects.filter(
            shift__in=queryset, status__in=["sent", "waiting_sigedis", "manual_check"])
        run_service_action(self, request, declarations,
                           lambda d: services.declaration_poll_now(declaration=d),
                           "{count} declaration(s) polled again.")

    @admin.action(description="Cancel the shift and its Dimona…", permissions=["change"])
    def cancel_dimona(self, request, queryset):
        return confirmed_service_action(
            self, request, queryset, action="cancel_dimona", form_class=CancelForm,
            service=lambda shift, data: services.shift_cancel(shift=shift, reason=data["reason"]),
            success=_("{count} Dimona-Cancel(s) sent."),
            title=_("Cancel shifts and their Dimona"),
            template="admin/dimona/confirm_cancel.html")

    # -- the live page ------------------------------------------------------------
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
        today = timezone.localtime(now, BRUSSELS).date()
        candidates = list(no_show_candidates(now))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Live — {today:%A %d %B %Y}",
            "shifts": self.get_queryset(request).filter(
                pk__in=shifts_of_day(today).values("pk")).select_related("worker", "employer"),
            "candidate_ids": {shift.pk for shift in candidates},
            "candidates": candidates,
            "can_change": self.has_change_permission(request),
            "now": now,
        }
        return TemplateResponse(request, "admin/dimona/live.html", context)

    def _live_action(self, request):
        require_change_permission(self, request)
        shift = Shift.objects.filter(pk=request.POST.get("shift")).first()
        if shift is None:
            self.message_user(request, "Unknown shift.", messages.ERROR)
        else:
            try:
                if request.POST.get("action") == "clock_in":
                    services.shift_clock_in(shift=shift)
                    self.message_user(request, f"{shift.worker} clocked in.")
                elif request.POST.get("action") == "no_show":
                    services.shift_mark_no_show(shift=shift)
                    self.message_user(request, f"{shift.worker}: no-show, Dimona-Cancel sent.")
            except ServiceError as exc:
                self.message_user(request, f"{shift}: {exc.message}", messages.ERROR)
        return HttpResponseRedirect(reverse("admin:dimona_shift_live"))


@admin.register(DimonaDeclaration)
class DimonaDeclarationAdmin(BigTableAdmin):
    list_display = ("created_at", "shift_link", "kind", "status_badge", "result", "period_id",
                    "anomaly_codes", "poll_count")
    list_filter = ("status", "result", "kind")
    list_select_related = ("shift__worker", "shift__employer")
    search_fields = ("=declaration_id", "=period_id")
    fields = ("shift", "kind", "status", "result", "declaration_id", "period_id",
              "anomaly_list", "reason", "error", "declared_start", "declared_end", "poll_count",
              "created_at", "send_attempted_at", "sent_at", "completed_at", "operation",
              "raw_status")
    readonly_fields = fields
    actions = ["poll_now"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="shift")
    def shift_link(self, obj: DimonaDeclaration) -> str:
        url = reverse("admin:dimona_shift_change", args=[obj.shift_id])
        return format_html('<a href="{}">{}</a>', url, obj.shift)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: DimonaDeclaration) -> str:
        return declaration_badge(obj.status, obj.get_status_display())

    @admin.display(description="anomalies")
    def anomaly_codes(self, obj: DimonaDeclaration) -> str:
        return ", ".join(a.get("code", "") for a in obj.anomalies)

    @admin.display(description="anomalies")
    def anomaly_list(self, obj: DimonaDeclaration) -> str:
        return anomalies_html(obj.anomalies)

    @admin.action(description="Poll the ONSS now", permissions=["change"])
    def poll_now(self, request, queryset):
        run_service_action(self, request, queryset,
                           lambda d: services.declaration_poll_now(declaration=d),
                           "{count} declaration(s) polled again.")

    def has_change_permission(self, request, obj=None) -> bool:
        # Read-only form; the "poll now" action needs the permission.
        return request.user.has_perm("dimona.change_dimonadeclaration")
