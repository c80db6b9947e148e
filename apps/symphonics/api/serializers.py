"""Input and output serializers of the Symphonics API (kept separate on purpose).

The create body has the structure of Symphonics' own create payload, so a
field app that already speaks it posts the same JSON here. Input
serializers only check types and shapes (and that dates are real and
plausible); the rules (PDL, phone, no control characters in any text,
required documents and photos…) are checked once, in the service, on the
payload as it would be sent, so every problem is reported at once. Every
error names its field the way Symphonics does: `installation.pdl`,
`photos[1].coordinates.latitude`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from apps.core.api.fields import AwareDateTimeField
from apps.core.api.strict import StrictInputMixin, raise_input_error
from apps.core.attention_selectors import attention_reason_text
from apps.core.models.attention import stored_text
from apps.symphonics.models import (
    Intervention,
    InterventionDocument,
    InterventionEquipment,
    InterventionPhoto,
    InterventionService,
    InterventionStatusChange,
)

# A completion and its photos have happened: a time ahead of the hub's clock
# is a wrong device clock, given a day's slack.
HAPPENED_MAX_FUTURE = timedelta(days=1)


def flatten_errors(errors: Any, path: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as {"dotted.path[0].field": [messages]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            if isinstance(key, int):  # a list's errors, by position
                child = f"{path}[{key}]"
            elif key == "non_field_errors" and path:
                child = path
            else:
                child = f"{path}.{key}" if path else str(key)
            for field, messages in flatten_errors(value, child).items():
                flat.setdefault(field, []).extend(messages)
    elif isinstance(errors, list) and all(isinstance(item, str) for item in errors):
        # Kept as DRF's ErrorDetail: their codes give the answer its code.
        flat[path or "non_field_errors"] = list(errors)
    elif isinstance(errors, list):
        for i, item in enumerate(errors):
            flat.update(flatten_errors(item, f"{path}[{i}]"))
    else:
        flat[path or "non_field_errors"] = [str(errors)]
    return flat


def validated(serializer: serializers.Serializer) -> dict[str, Any]:
    if not serializer.is_valid():
        raise_input_error(flatten_errors(serializer.errors))
    return serializer.validated_data


class QuantityField(serializers.DecimalField):
    """1 comes back as 1 and 12.5 as 12.5, not as "1.000"."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_digits=12, decimal_places=3, **kwargs)

    def to_representation(self, value: Decimal) -> int | float:
        return int(value) if value == value.to_integral_value() else float(value)


# -- input ------------------------------------------------------------------------

class CustomerInputSerializer(StrictInputMixin, serializers.Serializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    email = serializers.CharField(max_length=254)
    phone = serializers.CharField(max_length=20)


class InstallationInputSerializer(StrictInputMixin, serializers.Serializer):
    address = serializers.CharField(max_length=255)
    postal_code = serializers.CharField(max_length=10)
    city = serializers.CharField(max_length=100)
    # Longer than 14: spaces typed between digit groups are dropped later.
    pdl = serializers.CharField(max_length=30)
    pce = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")


class ServiceInputSerializer(StrictInputMixin, serializers.Serializer):
    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=255)
    quantity = QuantityField()


class EquipmentInputSerializer(StrictInputMixin, serializers.Serializer):
    name = serializers.CharField(max_length=255)
    model = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    serial_number = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                          default="")
    quantity = QuantityField(required=False, default=Decimal(1))


class DocumentInputSerializer(StrictInputMixin, serializers.Serializer):
    type = serializers.ChoiceField(choices=InterventionDocument.Kind.choices, source="kind")
    name = serializers.CharField(max_length=255)
    url = serializers.CharField(max_length=500)


class CoordinatesSerializer(StrictInputMixin, serializers.Serializer):
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()


class PhotoInputSerializer(StrictInputMixin, serializers.Serializer):
    type = serializers.ChoiceField(choices=InterventionPhoto.Kind.choices, source="kind")
    url = serializers.CharField(max_length=500)
    # Optional here, required for publication: the service says which photo lacks them.
    coordinates = CoordinatesSerializer(required=False, allow_null=True)
    timestamp = AwareDateTimeField(required=False, allow_null=True, source="taken_at",
                                   max_future=HAPPENED_MAX_FUTURE)

    validates_partial_data = True

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        coordinates = data.pop("coordinates", None) or {}
        return {**data, "latitude": coordinates.get("latitude"),
                "longitude": coordinates.get("longitude"),
                "taken_at": data.get("taken_at")}


class InstallerInputSerializer(StrictInputMixin, serializers.Serializer):
    id = serializers.CharField(max_length=100)
    company_id = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                       default="")
    name = serializers.CharField(max_length=200)


class InterventionInputSerializer(StrictInputMixin, serializers.Serializer):
    customer = CustomerInputSerializer()
    installation = InstallationInputSerializer()
    services = ServiceInputSerializer(many=True)
    equipment = EquipmentInputSerializer(many=True, required=False, default=list)
    documents = DocumentInputSerializer(many=True)
    photos = PhotoInputSerializer(many=True)
    installer = InstallerInputSerializer()
    completion_date = AwareDateTimeField(max_future=HAPPENED_MAX_FUTURE)
    external_id = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                        default="")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        """The arguments of `intervention_create`, in our words."""
        customer, installation, installer = (data["customer"], data["installation"],
                                             data["installer"])
        return {
            "external_id": data["external_id"],
            "customer_first_name": customer["first_name"],
            "customer_last_name": customer["last_name"],
            "customer_email": customer["email"],
            "customer_phone": customer["phone"],
            "address": installation["address"],
            "postal_code": installation["postal_code"],
            "city": installation["city"],
            "pdl": installation["pdl"],
            "pce": installation["pce"],
            "installer_user_id": installer["id"],
            "installer_company_id": installer["company_id"],
            "installer_name": installer["name"],
            "completion_date": data["completion_date"],
            "services": data["services"],
            "equipment": data["equipment"],
            "documents": data["documents"],
            "photos": data["photos"],
        }


class AddDocumentsInputSerializer(StrictInputMixin, serializers.Serializer):
    """The body of Symphonics' PATCH: {"documents": [{type, name, url}]}."""

    documents = DocumentInputSerializer(many=True, allow_empty=False)


class AddressSerializer(StrictInputMixin, serializers.Serializer):
    street = serializers.CharField(max_length=255)
    postal_code = serializers.CharField(max_length=10)
    city = serializers.CharField(max_length=100)


class PdlLookupInputSerializer(StrictInputMixin, serializers.Serializer):
    """The body of Symphonics' PDL look-up, as is."""

    address = AddressSerializer()
    customer_name = serializers.CharField(max_length=200)


# -- output -----------------------------------------------------------------------

class CustomerOutputSerializer(serializers.Serializer):
    first_name = serializers.CharField(source="customer_first_name")
    last_name = serializers.CharField(source="customer_last_name")
    email = serializers.CharField(source="customer_email_masked",
                                  help_text="Masked: personal data.")
    phone = serializers.CharField(source="customer_phone_masked",
                                  help_text="Masked: personal data.")


class InstallationOutputSerializer(serializers.Serializer):
    address = serializers.CharField()
    postal_code = serializers.CharField()
    city = serializers.CharField()
    pdl = serializers.CharField()
    pce = serializers.CharField()


class InstallerOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="installer_user_id")
    company_id = serializers.CharField(source="installer_company_id")
    name = serializers.CharField(source="installer_name")


class ServiceOutputSerializer(serializers.ModelSerializer):
    quantity = QuantityField()

    class Meta:
        model = InterventionService
        fields = ["code", "name", "quantity"]


class EquipmentOutputSerializer(serializers.ModelSerializer):
    quantity = QuantityField()

    class Meta:
        model = InterventionEquipment
        fields = ["name", "model", "serial_number", "quantity"]


class DocumentOutputSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="kind")

    class Meta:
        model = InterventionDocument
        fields = ["id", "type", "name", "url", "verification_status",
                  "remote_verification_status", "verification_notes", "verified_at", "sent_at"]


class PhotoOutputSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="kind")
    coordinates = serializers.SerializerMethodField()
    timestamp = serializers.DateTimeField(source="taken_at")

    class Meta:
        model = InterventionPhoto
        fields = ["type", "url", "coordinates", "timestamp"]

    def get_coordinates(self, photo: InterventionPhoto) -> dict[str, float] | None:
        if photo.latitude is None or photo.longitude is None:
            return None
        return {"latitude": photo.latitude, "longitude": photo.longitude}


class StatusChangeOutputSerializer(serializers.ModelSerializer):
    notes = serializers.SerializerMethodField(
        help_text="The hub's note on this change, in the reader's language; empty if none.")

    class Meta:
        model = InterventionStatusChange
        fields = ["remote_status", "status", "previous_remote_status", "notes", "source",
                  "occurred_at", "applied"]

    def get_notes(self, change: InterventionStatusChange) -> str:
        return stored_text(change.notes)


class InterventionOutputSerializer(serializers.ModelSerializer):
    customer = CustomerOutputSerializer(source="*")
    installation = InstallationOutputSerializer(source="*")
    installer = InstallerOutputSerializer(source="*")
    services = ServiceOutputSerializer(many=True)
    equipment = EquipmentOutputSerializer(many=True)
    documents = DocumentOutputSerializer(many=True)
    photos = PhotoOutputSerializer(many=True)
    status_history = StatusChangeOutputSerializer(many=True)
    # From the attention queue (annotated by `interventions_with_details`).
    needs_attention = serializers.BooleanField(
        read_only=True, help_text="Something here waits for a manager (see attention_reason).")
    attention_reason = serializers.SerializerMethodField(
        help_text="The newest open reason, in the reader's language; empty if none.")

    class Meta:
        model = Intervention
        fields = ["id", "external_id", "symphonics_id", "status", "remote_status",
                  "remote_status_at", "next_steps", "needs_attention", "attention_reason",
                  "last_error", "customer", "installation", "services", "equipment",
                  "documents", "photos", "installer", "completion_date", "pdl_valid",
                  "pdl_checked_at", "pdl_check_message", "created_at", "published_at",
                  "synced_at", "status_history"]

    def get_attention_reason(self, intervention: Intervention) -> str:
        return attention_reason_text(intervention)


class PdlCheckOutputSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    pdl = serializers.CharField()
    address = AddressSerializer(allow_null=True)
    meter_type = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True)
    cached = serializers.BooleanField(help_text="Served from the hub's cache of valid PDLs.")


class PdlMatchOutputSerializer(serializers.Serializer):
    pdl = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True)
    address = AddressSerializer(allow_null=True)
    meter_type = serializers.CharField(allow_blank=True)
    cached = serializers.BooleanField()


class UserCheckOutputSerializer(serializers.Serializer):
    exists = serializers.BooleanField()
    user_id = serializers.CharField(allow_blank=True)
    status = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True)
    cached = serializers.BooleanField()


# A field the intervention shows but a create does not take (status, symphonics_id…)
# is read-only rather than unknown.
InterventionInputSerializer.output_serializer_class = InterventionOutputSerializer
