"""The managers' MY TUNICLAIM back-office: the sync page, clients and contracts,
bordereaux, bulletins de soin and the quarantine.

Everything here was sent by the platform and is owned by the import: nothing
is added, edited or deleted by hand, so nothing a manager does can be undone
silently by the next import. What a manager decides (a claim's status, its
payment) goes through the services as an action, which also pushes it to MY
TUNICLAIM; "Sync now" and "Retry import" go through the import.

The bordereau and claim lists are built for tables of hundreds of thousands of
rows: related rows joined in the list query, no filter that scans the table for
its choices, a paginator that never counts past a cap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from apps.core.admin_attention import AttentionColumnMixin, NeedsAttentionFilter
from apps.core.admin_display import (
    EMPTY,
    SYNC_RUN_TONES,
    LinkFilter,
    changelist_url,
    choice_badge,
    local_time,
    masked_column,
    masked_value,
    register_entity,
    related_links,
    short_text,
    status_badge,
    time_column,
)
from apps.core.admin_tools import (
    ActionsOnlyAdmin,
    AutoRefresh,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdmin,
    ToDoFilter,
)
from apps.core.api.permissions import is_manager
from apps.core.dashboard import sync_run_is_live
from apps.core.models import SyncRun
from apps.core.redaction import redact
from apps.tuniclaim import imports, selectors, services
from apps.tuniclaim.client import BORDEREAU_ENTITY, SENSITIVE_KEYS
from apps.tuniclaim.models import (
    Bordereau,
    BulletinSoin,
    BulletinSoinItem,
    Client,
    Contract,
    QuarantinedRecord,
)

# Badge tones of our statuses (apps/core/admin_display.py names the tones). A
# status missing here shows "pending": noticed as in progress, not hidden as done.
BORDEREAU_TONES = {
    Bordereau.Status.PENDING: "muted", Bordereau.Status.TO_SCAN: "pending",
    Bordereau.Status.SCANNING: "pending", Bordereau.Status.SCANNED: "pending",
    Bordereau.Status.TO_ASSIGN: "pending", Bordereau.Status.ASSIGNED: "pending",
    Bordereau.Status.IN_PROGRESS: "pending", Bordereau.Status.PROCESSED: "ok",
    Bordereau.Status.CLOSED: "muted", Bordereau.Status.IN_DIFFICULTY: "error",
    Bordereau.Status.PARTIAL: "warning", Bordereau.Status.RETURNED: "warning",
    Bordereau.Status.PAID: "ok", Bordereau.Status.ON_HOLD: "warning",
    Bordereau.Status.REJECTED: "error",
}
BS_TONES = {
    BulletinSoin.Status.IN_PROGRESS: "pending", BulletinSoin.Status.VALIDATED: "ok",
    BulletinSoin.Status.REJECTED: "error", BulletinSoin.Status.ON_HOLD: "warning",
    BulletinSoin.Status.RETURNED: "warning", BulletinSoin.Status.DELETED: "muted",
}
PAYMENT_TONES = {
    BulletinSoin.PaymentStatus.NOT_EXECUTED: "muted",
    BulletinSoin.PaymentStatus.IN_EXECUTION: "pending",
    BulletinSoin.PaymentStatus.PARTLY_EXECUTED: "warning",
    BulletinSoin.PaymentStatus.REJECTED: "error",
    BulletinSoin.PaymentStatus.BLOCKED: "error",
    BulletinSoin.PaymentStatus.EXECUTED: "ok",
}
# The health levels of selectors.import_health(), as a labelled badge.
HEALTH_BADGES = {
    selectors.GREEN: (_("Healthy"), "ok"),
    selectors.ORANGE: (_("Needs a look"), "warning"),
    selectors.RED: (_("Failing"), "error"),
}
# The client filter lists this many clients (by code); any other is reached by
# the link on the client's row. Clients are few, but never listed without a cap.
CLIENT_CHOICES_SHOWN = 50
# The errors each run of the sync page's timeline shows; the run's page has them all.
RUN_ERRORS_SHOWN = 3
# The sync page reloads itself: every 30 s as the managers asked, every 5 s
# while an import runs, so its progress bar moves.
SYNC_PAGE_REFRESH_SECONDS = 30
SYNC_PAGE_RUNNING_REFRESH_SECONDS = 5

# The outbox names a claim by its primary key (the entity of its pushes); the
# audit rows of the client's calls name a bordereau by the platform's id, which
# is what the URLs carry.
register_entity(services.ENTITY_TYPE, model=BulletinSoin)
register_entity(BORDEREAU_ENTITY, model=Bordereau, id_field="external_id")


def health_badge(level: str) -> str:
    label, tone = HEALTH_BADGES.get(level, (level, "pending"))
    return status_badge(level, label, tone)


def bs_status_badge(bulletin: BulletinSoin) -> str:
    return choice_badge(bulletin, "status", BS_TONES)


def payment_badge(bulletin: BulletinSoin) -> str:
    if not bulletin.payment_status:
        return EMPTY
    return choice_badge(bulletin, "payment_status", PAYMENT_TONES)


def amount(value) -> str:
    """Dinars to the millime, as stored: never through a float."""
    return EMPTY if value is None else f"{value:.3f}"


# -- filters ----------------------------------------------------------------------------------

class ClientFilter(admin.SimpleListFilter):
    """The first clients by code, from the client table (a few hundred rows at
    most), never a SELECT DISTINCT over the bordereaux or the claims; a client
    further down the list is chosen from its row on the clients page."""

    title = _("client")
    parameter_name = "client"
    # The lookup from the filtered model to the client's id.
    field_path = "client_id"

    def lookups(self, request, model_admin):
        clients = list(Client.objects.order_by("code")
                       .values_list("pk", "code", "name")[:CLIENT_CHOICES_SHOWN])
        chosen = self.value()
        if chosen and chosen.isdigit() and int(chosen) not in {row[0] for row in clients}:
            clients += list(Client.objects.filter(pk=chosen).values_list("pk", "code", "name"))
        return [(str(pk), f"{code} {name}".strip()) for pk, code, name in clients]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(**{self.field_path: value}) if value.isdigit() else queryset.none()


class BulletinClientFilter(ClientFilter):
    field_path = "bordereau__client_id"


class BordereauLinkFilter(LinkFilter):
    """The claims of one bordereau, set by the link on the bordereau's row."""

    title = _("bordereau")
    parameters = ("bordereau",)

    def describe(self) -> str:
        return gettext("Bordereau #%(id)s") % {"id": self.used_parameters["bordereau"]}

    def queryset(self, request, queryset):
        value = self.used_parameters.get("bordereau", "")
        return queryset.filter(bordereau_id=value) if value.isdigit() else queryset.none()


class ReleasedFilter(ToDoFilter):
    """Records still in quarantine unless asked otherwise: they are what is left to do."""

    done_field = "released_at"
    done_value = "released"
    todo_label = _("In quarantine")
    done_label = _("Taken by an import")


# -- clients and contracts --------------------------------------------------------------------

@admin.register(Client)
class ClientAdmin(ReadOnlyAdmin):
    """Created by the import from their codes; the name is the platform's label."""

    empty_value_display = EMPTY
    list_display = ("code", "name", "bordereaux_link", "created")
    search_fields = ("code", "name")
    fields = ("code", "name", "bordereaux_link", "created")
    readonly_fields = fields
    created = time_column("created_at", _("created"))

    @admin.display(description=_("bordereaux"))
    def bordereaux_link(self, obj: Client) -> str:
        return format_html('<a href="{}">{}</a>',
                           changelist_url(Bordereau, client=obj.pk), gettext("Its bordereaux"))


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    empty_value_display = EMPTY
    list_display = ("number", "client", "settlement_days", "claim_days", "created")
    list_filter = (ClientFilter,)
    list_select_related = ("client",)
    search_fields = ("number", "client__code")
    fields = ("client", "number", "settlement_days", "claim_days", "created")
    readonly_fields = fields
    created = time_column("created_at", _("created"))


# -- bordereaux and the sync page ------------------------------------------------------------

@dataclass(frozen=True)
class RunRow:
    """One run of the sync page's timeline, as the page shows it."""

    run: SyncRun
    started: str
    trigger: str
    duration: str
    status: str
    errors: list[dict]
    url: str


def plain_time(moment) -> str:
    """A moment in the reader's zone, named, as text (a message is not HTML)."""
    local = timezone.localtime(moment)
    return (f"{formats.date_format(local, 'SHORT_DATE_FORMAT')} "
            f"{formats.time_format(local, 'TIME_FORMAT')} {local.tzname()}")


def run_duration(run: SyncRun, *, now) -> str:
    end = run.finished_at or now
    seconds = max(0, int((end - run.started_at).total_seconds()))
    if seconds < 60:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    minutes, seconds = divmod(seconds, 60)
    return gettext("%(minutes)d min %(seconds)02d s") % {"minutes": minutes, "seconds": seconds}


def run_trigger(run: SyncRun) -> str:
    who = run.triggered_by.get_username() if run.triggered_by_id else ""
    return f"{run.get_trigger_display()} {who}".strip()


def run_row(run: SyncRun, *, now) -> RunRow:
    return RunRow(
        run=run, started=local_time(run.started_at), trigger=run_trigger(run),
        duration=run_duration(run, now=now), status=choice_badge(run, "status", SYNC_RUN_TONES),
        errors=list(run.error_samples or [])[:RUN_ERRORS_SHOWN],
        url=reverse("admin:core_syncrun_change", args=[run.pk]))


@admin.register(Bordereau)
class BordereauAdmin(ReadOnlyAdmin):
    empty_value_display = EMPTY
    # Six columns: the list fits 1400 px beside both sidebars (the platform's
    # status under ours, the claims count linking to them).
    list_display = ("reference", "client_code", "received_on", "processing_deadline",
                    "claims_link", "statuses")
    list_filter = (ClientFilter, "status")
    # "Show counts" would count every filter choice over the whole table.
    show_facets = admin.ShowFacets.NEVER
    list_select_related = ("client",)
    date_hierarchy = "received_on"
    # Exact, so the unique index answers: a LIKE would scan the table.
    search_fields = ("reference__exact", "external_id__exact")
    search_help_text = _("The exact reference or MY TUNICLAIM ID of a bordereau.")
    fields = ("reference", "external_id", "client", "contract", "received_on",
              "processing_deadline", "declared_claims", "provider", "status_badge",
              "platform_status", "platform_updated", "imported", "claims_summary", "see_also")
    readonly_fields = fields

    platform_updated = time_column("platform_updated_at", _("updated at MY TUNICLAIM"))
    imported = time_column("imported_at", _("first imported at"))

    @admin.display(description=_("client"), ordering="client_id")
    def client_code(self, obj: Bordereau) -> str:
        # Sorted by the id, not the client's name: no sort of the whole table through a join.
        return str(obj.client)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: Bordereau) -> str:
        return choice_badge(obj, "status", BORDEREAU_TONES)

    @admin.display(description=_("status (at MY TUNICLAIM)"), ordering="status")
    def statuses(self, obj: Bordereau) -> str:
        return format_html("{} <small><code>{}</code></small>", self.status_badge(obj),
                           obj.platform_status)

    @admin.display(description=_("declared claims"), ordering="declared_claims")
    def claims_link(self, obj: Bordereau) -> str:
        # The count the batch announces, linking to the claims imported: no
        # count of them per row, the list stays one query for its rows.
        return format_html('<a href="{}" title="{}">{}</a>',
                           changelist_url(BulletinSoin, bordereau=obj.pk),
                           gettext("Its claims"), obj.declared_claims)

    @admin.display(description=_("claims"))
    def claims_summary(self, obj: Bordereau) -> str:
        # On the bordereau's own page only: one grouped query over its claims.
        counts = (obj.bulletins.order_by().values_list("status")
                  .annotate(n=Count("pk")).values_list("status", "n"))
        labels = dict(BulletinSoin.Status.choices)
        parts = format_html_join(", ", "{}: {}", ((labels.get(status, status), n)
                                                   for status, n in sorted(counts)))
        return format_html('{} <a href="{}">{}</a>', parts or gettext("none imported yet"),
                           changelist_url(BulletinSoin, bordereau=obj.pk),
                           gettext("Its claims →"))

    @admin.display(description=_("see also"))
    def see_also(self, obj: Bordereau) -> str:
        return related_links(obj)

    # -- the sync page ------------------------------------------------------------------
    def get_urls(self):
        return [path("sync/", self.admin_site.admin_view(self.sync_view), name="tuniclaim_sync"),
                *super().get_urls()]

    def may_view_sync(self, request) -> bool:
        # The page shows the bordereaux' import and its runs (the core's).
        return (self.has_view_permission(request)
                and self.admin_site.has_model_view_permission(request, SyncRun))

    def may_sync(self, request) -> bool:
        # The rule of POST /api/tuniclaim/sync/: Managers (and Admins) start imports.
        return self.may_view_sync(request) and is_manager(request.user)

    def sync_view(self, request):
        """The link's health, the running import, the last runs, and "Sync now"."""
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        if not self.may_view_sync(request):
            raise PermissionDenied
        if request.method == "POST":
            if not self.may_sync(request):
                raise PermissionDenied
            self._sync_start(request, full=request.POST.get("full") == "1")
            # Post, redirect, get: a reload of the page never starts another import.
            return HttpResponseRedirect(reverse("admin:tuniclaim_sync"))
        now = timezone.now()
        status = selectors.import_status()
        # A run past the time after which the next start closes it is not shown running.
        running = (status.running if status.running is not None
                   and sync_run_is_live(status.running, now=now) else None)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("MY TUNICLAIM sync"),
            "opts": self.opts,
            "health_badge": health_badge(status.health.level),
            "health": status.health,
            "running": run_row(running, now=now) if running else None,
            "runs": [run_row(run, now=now) for run in status.last_runs],
            "can_sync": self.may_sync(request),
            "refresh_seconds": SYNC_PAGE_REFRESH_SECONDS,
            # While an import runs: the back-office's own reload (every 5 s, paused
            # while the reader types); the run's progress bar is in its own section.
            "auto_refresh": AutoRefresh(seconds=SYNC_PAGE_RUNNING_REFRESH_SECONDS, pending=1,
                                        progress=[]) if running else None,
            "runs_url": changelist_url(SyncRun, kind=imports.IMPORT_KIND),
            "quarantine_url": changelist_url(QuarantinedRecord),
            "now": local_time(now),
        }
        return TemplateResponse(request, "admin/tuniclaim/sync.html", context)

    def _sync_start(self, request, *, full: bool) -> None:
        run, started = imports.import_trigger(full=full, user=request.user,
                                              trigger=SyncRun.Trigger.MANUAL)
        if started:
            message = (gettext("A full import of MY TUNICLAIM has started (run #%(id)s).")
                       if full else
                       gettext("An import from MY TUNICLAIM has started (run #%(id)s)."))
            self.message_user(request, message % {"id": run.pk}, messages.SUCCESS)
            return
        values = {"id": run.pk, "started": plain_time(run.started_at),
                  "done": run.progress_done, "total": run.progress_total}
        if run.progress_total:
            message = gettext("An import is already running (run #%(id)s, started "
                              "%(started)s, %(done)d of %(total)d pages done): it goes on, "
                              "nothing else was started.")
        else:
            message = gettext("An import is already running (run #%(id)s, started "
                              "%(started)s): it goes on, nothing else was started.")
        self.message_user(request, message % values, messages.WARNING)


# -- bulletins de soin --------------------------------------------------------------------------

# No choice made for the manager: the current value again is refused anyway.
BLANK = [("", "---------")]


class StatusChangeForm(forms.Form):
    status = forms.ChoiceField(label=_("new status"),
                               choices=BLANK + BulletinSoin.Status.choices)


class PaymentUpdateForm(forms.Form):
    payment_status = forms.ChoiceField(label=_("payment status"),
                                       choices=BLANK + BulletinSoin.PaymentStatus.choices)
    payment_date = forms.DateField(label=_("payment date"), required=False)
    amount = forms.DecimalField(label=_("amount paid (TND)"), required=False, max_digits=12,
                                decimal_places=3,
                                help_text=_("Dinars with up to three decimals (millimes)."))
    transfer_reference = forms.CharField(label=_("transfer reference"), required=False,
                                         max_length=100)


def _status_change(bulletin: BulletinSoin, data: dict, user) -> BulletinSoin:
    return services.bs_status_change(bulletin=bulletin, status=data["status"],
                                     user=user)


def _payment_update(bulletin: BulletinSoin, data: dict, user) -> BulletinSoin:
    return services.bs_payment_update(
        bulletin=bulletin, payment_status=data["payment_status"],
        payment_date=data.get("payment_date"), amount=data.get("amount"),
        transfer_reference=data.get("transfer_reference") or "", user=user)


def _status_final(bulletin: BulletinSoin) -> str:
    # The service's own transition table: the button says what the service would.
    if services.STATUS_TRANSITIONS.get(bulletin.status):
        return ""
    return gettext("Its status is final (%(status)s): it cannot change any more.") % {
        "status": bulletin.get_status_display()}


def _not_payable(bulletin: BulletinSoin) -> str:
    if bulletin.status != BulletinSoin.Status.VALIDATED:
        return gettext("Only a validated claim is paid; this one is “%(status)s”.") % {
            "status": bulletin.get_status_display()}
    if not services.PAYMENT_TRANSITIONS.get(bulletin.payment_status):
        return gettext("Its payment is final (%(status)s).") % {
            "status": bulletin.get_payment_status_display()}
    return ""


def _labels(choices, values) -> str:
    """The labels of `values`, in the order of the choices (the same each time)."""
    return ", ".join(str(label) for value, label in choices if value in values) or EMPTY


def _status_consequence(bulletin: BulletinSoin) -> str:
    return gettext(
        "The new status replaces \"%(status)s\" here (it can become: %(next)s), and is sent "
        "to MY TUNICLAIM for the claim %(number)s of the bordereau %(reference)s, with your "
        "name as who processed it. A later import does not undo it.") % {
            "status": bulletin.get_status_display(), "number": bulletin.number,
            "reference": bulletin.bordereau.reference,
            "next": _labels(BulletinSoin.Status.choices,
                            services.STATUS_TRANSITIONS.get(bulletin.status, ()))}


def _payment_consequence(bulletin: BulletinSoin) -> str:
    return gettext(
        "The payment status (next: %(next)s), date, amount and transfer reference are "
        "recorded here and sent to MY TUNICLAIM for the claim %(number)s of the bordereau "
        "%(reference)s (amount covered: %(covered)s TND; payment now: %(payment)s).") % {
            "number": bulletin.number, "reference": bulletin.bordereau.reference,
            "covered": amount(bulletin.amount_covered),
            "payment": bulletin.get_payment_status_display() or gettext("none"),
            "next": _labels(BulletinSoin.PaymentStatus.choices,
                            services.PAYMENT_TRANSITIONS.get(bulletin.payment_status, ()))}


CHANGE_STATUS = ObjectAction(
    name="change_status", label=_("Change the status…"), service=_status_change,
    success=_("{count} claim(s): the new status is recorded and on its way to MY TUNICLAIM."),
    form_class=StatusChangeForm, consequence=_status_consequence, unavailable=_status_final,
    confirm_label=_("Change and send to MY TUNICLAIM"),
    report=lambda bulletin, saved: gettext(
        "%(number)s: now \"%(status)s\"; MY TUNICLAIM is told.") % {
            "number": saved.number, "status": saved.get_status_display()})
UPDATE_PAYMENT = ObjectAction(
    name="update_payment", label=_("Update the payment…"), service=_payment_update,
    success=_("{count} claim(s): the payment is recorded and on its way to MY TUNICLAIM."),
    form_class=PaymentUpdateForm, consequence=_payment_consequence, unavailable=_not_payable,
    # What it has now; the status is chosen anew (the same one again is refused).
    initial=lambda bulletin: {
        "payment_date": bulletin.payment_date, "amount": bulletin.payment_amount,
        "transfer_reference": bulletin.transfer_reference},
    confirm_label=_("Record and send to MY TUNICLAIM"),
    # An amount and a transfer reference belong to one claim: not a list action.
    bulk=False,
    report=lambda bulletin, saved: gettext(
        "%(number)s: payment \"%(payment)s\"; MY TUNICLAIM is told.") % {
            "number": saved.number, "payment": saved.get_payment_status_display()})


class ItemInline(admin.TabularInline):
    """The care acts as the platform sent them: replaced as a set by each import."""

    model = BulletinSoinItem
    empty_value_display = EMPTY
    extra = 0
    can_delete = False
    fields = ("line_number", "product", "quantity", "chapter", "provider", "service_date",
              "claimed", "covered", "member_share_shown", "message_code", "message")
    readonly_fields = fields
    ordering = ("line_number",)

    @admin.display(description=_("amount claimed"))
    def claimed(self, item: BulletinSoinItem) -> str:
        return amount(item.amount_claimed)

    @admin.display(description=_("amount covered"))
    def covered(self, item: BulletinSoinItem) -> str:
        return amount(item.amount_covered)

    @admin.display(description=_("member's share"))
    def member_share_shown(self, item: BulletinSoinItem) -> str:
        return amount(item.member_share)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BulletinSoin)
class BulletinSoinAdmin(ObjectActionsMixin, AttentionColumnMixin,
                        ActionsOnlyAdmin):
    empty_value_display = EMPTY
    # Seven columns: the list fits 1400 px beside both sidebars.
    list_display = ("number", "bordereau_reference", "insured", "status_badge", "payment",
                    "amounts", "attention")
    list_filter = ("status", "payment_status", BulletinClientFilter, BordereauLinkFilter,
                   NeedsAttentionFilter)
    # "Show counts" would count every filter choice over the whole table.
    show_facets = admin.ShowFacets.NEVER
    list_select_related = ("bordereau",)
    # The newest bordereaux first, read backwards along the (bordereau, number)
    # unique index. The model's own ordering ("bordereau") sorts by the
    # bordereau's reception date through a join: a sort of the whole table.
    ordering = ("-bordereau_id", "number")
    # Exact values: the insured code's index answers, and no LIKE scans the claims.
    search_fields = ("number__exact", "insured_code__exact")
    search_help_text = _("The exact BS number or insured code.")
    inlines = [ItemInline]
    object_actions = (CHANGE_STATUS, UPDATE_PAYMENT)
    # Never the names themselves: they are shown masked, on this page as in the list.
    fieldsets = [
        (None, {"fields": ["number", "bordereau", "status_badge", "status_decided",
                           "processed_by", "attention", "see_also"]}),
        (_("As MY TUNICLAIM sent it"), {"fields": [
            "platform_status", "insured_code", "insured_name_masked", "beneficiary_name_masked",
            "relationship", "company_name", "created_on", "illness_date", "claimed",
            "covered", "imported"]}),
        (_("Payment"), {"fields": ["payment_badge", "payment_date", "paid",
                                   "transfer_reference"]}),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]

    insured_name_masked = masked_column("insured_name", _("insured name"))
    beneficiary_name_masked = masked_column("beneficiary_name", _("beneficiary name"))
    status_decided = time_column("status_decided_at", _("status decided at"))
    imported = time_column("imported_at", _("first imported at"))

    @admin.display(description=_("bordereau"), ordering="bordereau_id")
    def bordereau_reference(self, obj: BulletinSoin) -> str:
        return obj.bordereau.reference

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: BulletinSoin) -> str:
        return bs_status_badge(obj)

    @admin.display(description=_("payment"), ordering="payment_status")
    def payment_badge(self, obj: BulletinSoin) -> str:
        return payment_badge(obj)

    @admin.display(description=_("insured"), ordering="insured_code")
    def insured(self, obj: BulletinSoin) -> str:
        return format_html("{}<br><small>{}</small>", obj.insured_code,
                           masked_value(obj.insured_name))

    @admin.display(description=_("payment"), ordering="payment_status")
    def payment(self, obj: BulletinSoin) -> str:
        if obj.payment_amount is None:
            return payment_badge(obj)
        return format_html("{}<br><small>{} TND</small>", payment_badge(obj),
                           amount(obj.payment_amount))

    @admin.display(description=_("covered (TND)"), ordering="amount_covered")
    def amounts(self, obj: BulletinSoin) -> str:
        # Covered first, claimed under it: one narrow column keeps the list on screen.
        return format_html("{}<br><small>{}</small>", amount(obj.amount_covered),
                           gettext("claimed %(amount)s") % {"amount": amount(obj.amount_claimed)})

    @admin.display(description=_("amount claimed"), ordering="amount_claimed")
    def claimed(self, obj: BulletinSoin) -> str:
        return amount(obj.amount_claimed)

    @admin.display(description=_("amount covered"), ordering="amount_covered")
    def covered(self, obj: BulletinSoin) -> str:
        return amount(obj.amount_covered)

    @admin.display(description=_("amount paid"), ordering="payment_amount")
    def paid(self, obj: BulletinSoin) -> str:
        return amount(obj.payment_amount)

    @admin.display(description=_("see also"))
    def see_also(self, obj: BulletinSoin) -> str:
        # Its pushes to MY TUNICLAIM and their audit rows.
        return related_links(obj)


# -- the quarantine ---------------------------------------------------------------------------

def _not_retryable(record: QuarantinedRecord) -> str:
    if record.released_at is not None:
        return gettext("An import has taken it already.")
    return ""


def _retry_import(record: QuarantinedRecord, data: dict, user) -> SyncRun:
    return imports.quarantine_retry(record=record, user=user)


RETRY_IMPORT = ObjectAction(
    name="retry_import", label=_("Retry import"), service=_retry_import,
    success=_("{count} record(s): their bordereau was imported again."),
    unavailable=_not_retryable,
    report=lambda record, run: gettext(
        "%(record)s: its bordereau was imported again (run #%(run)s: %(status)s).") % {
            "record": record, "run": run.pk, "status": run.get_status_display()})


def payload_shown(payload) -> str:
    """The record as received, indented, the insured's and beneficiary's names masked."""
    # The keys the client masks in the audit trail: the same record looks the same there.
    text = json.dumps(redact(payload, sensitive_keys=SENSITIVE_KEYS), indent=2,
                      ensure_ascii=False, sort_keys=True, default=str)
    return format_html('<pre class="hub-pre">{}</pre>', text)


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(ObjectActionsMixin, ActionsOnlyAdmin):
    empty_value_display = EMPTY
    list_display = ("kind", "record", "reason", "detail_short", "last_seen", "run_link",
                    "released")
    list_filter = (ReleasedFilter, "kind", "reason")
    search_fields = ("=record_key", "=bordereau_external_id")
    object_actions = (RETRY_IMPORT,)
    fields = ("kind", "record", "bordereau_external_id", "reason", "detail", "first_seen",
              "last_seen", "run_link", "released", "payload_pretty")
    readonly_fields = fields

    first_seen = time_column("first_seen_at", _("first seen at"))
    last_seen = time_column("last_seen_at", _("last seen at"))
    released = time_column("released_at", _("released at"))

    @admin.display(description=_("record"), ordering="record_key")
    def record(self, obj: QuarantinedRecord) -> str:
        return obj.record_key or gettext("(no key) in bordereau %(id)s") % {
            "id": obj.bordereau_external_id}

    @admin.display(description=_("detail"))
    def detail_short(self, obj: QuarantinedRecord) -> str:
        return short_text(obj.detail)

    @admin.display(description=_("last seen in run"))
    def run_link(self, obj: QuarantinedRecord) -> str:
        # By id: the run is not loaded, the list stays one query for its rows.
        if obj.run_id is None:
            return EMPTY
        return format_html('<a href="{}">#{}</a>',
                           reverse("admin:core_syncrun_change", args=[obj.run_id]), obj.run_id)

    @admin.display(description=_("record as received"))
    def payload_pretty(self, obj: QuarantinedRecord) -> str:
        return payload_shown(obj.payload)

