"""Input and output serializers of the RestoSync API.

The simple entities (restaurants, rooms, tables, services, offers) take and
show the same fields, so one strict serializer each; reservations and
platform configurations show what they do not take (masked contact details,
the sync state, the webhook URL) and take what they never show (credentials),
so their input and output are apart.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.fields import AwareDateTimeField
from apps.core.api.strict import StrictInputMixin
from apps.core.fields import mask, mask_email
from apps.core.models import Conflict
from apps.restosync import selectors, services
from apps.restosync.models import (
    SYNC_ENTITIES,
    DiningRoom,
    DiningService,
    DiningTable,
    Offer,
    Reservation,
    Restaurant,
    SyncPlatformConfig,
)

# Codes of the reservation rules a client may want to tell apart.
RESERVATION_CODES = frozenset({services.SERVICE_CLOSED, services.PARTY_TOO_LARGE,
                               services.FOREIGN_OBJECT})


class _SameRestaurantOnUpdate:
    """An object stays with its restaurant: moving it would take its links along."""

    def validate_restaurant(self, value: Restaurant) -> Restaurant:
        if self.instance is not None and value.pk != self.instance.restaurant_id:
            raise serializers.ValidationError(_("An object cannot move to another restaurant."))
        return value


class RestaurantSerializer(StrictInputMixin, serializers.ModelSerializer):
    class Meta:
        model = Restaurant
        fields = ["id", "name", "time_zone", "created_at"]
        read_only_fields = ["created_at"]


class RoomSerializer(_SameRestaurantOnUpdate, StrictInputMixin, serializers.ModelSerializer):
    class Meta:
        model = DiningRoom
        fields = ["id", "restaurant", "name", "capacity", "is_active"]


class TableSerializer(_SameRestaurantOnUpdate, StrictInputMixin, serializers.ModelSerializer):
    class Meta:
        model = DiningTable
        fields = ["id", "restaurant", "room", "name", "min_covers", "max_covers", "is_active"]


class DiningServiceSerializer(_SameRestaurantOnUpdate, StrictInputMixin,
                              serializers.ModelSerializer):
    days = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=7), allow_empty=False,
        help_text=_("1 (Monday) to 7 (Sunday)."))
    rooms = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=DiningRoom.objects.all(),
        help_text=_("Empty: every room."))

    class Meta:
        model = DiningService
        fields = ["id", "restaurant", "name", "kind", "days", "start_time", "end_time",
                  "last_seating_time", "max_covers", "slot_interval_min",
                  "default_duration_min", "requires_prepayment", "prepayment_amount",
                  "auto_confirm", "rooms", "is_private", "is_active"]


class OfferSerializer(_SameRestaurantOnUpdate, StrictInputMixin, serializers.ModelSerializer):
    class Meta:
        model = Offer
        fields = ["id", "restaurant", "name", "description", "kind", "discount_percent",
                  "start_date", "end_date", "is_permanent", "min_party_size", "max_party_size",
                  "has_prepayment", "prepayment_amount", "prepayment_type", "is_bookable",
                  "is_active"]


# -- platform configurations --------------------------------------------------------

class PlatformConfigOutputSerializer(serializers.ModelSerializer):
    restaurant_uid = serializers.SerializerMethodField(
        help_text=_("The platform's id of the restaurant."))
    base_url = serializers.CharField(source="connection.base_url", read_only=True,
                                     help_text=_("Empty: the platform's (or its simulator's)."))
    webhook_url = serializers.SerializerMethodField(
        help_text=_("Give this address to the platform for its webhooks."))
    has_webhook_secret = serializers.SerializerMethodField(
        help_text=_("Whether a webhook secret is stored (it is never shown)."))
    connection_status = serializers.CharField(source="connection.status", read_only=True)

    class Meta:
        model = SyncPlatformConfig
        fields = ["id", "restaurant", "platform", "restaurant_uid", "base_url", "connection",
                  "connection_status", "master_for", "sync_entities", "supports_webhook",
                  "webhook_url", "has_webhook_secret", "poll_interval_sec", "is_active",
                  "last_sync_at", "last_error", "created_at", "updated_at"]

    def get_restaurant_uid(self, config: SyncPlatformConfig) -> str:
        return selectors.config_restaurant_uid(config)

    def get_webhook_url(self, config: SyncPlatformConfig) -> str:
        return selectors.config_webhook_url(config)

    def get_has_webhook_secret(self, config: SyncPlatformConfig) -> bool:
        return selectors.config_has_webhook_secret(config)


def _entity_list(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.ChoiceField(choices=SYNC_ENTITIES),
                                 **kwargs)


class PlatformConfigUpdateSerializer(StrictInputMixin, serializers.Serializer):
    """A change of settings; credentials given replace the stored ones, never shown."""

    api_key = serializers.CharField(write_only=True, required=False, max_length=500,
                                    trim_whitespace=True)
    webhook_secret = serializers.CharField(write_only=True, required=False, max_length=500)
    restaurant_uid = serializers.CharField(required=False, max_length=100)
    base_url = serializers.URLField(required=False, allow_blank=True, max_length=300)
    master_for = _entity_list(required=False)
    sync_entities = _entity_list(required=False)
    supports_webhook = serializers.BooleanField(required=False)
    poll_interval_sec = serializers.IntegerField(required=False, min_value=60, max_value=86400)
    is_active = serializers.BooleanField(required=False)

    output_serializer_class = PlatformConfigOutputSerializer


class PlatformConfigCreateSerializer(PlatformConfigUpdateSerializer):
    restaurant = serializers.PrimaryKeyRelatedField(queryset=Restaurant.objects.all())
    platform = serializers.ChoiceField(choices=SyncPlatformConfig.Platform.choices)
    api_key = serializers.CharField(write_only=True, max_length=500)
    restaurant_uid = serializers.CharField(max_length=100)


# -- reservations ----------------------------------------------------------------------

class SyncStateSerializer(serializers.Serializer):
    platform = serializers.CharField()
    connection = serializers.IntegerField()
    external_id = serializers.CharField()
    status = serializers.CharField(help_text=_("synced, pending or conflict."))
    synced_at = serializers.DateTimeField(allow_null=True)


class ReservationOutputSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    customer_phone = serializers.SerializerMethodField(
        help_text=_("Masked: only the last 3 digits show."))
    customer_email = serializers.SerializerMethodField(
        help_text=_("Masked: the first letter and the domain show."))
    tables = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    sync = serializers.SerializerMethodField(
        help_text=_("Per platform: the booking's id there and the mapping's state."))

    class Meta:
        model = Reservation
        fields = ["id", "restaurant", "customer", "customer_name", "customer_phone",
                  "customer_email", "party_size", "adults", "children", "reservation_time",
                  "duration_min", "service", "offer", "dining_room", "tables", "status",
                  "source", "notes", "allergies", "dietary_restrictions", "occasion",
                  "version", "sync", "created_at", "updated_at"]

    def get_customer_phone(self, reservation: Reservation) -> str:
        return mask(reservation.customer.phone)

    def get_customer_email(self, reservation: Reservation) -> str:
        email = reservation.customer.email
        return mask_email(email) if email else ""

    @extend_schema_field(SyncStateSerializer(many=True))
    def get_sync(self, reservation: Reservation) -> list[dict]:
        states = self.context.get("sync_states")
        if states is None:
            states = selectors.reservation_sync_states([reservation])
        return SyncStateSerializer(states.get(reservation.pk, []), many=True).data


def _text_list(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(max_length=100), max_length=50,
                                 **kwargs)


class ReservationUpdateSerializer(StrictInputMixin, serializers.Serializer):
    customer_name = serializers.CharField(required=False, max_length=200)
    customer_phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    customer_email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    party_size = serializers.IntegerField(required=False, min_value=1, max_value=500)
    adults = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    children = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    reservation_time = AwareDateTimeField(required=False)
    duration_min = serializers.IntegerField(required=False, min_value=15, max_value=720)
    service = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=DiningService.objects.all())
    offer = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=Offer.objects.all())
    dining_room = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=DiningRoom.objects.all())
    tables = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=DiningTable.objects.all())
    status = serializers.ChoiceField(required=False, choices=Reservation.Status.choices)
    source = serializers.ChoiceField(required=False, choices=Reservation.Source.choices)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    allergies = _text_list(required=False)
    dietary_restrictions = _text_list(required=False)
    occasion = serializers.CharField(required=False, allow_blank=True, max_length=120)
    version = serializers.IntegerField(
        required=False, min_value=1,
        help_text=_("The version you read; another current one is a 409 and nothing changes."))

    output_serializer_class = ReservationOutputSerializer
    validates_partial_data = True
    named_error_codes = RESERVATION_CODES

    def validate(self, data):
        # The service checks these again when it saves; asked here, they join
        # the field errors in one answer.
        reservation: Reservation | None = self.context.get("reservation")
        restaurant = data.get("restaurant") or (reservation.restaurant if reservation else None)
        if restaurant is None:
            return data
        if reservation is not None:
            values = {field: getattr(reservation, field) for field in services.RESERVATION_FIELDS}
            values.update(services.reservation_relinked(reservation=reservation, changes={
                key: value for key, value in data.items()
                if key in ("reservation_time", "service")}))
            tables = data.get("tables", list(reservation.tables.all()))
        else:
            values = {"service": None, "offer": None, "dining_room": None}
            tables = data.get("tables", [])
            if data.get("service") is None and "reservation_time" in data:
                values["service"] = services.service_for_time(
                    restaurant=restaurant, moment=data["reservation_time"])
        values.update({key: value for key, value in data.items()
                       if key in services.RESERVATION_FIELDS})
        if "reservation_time" not in values or "party_size" not in values:
            return data
        problems = services.reservation_problems(restaurant=restaurant, values=values,
                                                 tables=tables)
        if problems.details:
            raise serializers.ValidationError({
                field: [serializers.ErrorDetail(message, code=code)
                        for message, code in zip(messages, problems.field_codes[field],
                                                 strict=True)]
                for field, messages in problems.details.items()})
        return data


class ReservationCreateSerializer(ReservationUpdateSerializer):
    restaurant = serializers.PrimaryKeyRelatedField(queryset=Restaurant.objects.all())
    customer_name = serializers.CharField(max_length=200)
    party_size = serializers.IntegerField(min_value=1, max_value=500)
    reservation_time = AwareDateTimeField()
    status = serializers.ChoiceField(
        required=False, choices=[Reservation.Status.PENDING, Reservation.Status.CONFIRMED],
        help_text=_("Empty: confirmed, unless its service asks for a manual confirmation."))
    version = None


# -- sync actions ------------------------------------------------------------------------

class PollStartedSerializer(serializers.Serializer):
    sync_run = serializers.IntegerField(
        help_text=_("The poll's run: a second request while it runs answers the same one."))
    status = serializers.CharField(
        help_text=_("The run's status: running, success, partial or error."))
    config = serializers.IntegerField(help_text=_("The platform configuration polled."))


class ConflictOutputSerializer(serializers.Serializer):
    """A reservation that changed here and on a platform since they last agreed;
    the guest's contact never shows (its values hold only a keyed hash of it)."""

    id = serializers.IntegerField()
    reservation = serializers.IntegerField(source="local_id",
                                           help_text=_("The reservation's id here."))
    platform = serializers.CharField(source="connection.platform")
    connection = serializers.IntegerField(source="connection_id")
    local_value = serializers.JSONField(help_text=_("Ours, as it is here."))
    remote_value = serializers.JSONField(help_text=_("Theirs, as the platform sent it."))
    proposed_value = serializers.JSONField(
        help_text=_("The merge the mastering rules propose."))
    status = serializers.CharField()
    resolution = serializers.CharField()
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)


class ConflictResolveSerializer(StrictInputMixin, serializers.Serializer):
    resolution = serializers.ChoiceField(
        # A merge by hand is the admin's: its form shows each field of both sides.
        choices=[choice for choice in Conflict.Resolution.choices
                 if choice[0] != Conflict.Resolution.MERGED],
        help_text=_("keep_local: ours is kept and sent to the platform; take_remote: "
                    "the platform's values are applied here."))


class RetriesPendingSerializer(serializers.Serializer):
    pending = serializers.IntegerField(
        help_text=_("Reservation pushes not done yet: waiting for their first run or a "
                    "retry."))


class RetriesRunSerializer(serializers.Serializer):
    ran = serializers.IntegerField(help_text=_("Failed pushes run now."))
    pending = serializers.IntegerField(help_text=_("Pushes still waiting after this run."))
