"""A restaurant's own side: its rooms, tables, services, offers, customers and
reservations, and the platforms it syncs them with.

Mappings to the platforms' ids, the audit trail and conflicts are the core's
(`ExternalMapping`, `SyncLog`, `Conflict`); nothing of that kind lives here.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField, blind_index, mask, mask_email
from apps.restosync.validators import (
    normalise_email,
    normalise_phone,
    validate_text_list,
    validate_time_zone,
    validate_weekdays,
)

# The entity types of the core's mappings, conflicts and audit rows (the seed's names).
ENTITY_RESERVATION = "reservation"
ENTITY_CUSTOMER = "customer"
ENTITY_SERVICE = "dining_service"
ENTITY_OFFER = "offer"
ENTITY_ROOM = "dining_room"
ENTITY_TABLE = "table"
SYNC_ENTITIES = (ENTITY_RESERVATION, ENTITY_CUSTOMER, ENTITY_SERVICE, ENTITY_OFFER,
                 ENTITY_ROOM, ENTITY_TABLE)

# The core SyncRun kind of a configuration's poll.
POLL_KIND = "restosync.poll"

# A Connection's tenant, for connections a restaurant owns.
RESTAURANT_TENANT = "restosync.restaurant"
# The credential a restaurant's platform account is known by, kept in the
# connection's encrypted `extra` with the API key.
RESTAURANT_UID = "restaurant_uid"


class Restaurant(models.Model):
    name = models.CharField(_("name"), max_length=200)
    # The platforms give local times; this says which zone they are in.
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Brussels",
                                 validators=[validate_time_zone],
                                 help_text=_("IANA name, e.g. Europe/Brussels."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("restaurant")
        verbose_name_plural = _("restaurants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DiningRoom(models.Model):
    restaurant = models.ForeignKey(Restaurant, verbose_name=_("restaurant"),
                                   on_delete=models.CASCADE, related_name="rooms")
    name = models.CharField(_("name"), max_length=120)
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True,
                                           help_text=_("Covers; empty: not limited."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("dining room")
        verbose_name_plural = _("dining rooms")
        ordering = ["restaurant", "name"]

    def __str__(self) -> str:
        return self.name


class DiningTable(models.Model):
    restaurant = models.ForeignKey(Restaurant, verbose_name=_("restaurant"),
                                   on_delete=models.CASCADE, related_name="tables")
    room = models.ForeignKey(DiningRoom, verbose_name=_("dining room"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="tables")
    name = models.CharField(_("name"), max_length=60)
    min_covers = models.PositiveIntegerField(_("minimum covers"), default=1,
                                             validators=[MinValueValidator(1)])
    max_covers = models.PositiveIntegerField(_("maximum covers"), default=2,
                                             validators=[MinValueValidator(1)])
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("table")
        verbose_name_plural = _("tables")
        ordering = ["restaurant", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(max_covers__gte=models.F("min_covers")),
                                   name="table_max_covers_at_least_min"),
        ]

    def __str__(self) -> str:
        return self.name


class DiningService(models.Model):
    """A recurring sitting (lunch, dinner, brunch) with its hours and capacity."""

    class Kind(models.TextChoices):
        STANDARD = "standard", _("Standard")
        BRUNCH = "brunch", _("Brunch")
        EVENT = "event", _("Event")

    restaurant = models.ForeignKey(Restaurant, verbose_name=_("restaurant"),
                                   on_delete=models.CASCADE, related_name="services")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices,
                            default=Kind.STANDARD)
    days = models.JSONField(_("days"), default=list, validators=[validate_weekdays],
                            help_text=_("1 (Monday) to 7 (Sunday)."))
    # Local times of the restaurant's zone.
    start_time = models.TimeField(_("start time"))
    end_time = models.TimeField(_("end time"))
    last_seating_time = models.TimeField(_("last seating"), null=True, blank=True)
    max_covers = models.PositiveIntegerField(_("maximum covers"), null=True, blank=True,
                                             help_text=_("Empty: not limited."))
    slot_interval_min = models.PositiveIntegerField(
        _("slot interval (minutes)"), default=15,
        validators=[MinValueValidator(5), MaxValueValidator(240)])
    default_duration_min = models.PositiveIntegerField(
        _("default duration (minutes)"), default=90,
        validators=[MinValueValidator(15), MaxValueValidator(720)])
    requires_prepayment = models.BooleanField(_("requires prepayment"), default=False)
    prepayment_amount = models.DecimalField(_("prepayment amount"), max_digits=8,
                                            decimal_places=2, null=True, blank=True)
    auto_confirm = models.BooleanField(_("confirm automatically"), default=True)
    rooms = models.ManyToManyField(DiningRoom, verbose_name=_("dining rooms"), blank=True,
                                   related_name="services",
                                   help_text=_("None chosen: every room."))
    is_private = models.BooleanField(_("private"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("dining service")
        verbose_name_plural = _("dining services")
        ordering = ["restaurant", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=models.F("start_time")),
                                   name="service_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.name


class Offer(models.Model):
    """A promotion, a set menu or a bookable event."""

    class Kind(models.TextChoices):
        MENU = "menu", _("Set menu")
        PROMO = "promo", _("Promotion")
        HAPPY_HOUR = "happy_hour", _("Happy hour")
        EVENT = "event", _("Event")

    class PrepaymentType(models.TextChoices):
        PER_PERSON = "per_person", _("Per person")
        FLAT = "flat", _("Flat")

    restaurant = models.ForeignKey(Restaurant, verbose_name=_("restaurant"),
                                   on_delete=models.CASCADE, related_name="offers")
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.MENU)
    discount_percent = models.PositiveIntegerField(
        _("discount (%)"), null=True, blank=True, validators=[MaxValueValidator(100)])
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    is_permanent = models.BooleanField(_("permanent"), default=False)
    min_party_size = models.PositiveIntegerField(_("minimum party size"), null=True,
                                                 blank=True, validators=[MinValueValidator(1)])
    max_party_size = models.PositiveIntegerField(_("maximum party size"), null=True,
                                                 blank=True, validators=[MinValueValidator(1)])
    has_prepayment = models.BooleanField(_("prepayment"), default=False)
    prepayment_amount = models.DecimalField(_("prepayment amount"), max_digits=8,
                                            decimal_places=2, null=True, blank=True)
    prepayment_type = models.CharField(_("prepayment type"), max_length=12, blank=True,
                                       choices=PrepaymentType.choices)
    is_bookable = models.BooleanField(_("bookable"), default=True,
                                      help_text=_("Offered by phone and by the voice assistant."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["restaurant", "name"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    restaurant = models.ForeignKey(Restaurant, verbose_name=_("restaurant"),
                                   on_delete=models.CASCADE, related_name="customers")
    name = models.CharField(_("name"), max_length=200)
    # Personal data, encrypted at rest; the indexes (keyed hashes) find a
    # returning customer without decrypting every row.
    phone = EncryptedTextField(_("phone"), blank=True)
    phone_index = models.CharField(_("phone index"), max_length=64, blank=True, editable=False)
    email = EncryptedTextField(_("e-mail"), blank=True)
    email_index = models.CharField(_("e-mail index"), max_length=64, blank=True, editable=False)
    allergies = models.JSONField(_("allergies"), default=list, blank=True,
                                 validators=[validate_text_list])
    is_vip = models.BooleanField(_("VIP"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["restaurant", "phone_index"], name="customer_phone"),
            models.Index(fields=["restaurant", "email_index"], name="customer_email"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.phone = normalise_phone(self.phone)
        self.email = normalise_email(self.email)
        self.phone_index = self.phone_index_for(self.phone)
        self.email_index = self.email_index_for(self.email)
        if kwargs.get("update_fields") is not None:
            fields = set(kwargs["update_fields"])
            if "phone" in fields:
                fields.add("phone_index")
            if "email" in fields:
                fields.add("email_index")
            kwargs["update_fields"] = sorted(fields)
        super().save(*args, **kwargs)

    @property
    def phone_masked(self) -> str:
        return mask(self.phone)

    @property
    def email_masked(self) -> str:
        return mask_email(self.email) if self.email else ""

    @staticmethod
    def phone_index_for(phone: str) -> str:
        phone = normalise_phone(phone)
        return blind_index(phone, purpose="restosync.customer.phone") if phone else ""

    @staticmethod
    def email_index_for(email: str) -> str:
        email = normalise_email(email)
        return blind_index(email, purpose="restosync.customer.email") if email else ""


class ReservationQuerySet(models.QuerySet):
    def with_links(self) -> ReservationQuerySet:
        return (self.select_related("restaurant", "customer", "service", "offer", "dining_room")
                .prefetch_related("tables"))


class Reservation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CONFIRMED = "confirmed", _("Confirmed")
        SEATED = "seated", _("Seated")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("No-show")

    class Source(models.TextChoices):
        PHONE = "phone", _("Phone")
        VOICE_ASSISTANT = "voice_assistant", _("Voice assistant")
        WALK_IN = "walk_in", _("Walk-in")
        STAFF = "staff", _("Staff")
        WEBSITE = "website", _("Website")
        ZENCHEF = "zenchef", _("Zenchef")
        THEFORK = "thefork", _("TheFork")

    # Once the guest has come (or not), the restaurant's word is final: a
    # late platform event never takes these back (the seed's mastering rule).
    FINAL_ON_OUR_SIDE = (Status.SEATED, Status.COMPLETED, Status.NO_SHOW)

    restaurant = models.ForeignKey(Restaurant, verbose_name=_("restaurant"),
                                   on_delete=models.PROTECT, related_name="reservations")
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="reservations")
    party_size = models.PositiveIntegerField(_("party size"), validators=[MinValueValidator(1)])
    adults = models.PositiveIntegerField(_("adults"), null=True, blank=True)
    children = models.PositiveIntegerField(_("children"), null=True, blank=True)
    reservation_time = models.DateTimeField(_("reservation time"))
    duration_min = models.PositiveIntegerField(
        _("duration (minutes)"), default=90,
        validators=[MinValueValidator(15), MaxValueValidator(720)])
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices,
                              default=Source.PHONE)
    notes = models.TextField(_("notes"), blank=True)
    allergies = models.JSONField(_("allergies"), default=list, blank=True,
                                 validators=[validate_text_list])
    dietary_restrictions = models.JSONField(_("dietary restrictions"), default=list, blank=True,
                                            validators=[validate_text_list])
    occasion = models.CharField(_("occasion"), max_length=120, blank=True)
    service = models.ForeignKey(DiningService, verbose_name=_("service"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="reservations")
    offer = models.ForeignKey(Offer, verbose_name=_("offer"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="reservations")
    dining_room = models.ForeignKey(DiningRoom, verbose_name=_("dining room"), null=True,
                                    blank=True, on_delete=models.SET_NULL,
                                    related_name="reservations")
    tables = models.ManyToManyField(DiningTable, verbose_name=_("tables"), blank=True,
                                    related_name="reservations")
    # Incremented by every change, ours or a platform's: the sync compares it
    # and a client sends it back to say which state it changed.
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ReservationQuerySet.as_manager()

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["reservation_time"]
        indexes = [
            models.Index(fields=["restaurant", "reservation_time"],
                         name="reservation_restaurant_time"),
            models.Index(fields=["status", "reservation_time"], name="reservation_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(party_size__gte=1),
                                   name="reservation_party_size_positive"),
        ]

    def __str__(self) -> str:
        # In the restaurant's zone, named: that is the time the guest was told.
        local = timezone.localtime(self.reservation_time, ZoneInfo(self.restaurant.time_zone))
        return f"{self.customer.name} {local:%Y-%m-%d %H:%M %Z} ({self.party_size})"


class SyncPlatformConfig(models.Model):
    """One restaurant's account on one platform, on a core connection that
    holds its credentials (API key, restaurant uid, webhook secret)."""

    class Platform(models.TextChoices):
        ZENCHEF = "zenchef", _("Zenchef")

    restaurant = models.ForeignKey(Restaurant, verbose_name=_("restaurant"),
                                   on_delete=models.PROTECT, related_name="platform_configs")
    platform = models.CharField(_("platform"), max_length=40, choices=Platform.choices)
    connection = models.OneToOneField("core.Connection", verbose_name=_("connection"),
                                      on_delete=models.PROTECT, related_name="restosync_config")
    master_for = models.JSONField(
        _("master for"), default=list, blank=True,
        help_text=_("Entity types this platform is the source of truth for, e.g. "
                    "[\"reservation\"]; the others are ours."))
    sync_entities = models.JSONField(_("synced entities"), default=list, blank=True,
                                     help_text=_("Entity types exchanged with this platform."))
    supports_webhook = models.BooleanField(_("sends webhooks"), default=True)
    poll_interval_sec = models.PositiveIntegerField(
        _("poll interval (seconds)"), default=300,
        validators=[MinValueValidator(60), MaxValueValidator(86400)])
    is_active = models.BooleanField(_("active"), default=True)
    last_sync_at = models.DateTimeField(_("last sync"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("platform configuration")
        verbose_name_plural = _("platform configurations")
        ordering = ["restaurant", "platform"]
        constraints = [
            models.UniqueConstraint(fields=["restaurant", "platform"],
                                    name="platform_config_one_per_restaurant",
                                    violation_error_message=_(
                                        "This restaurant already has a configuration for "
                                        "this platform.")),
        ]

    def __str__(self) -> str:
        return f"{self.restaurant} · {self.get_platform_display()}"

    def is_master_for(self, entity_type: str) -> bool:
        return entity_type in (self.master_for or [])
