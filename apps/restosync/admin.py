"""The managers' RestoSync back-office: restaurants, their platforms, rooms, tables,
services, offers, customers and reservations.

Every save goes through the services, so the back-office follows the API's
rules; the forms ask the same checks first, so a refusal is a field error on
the page rather than a crash. Customers' phone and e-mail and the platforms'
credentials are write-only: typed to set them, shown masked.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin
from django.forms.models import ModelFormMetaclass
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from apps.core.admin_display import (
    CONNECTION_TONES,
    EMPTY,
    MAPPING_TONES,
    admin_change_link,
    choice_badge,
    masked_value,
    register_entity,
    short_text,
    status_badge,
    time_column,
)
from apps.core.admin_tools import BigTableAdmin, ObjectAction, ObjectActionsMixin
from apps.core.dashboard import BREAKER_LABELS
from apps.core.errors import ServiceError
from apps.core.models import ExternalMapping, OutboundOperation
from apps.core.operations import operation_retry_now
from apps.restosync import selectors, services
from apps.restosync.models import (
    ENTITY_CUSTOMER,
    ENTITY_OFFER,
    ENTITY_RESERVATION,
    ENTITY_ROOM,
    ENTITY_SERVICE,
    ENTITY_TABLE,
    SYNC_ENTITIES,
    Customer,
    DiningRoom,
    DiningService,
    DiningTable,
    Offer,
    Reservation,
    Restaurant,
    SyncPlatformConfig,
)
from apps.restosync.operations import PUSH_RESERVATION
from apps.restosync.polling import config_poll_request

RESERVATION_TONES = {
    Reservation.Status.PENDING: "pending",
    Reservation.Status.CONFIRMED: "ok",
    Reservation.Status.SEATED: "ok",
    Reservation.Status.COMPLETED: "muted",
    Reservation.Status.CANCELLED: "muted",
    Reservation.Status.NO_SHOW: "warning",
}
ACTIVE_TONES = {True: "ok", False: "muted"}
BREAKER_TONES = {"closed": "ok", "half_open": "warning", "open": "error"}
# The model of each entity type the core's mappings, conflicts and audit rows
# name. Declared to the core, so their pages link to the reservation (or
# table…) rather than print "reservation 5" and label its fields as its page
# does; and the model's plural names the entity where a manager picks one.
ENTITY_MODELS = {ENTITY_RESERVATION: Reservation, ENTITY_CUSTOMER: Customer,
                 ENTITY_SERVICE: DiningService, ENTITY_OFFER: Offer,
                 ENTITY_ROOM: DiningRoom, ENTITY_TABLE: DiningTable}
for _entity_type, _model in ENTITY_MODELS.items():
    register_entity(_entity_type, model=_model)


def entity_label(entity: str):
    """An entity type as a manager reads it ("Dining services"), in their language."""
    model = ENTITY_MODELS.get(entity)
    return capfirst(model._meta.verbose_name_plural) if model is not None else entity


# Lazy labels: the choices are built once, at import, and shown in each reader's language.
ENTITY_CHOICES = [(entity, entity_label(entity)) for entity in SYNC_ENTITIES]


def _add_service_errors(form: forms.BaseForm, exc: ServiceError) -> None:
    """A service's refusal on the form: each field's messages on the field, the rest on top."""
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for field, messages in details.items():
        if not isinstance(messages, list):
            continue
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, str(message))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _text_list(value: str) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


class _AbstractModelFormMetaclass(ModelFormMetaclass, ABCMeta):
    """A model form's metaclass that also refuses to build a form whose
    abstract methods are not written."""


class ServiceCheckedForm(forms.ModelForm, metaclass=_AbstractModelFormMetaclass):
    """A model form that also asks the service's own checks before the page saves."""

    @abstractmethod
    def service_check(self) -> None:
        """Raise ServiceError for what the service would refuse; each form says which."""

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors:
            return
        try:
            self.service_check()
        except ServiceError as exc:
            _add_service_errors(self, exc)


class _ServiceSavedAdmin(admin.ModelAdmin):
    """Saves through `services.<entity>_create / _update`, deletes through
    `_delete`; an object reservations refer to is shown as protected."""

    entity: str

    def service_values(self, form: forms.ModelForm) -> dict:
        return {name: form.cleaned_data[name] for name in form.Meta.fields
                if name in form.cleaned_data}

    def save_model(self, request, obj, form, change):
        values = self.service_values(form)
        if change:
            saved = getattr(services, f"{self.entity}_update")(**{self.entity: obj}, **values)
        else:
            saved = getattr(services, f"{self.entity}_create")(**values)
        # The page logs and links the saved object: the service's row, as saved.
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # The services set the many-to-many links with the object.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        getattr(services, f"{self.entity}_delete")(**{self.entity: obj})

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms, protected = super().get_deleted_objects(objs, request)
        # The services refuse these: said before the confirmation, not after.
        in_use = [obj for obj in objs if hasattr(obj, "reservations")
                  and obj.reservations.exists()]
        protected = [*protected, *(gettext("%(object)s: reservations refer to it") % {
            "object": obj} for obj in in_use)]
        return deleted, counts, perms, protected


@admin.register(Restaurant)
class RestaurantAdmin(_ServiceSavedAdmin):
    entity = "restaurant"
    list_display = ("name", "time_zone", "created")
    search_fields = ("name",)
    fields = ("name", "time_zone")
    created = time_column("created_at", _("created"))

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms, protected = super().get_deleted_objects(objs, request)
        configured = [obj for obj in objs if obj.platform_configs.exists()]
        protected = [*protected, *(gettext("%(object)s: platform configurations refer to it") % {
            "object": obj} for obj in configured)]
        return deleted, counts, perms, protected


class RoomForm(forms.ModelForm):
    class Meta:
        model = DiningRoom
        fields = ["restaurant", "name", "capacity", "is_active"]


@admin.register(DiningRoom)
class DiningRoomAdmin(_ServiceSavedAdmin):
    entity = "room"
    form = RoomForm
    list_display = ("name", "restaurant", "capacity", "active")
    list_filter = ("restaurant", "is_active")
    list_select_related = ("restaurant",)
    search_fields = ("name",)

    @admin.display(description=_("active"), ordering="is_active")
    def active(self, obj) -> str:
        return status_badge(str(obj.is_active).lower(),
                            _("Active") if obj.is_active else _("Inactive"),
                            ACTIVE_TONES[obj.is_active])


class TableForm(ServiceCheckedForm):
    class Meta:
        model = DiningTable
        fields = ["restaurant", "room", "name", "min_covers", "max_covers", "is_active"]

    def service_check(self) -> None:
        services.table_check(self.instance)


@admin.register(DiningTable)
class DiningTableAdmin(_ServiceSavedAdmin):
    entity = "table"
    form = TableForm
    list_display = ("name", "restaurant", "room", "min_covers", "max_covers", "active")
    list_filter = ("restaurant", "is_active")
    list_select_related = ("restaurant", "room")
    search_fields = ("name",)
    active = DiningRoomAdmin.active


class DiningServiceForm(ServiceCheckedForm):
    days = forms.TypedMultipleChoiceField(
        label=capfirst(_("days")), coerce=int, widget=forms.CheckboxSelectMultiple,
        choices=[(1, _("Monday")), (2, _("Tuesday")), (3, _("Wednesday")), (4, _("Thursday")),
                 (5, _("Friday")), (6, _("Saturday")), (7, _("Sunday"))])

    class Meta:
        model = DiningService
        fields = ["restaurant", "name", "kind", "days", "start_time", "end_time",
                  "last_seating_time", "max_covers", "slot_interval_min", "default_duration_min",
                  "requires_prepayment", "prepayment_amount", "auto_confirm", "rooms",
                  "is_private", "is_active"]

    def service_check(self) -> None:
        services.service_check(self.instance, self.cleaned_data.get("rooms") or [])


@admin.register(DiningService)
class DiningServiceAdmin(_ServiceSavedAdmin):
    entity = "service"
    form = DiningServiceForm
    list_display = ("name", "restaurant", "days_shown", "hours", "max_covers", "active")
    list_filter = ("restaurant", "is_active", "kind")
    list_select_related = ("restaurant",)
    search_fields = ("name",)
    filter_horizontal = ("rooms",)
    active = DiningRoomAdmin.active

    @admin.display(description=_("days"))
    def days_shown(self, obj: DiningService) -> str:
        from django.utils.dates import WEEKDAYS_ABBR

        return ", ".join(str(WEEKDAYS_ABBR[day - 1]) for day in sorted(obj.days or []))

    @admin.display(description=_("hours"), ordering="start_time")
    def hours(self, obj: DiningService) -> str:
        # Times of the restaurant's own day, so its zone is named with them.
        return (f"{formats.time_format(obj.start_time, 'TIME_FORMAT')} – "
                f"{formats.time_format(obj.end_time, 'TIME_FORMAT')} "
                f"({obj.restaurant.time_zone})")


class OfferForm(ServiceCheckedForm):
    class Meta:
        model = Offer
        fields = ["restaurant", "name", "description", "kind", "discount_percent", "start_date",
                  "end_date", "is_permanent", "min_party_size", "max_party_size",
                  "has_prepayment", "prepayment_amount", "prepayment_type", "is_bookable",
                  "is_active"]

    def service_check(self) -> None:
        services.offer_check(self.instance)


@admin.register(Offer)
class OfferAdmin(_ServiceSavedAdmin):
    entity = "offer"
    form = OfferForm
    list_display = ("name", "restaurant", "kind", "is_bookable", "active")
    list_filter = ("restaurant", "kind", "is_active")
    list_select_related = ("restaurant",)
    search_fields = ("name",)
    active = DiningRoomAdmin.active


# -- customers ---------------------------------------------------------------------------

def _write_only(label, help_text=None) -> forms.CharField:
    # A plain form field shows its label as given; Django capitalises only
    # those it takes from a model field: capitalised here the same way.
    return forms.CharField(label=capfirst(label), required=False, strip=True,
                           widget=forms.PasswordInput(render_value=False,
                                                      attrs={"autocomplete": "off"}),
                           help_text=help_text or _("Type to change; leave empty to keep."))


class CustomerForm(forms.ModelForm):
    new_phone = _write_only(_("phone"))
    new_email = _write_only(_("e-mail"))
    allergies_text = forms.CharField(label=capfirst(_("allergies")), required=False,
                                     help_text=_("Separated by commas."))

    class Meta:
        model = Customer
        fields = ["name", "is_vip"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["allergies_text"].initial = ", ".join(self.instance.allergies or [])


@admin.register(Customer)
class CustomerAdmin(BigTableAdmin):
    form = CustomerForm
    list_display = ("name", "restaurant", "phone_masked", "email_masked", "is_vip")
    list_filter = ("restaurant", "is_vip")
    list_select_related = ("restaurant",)
    # Names only: phone and e-mail are encrypted, so no LIKE can find them.
    search_fields = ("name",)
    readonly_fields = ("restaurant", "phone_masked", "email_masked")
    fields = ("restaurant", "name", "phone_masked", "new_phone", "email_masked", "new_email",
              "allergies_text", "is_vip")

    @admin.display(description=_("phone"))
    def phone_masked(self, obj: Customer) -> str:
        return masked_value(obj.phone)

    @admin.display(description=_("e-mail"))
    def email_masked(self, obj: Customer) -> str:
        return masked_value(obj.email, kind="email")

    def has_add_permission(self, request) -> bool:
        # A customer comes with their first reservation (or a platform's booking).
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Their reservations refer to them.
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        changes = {"name": data["name"], "is_vip": data["is_vip"],
                   "allergies": _text_list(data["allergies_text"])}
        if data["new_phone"]:
            changes["phone"] = data["new_phone"]
        if data["new_email"]:
            changes["email"] = data["new_email"]
        services.customer_update(customer=obj, **changes)
        obj.refresh_from_db()


# -- reservations ------------------------------------------------------------------------

class ReservationForm(ServiceCheckedForm):
    customer_name = forms.CharField(label=capfirst(_("customer name")), max_length=200,
                                    required=False)
    customer_phone = _write_only(_("customer phone"))
    customer_email = _write_only(_("customer e-mail"))
    allergies_text = forms.CharField(label=capfirst(_("allergies")), required=False,
                                     help_text=_("Separated by commas."))
    dietary_text = forms.CharField(label=capfirst(_("dietary restrictions")), required=False,
                                   help_text=_("Separated by commas."))

    class Meta:
        model = Reservation
        fields = ["restaurant", "party_size", "adults", "children", "reservation_time",
                  "duration_min", "status", "source", "service", "offer", "dining_room",
                  "tables", "notes", "occasion"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            initial = {"customer_name": self.instance.customer.name,
                       "allergies_text": ", ".join(self.instance.allergies),
                       "dietary_text": ", ".join(self.instance.dietary_restrictions)}
            # A user who may only look gets a form without the model's fields.
            for name, value in initial.items():
                if name in self.fields:
                    self.fields[name].initial = value
            if "restaurant" in self.fields:
                self.fields["restaurant"].disabled = True
        else:
            self.fields["customer_name"].required = True
            for name in ("customer_phone", "customer_email"):
                self.fields[name].help_text = _("A phone number or an e-mail address.")

    def _post_clean(self) -> None:
        # The customer and the lists are not model fields; the instance needs
        # them for its own checks.
        self.instance.allergies = _text_list(self.cleaned_data.get("allergies_text", ""))
        self.instance.dietary_restrictions = _text_list(self.cleaned_data.get("dietary_text", ""))
        super()._post_clean()

    def service_check(self) -> None:
        data = self.cleaned_data
        restaurant = data.get("restaurant") or self.instance.restaurant
        values = {field: data.get(field) for field in services.RESERVATION_FIELDS
                  if field in data}
        if not self.instance.pk and values.get("service") is None \
                and values.get("reservation_time"):
            values["service"] = services.service_for_time(
                restaurant=restaurant, moment=values["reservation_time"])
        problems = services.reservation_problems(
            restaurant=restaurant, values=values, tables=list(data.get("tables") or []))
        problems.raise_if_any()


def sync_cell(states: list[dict]) -> str:
    """Each platform's mapping of a reservation: its state's badge and the booking's id."""
    if not states:
        return EMPTY
    labels = dict(ExternalMapping.Status.choices)
    return format_html_join(
        " ", "{} {}",
        ((status_badge(state["status"], f"{state['platform']}: "
                       f"{labels.get(state['status'], state['status'])}",
                       MAPPING_TONES.get(state["status"], "pending")),
          format_html("<small>{}</small>", state["external_id"])) for state in states))


# -- "retry now" of a reservation's pushes ----------------------------------------------

# A push that failed, whose outcome is unknown (the retry asks the platform
# first), or that gave up: what a manager retries once the platform is back.
RETRYABLE_PUSH_STATES = (OutboundOperation.State.FAILED, OutboundOperation.State.UNKNOWN,
                         OutboundOperation.State.DEAD)


def _retryable_pushes(reservation: Reservation) -> list[OutboundOperation]:
    return list(OutboundOperation.objects.filter(
        kind=PUSH_RESERVATION, payload__reservation_id=reservation.pk,
        state__in=RETRYABLE_PUSH_STATES).order_by("created_at"))


def _nothing_to_retry(reservation: Reservation) -> str:
    if _retryable_pushes(reservation):
        return ""
    return gettext("Nothing to retry: none of its pushes to a platform has failed.")


def _retry_pushes(reservation: Reservation, data: dict, user) -> int:
    pushes = _retryable_pushes(reservation)
    for operation in pushes:
        operation_retry_now(operation=operation)
    return len(pushes)


RETRY_PUSHES = ObjectAction(
    name="retry_pushes", label=_("Retry now"), service=_retry_pushes,
    success=_("{count} reservation(s): their failed pushes are sent again now."),
    unavailable=_nothing_to_retry,
    report=lambda reservation, count: ngettext(
        "%(reservation)s: %(count)d failed push is sent again now.",
        "%(reservation)s: %(count)d failed pushes are sent again now.", count) % {
            "reservation": reservation, "count": count})


@admin.register(Reservation)
class ReservationAdmin(ObjectActionsMixin, BigTableAdmin):
    form = ReservationForm
    list_display = ("when", "restaurant_time", "customer_name", "party_size", "status_badge",
                    "restaurant", "source", "version", "sync_state")
    list_filter = ("restaurant", "status", "source")
    list_select_related = ("restaurant", "customer")
    search_fields = ("customer__name", "=id")
    date_hierarchy = "reservation_time"
    ordering = ("-reservation_time",)
    object_actions = (RETRY_PUSHES,)
    filter_horizontal = ("tables",)
    readonly_fields = ("customer_link", "customer_phone_masked", "customer_email_masked",
                       "restaurant_time", "version", "sync_state", "created", "updated")

    when = time_column("reservation_time", _("time"))
    created = time_column("created_at", _("created"))
    updated = time_column("updated_at", _("updated"))

    def get_fieldsets(self, request, obj=None):
        customer = (["customer_link", "customer_name", "customer_phone_masked",
                     "customer_phone", "customer_email_masked", "customer_email"]
                    if obj else ["customer_name", "customer_phone", "customer_email"])
        booking = ["restaurant", "reservation_time", *(["restaurant_time"] if obj else []),
                   "party_size", "adults", "children", "duration_min", "status", "source",
                   "service", "offer", "dining_room", "tables"]
        fieldsets = [
            (_("Customer"), {"fields": customer}),
            (_("Booking"), {"fields": booking}),
            (_("Details"), {"fields": ["allergies_text", "dietary_text", "occasion", "notes"]}),
        ]
        if obj:
            fieldsets.append((_("Sync"), {"fields": ["version", "sync_state", "created",
                                                     "updated"]}))
        return fieldsets

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context is not None and "cl" in context:
            # The mappings of the page's rows in one query; the rows are the
            # ones the template renders (the page's evaluated queryset).
            rows = list(context["cl"].result_list)
            states = selectors.reservation_sync_states(rows)
            for row in rows:
                row.sync_states = states.get(row.pk, [])
        return response

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_name(self, obj: Reservation) -> str:
        return obj.customer.name

    @admin.display(description=_("customer"))
    def customer_link(self, obj: Reservation) -> str:
        return admin_change_link(obj.customer)

    @admin.display(description=_("customer phone"))
    def customer_phone_masked(self, obj: Reservation) -> str:
        return masked_value(obj.customer.phone)

    @admin.display(description=_("customer e-mail"))
    def customer_email_masked(self, obj: Reservation) -> str:
        return masked_value(obj.customer.email, kind="email")

    @admin.display(description=_("restaurant's time"))
    def restaurant_time(self, obj: Reservation) -> str:
        # The time the guest was told, in the restaurant's zone, named.
        if obj.reservation_time is None:
            return EMPTY
        local = timezone.localtime(obj.reservation_time, ZoneInfo(obj.restaurant.time_zone))
        return (f"{formats.date_format(local, 'SHORT_DATE_FORMAT')} "
                f"{formats.time_format(local, 'TIME_FORMAT')} {local.tzname()}")

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: Reservation) -> str:
        return choice_badge(obj, "status", RESERVATION_TONES)

    @admin.display(description=_("platforms"))
    def sync_state(self, obj: Reservation) -> str:
        states = getattr(obj, "sync_states", None)
        if states is None:
            states = selectors.reservation_sync_states([obj]).get(obj.pk, [])
        return sync_cell(states)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A reservation is cancelled (and the platforms told), never deleted.
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        values = {field: data[field] for field in services.RESERVATION_FIELDS if field in data}
        values.update(allergies=_text_list(data.get("allergies_text", "")),
                      dietary_restrictions=_text_list(data.get("dietary_text", "")))
        if change:
            contact = {name: data[name] for name in ("customer_name", "customer_phone",
                                                     "customer_email") if data.get(name)}
            saved = services.reservation_update(reservation=obj, tables=data.get("tables"),
                                                **contact, **values)
        else:
            saved = services.reservation_create(
                restaurant=data["restaurant"], customer_name=data["customer_name"],
                customer_phone=data.get("customer_phone", ""),
                customer_email=data.get("customer_email", ""),
                tables=data.get("tables") or [], **values)
        # The page logs and links the saved object: the service's row, as saved.
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # The service has set the tables with the reservation.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


# -- platform configurations --------------------------------------------------------------

class PlatformConfigForm(forms.ModelForm):
    new_api_key = _write_only(_("API key"), _("Type to set or replace; leave empty to keep."))
    restaurant_uid = forms.CharField(label=capfirst(_("restaurant id on the platform")),
                                     max_length=100, required=False)
    new_webhook_secret = _write_only(_("webhook secret"),
                                     _("Type to set or replace; leave empty to keep."))
    base_url = forms.URLField(label=capfirst(_("base URL")), required=False, max_length=300,
                              assume_scheme="https",
                              help_text=_("Empty: the platform's (or its simulator's) URL."))
    master_for = forms.MultipleChoiceField(label=capfirst(_("master for")), required=False,
                                           choices=ENTITY_CHOICES,
                                           widget=forms.CheckboxSelectMultiple)
    sync_entities = forms.MultipleChoiceField(label=capfirst(_("synced entities")),
                                              required=False, choices=ENTITY_CHOICES,
                                              widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = SyncPlatformConfig
        fields = ["restaurant", "platform", "master_for", "sync_entities", "supports_webhook",
                  "poll_interval_sec", "is_active"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["restaurant_uid"].initial = selectors.config_restaurant_uid(
                self.instance)
            self.fields["base_url"].initial = self.instance.connection.base_url
        else:
            self.fields["sync_entities"].initial = ["reservation"]

    def clean(self):
        data = super().clean()
        if not self.instance.pk:
            if not data.get("new_api_key"):
                self.add_error("new_api_key", _("Give the API key."))
            if not data.get("restaurant_uid"):
                self.add_error("restaurant_uid", _("Give the platform's restaurant id."))
            restaurant, platform = data.get("restaurant"), data.get("platform")
            if restaurant and platform and SyncPlatformConfig.objects.filter(
                    restaurant=restaurant, platform=platform).exists():
                self.add_error("platform", _("This restaurant already has a configuration "
                                             "for this platform."))
        return data


def _not_pollable(config: SyncPlatformConfig) -> str:
    if config.is_active:
        return ""
    return gettext("This configuration is inactive; activate it before polling.")


POLL_NOW = ObjectAction(
    name="poll_now", label=_("Poll now"),
    service=lambda config, data, user: config_poll_request(config=config, user=user),
    success=_("{count} configuration(s): their platform is read now."),
    unavailable=_not_pollable,
    report=lambda config, run: gettext(
        "%(config)s: the platform's bookings are read now (run %(run)s).") % {
            "config": config, "run": run.pk})


@admin.register(SyncPlatformConfig)
class SyncPlatformConfigAdmin(ObjectActionsMixin, admin.ModelAdmin):
    form = PlatformConfigForm
    list_display = ("restaurant", "platform", "active", "connection_badge", "last_sync",
                    "last_error_short")
    list_filter = ("platform", "is_active", "restaurant")
    list_select_related = ("restaurant", "connection")
    object_actions = (POLL_NOW,)
    readonly_fields = ("webhook_url", "webhook_secret_state", "connection_link",
                       "connection_badge", "breaker", "last_sync", "last_error", "created",
                       "updated")
    active = DiningRoomAdmin.active
    last_sync = time_column("last_sync_at", _("last sync"))
    created = time_column("created_at", _("created"))
    updated = time_column("updated_at", _("updated"))

    def get_fieldsets(self, request, obj=None):
        settings = ["restaurant", "platform", "master_for", "sync_entities", "supports_webhook",
                    "poll_interval_sec", "is_active"]
        credentials = ["new_api_key", "restaurant_uid", "new_webhook_secret", "base_url"]
        fieldsets = [(None, {"fields": settings}),
                     (_("Credentials"), {
                         "description": _("Stored encrypted on the configuration's "
                                          "connection; the key and the secret are never "
                                          "shown."),
                         "fields": credentials})]
        if obj:
            fieldsets.append((_("Health"), {"fields": [
                "connection_link", "connection_badge", "breaker", "webhook_url",
                "webhook_secret_state",
                "last_sync", "last_error", "created", "updated"]}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        # Its connection, mappings and logs belong to this restaurant and platform.
        return (*self.readonly_fields, "restaurant", "platform") if obj else self.readonly_fields

    @admin.display(description=_("connection"))
    def connection_link(self, obj: SyncPlatformConfig) -> str:
        return admin_change_link(obj.connection)

    @admin.display(description=_("connection status"))
    def connection_badge(self, obj: SyncPlatformConfig) -> str:
        if obj.pk is None:
            return EMPTY
        badge = choice_badge(obj.connection, "status", CONNECTION_TONES)
        if obj.connection.status_reason:
            return format_html("{} {}", badge, short_text(obj.connection.status_reason))
        return badge

    @admin.display(description=_("circuit breaker"))
    def breaker(self, obj: SyncPlatformConfig) -> str:
        snapshot = selectors.config_breaker(obj) if obj.pk else None
        if snapshot is None:
            return EMPTY
        state = str(snapshot["state"])
        label = str(BREAKER_LABELS.get(state, state))
        if snapshot["failures"]:
            label = gettext("%(state)s, %(count)d failures in a row") % {
                "state": label, "count": snapshot["failures"]}
        return status_badge(state, label, BREAKER_TONES.get(state, "warning"))

    @admin.display(description=_("webhook URL"))
    def webhook_url(self, obj: SyncPlatformConfig) -> str:
        return selectors.config_webhook_url(obj) if obj.pk else EMPTY

    @admin.display(description=_("webhook secret"))
    def webhook_secret_state(self, obj: SyncPlatformConfig) -> str:
        if selectors.config_has_webhook_secret(obj):
            return status_badge("set", _("Stored"), "ok")
        return status_badge("unset", _("None stored"), "warning")

    @admin.display(description=_("last error"))
    def last_error_short(self, obj: SyncPlatformConfig) -> str:
        return short_text(obj.last_error)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        values = {name: data[name] for name in services.CONFIG_FIELDS if name in data}
        if change:
            saved = services.platform_config_update(
                config=obj, api_key=data.get("new_api_key", ""),
                restaurant_uid=data.get("restaurant_uid", ""),
                webhook_secret=data.get("new_webhook_secret", ""),
                base_url=data.get("base_url", ""), by=request.user, **values)
        else:
            saved = services.platform_config_create(
                restaurant=data["restaurant"], platform=data["platform"],
                api_key=data["new_api_key"], restaurant_uid=data["restaurant_uid"],
                webhook_secret=data.get("new_webhook_secret", ""),
                base_url=data.get("base_url", ""), by=request.user, **values)
        # The page logs and links the saved object: the service's row, as saved.
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        services.platform_config_delete(config=obj)

    def delete_queryset(self, request, queryset):
        for config in queryset:
            services.platform_config_delete(config=config)

