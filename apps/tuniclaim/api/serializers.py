"""Input and output serializers of the MY TUNICLAIM API (kept apart on purpose).

Amounts are dinars to the millime, shown as strings with three decimals
("150.500") and taken as strings or JSON numbers, read as decimals (the
views' JSON parser never makes a float of them). Insured and beneficiary
names are masked: only their last three letters show.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.strict import StrictInputMixin
from apps.core.api.sync_runs import SyncRunProgressSerializer, SyncRunSerializer
from apps.core.fields import mask
from apps.core.models import SyncRun
from apps.tuniclaim import selectors
from apps.tuniclaim.models import (
    AMOUNT,
    Bordereau,
    BulletinSoin,
    BulletinSoinItem,
    Client,
    Contract,
)


def _format(text: str, **values) -> str:
    return str(text) % values


# A description with a number of the code in it, translated when it is read.
lazy_format = lazy(_format, str)

# -- sync --------------------------------------------------------------------------------


class HealthSerializer(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=[(level, level) for level in selectors.LEVELS],
        help_text=_("green: imports complete every hour and nothing waits; orange: look soon; "
                    "red: act now. The rules are in docs/tuniclaim.md."))
    reasons = serializers.ListField(
        child=serializers.CharField(),
        help_text=_("Why, in the reader's language, the red ones first; empty when green."))


class ImportStatusSerializer(serializers.Serializer):
    health = HealthSerializer()
    running = SyncRunSerializer(allow_null=True,
                                help_text=_("The import running now, with its progress."))
    last_runs = SyncRunSerializer(many=True, help_text=lazy_format(
        _("The last %(count)d imports, newest first, the running one included."),
        count=selectors.LAST_RUNS))


class SyncStartInputSerializer(StrictInputMixin, serializers.Serializer):
    full = serializers.BooleanField(
        required=False, default=False,
        help_text=_("Read every bordereau, not only those changed since the last good run."))


class SyncStartedSerializer(serializers.Serializer):
    run_id = serializers.IntegerField(source="id")
    status = serializers.CharField(
        help_text=_("The run's status: running, success, partial or error."))
    started = serializers.SerializerMethodField(
        help_text=_("False: an import was running already; this is that one."))
    progress = SyncRunProgressSerializer(source="*")

    def get_started(self, run: SyncRun) -> bool:
        return bool(self.context["started"])


# -- bordereaux ----------------------------------------------------------------------------


class ClientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Client
        fields = ["id", "code", "name"]


class ContractSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contract
        fields = ["id", "number", "settlement_days", "claim_days"]


class BordereauOutputSerializer(serializers.ModelSerializer):
    client = ClientSerializer()
    contract = ContractSerializer(allow_null=True)

    class Meta:
        model = Bordereau
        fields = ["id", "external_id", "reference", "client", "contract", "received_on",
                  "processing_deadline", "declared_claims", "provider", "status",
                  "platform_status", "platform_updated_at", "imported_at"]


# -- bulletins de soin ------------------------------------------------------------------------


class AmountField(serializers.DecimalField):
    """Dinars to the millime, as "150.500"."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**AMOUNT, coerce_to_string=True, **kwargs)


@extend_schema_field({"type": "string", "example": "••••••••••••••lah"})
class MaskedField(serializers.CharField):
    """Personal data shown with only its last letters."""

    def to_representation(self, value: str) -> str:
        return mask(value)


class ItemOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = BulletinSoinItem
        fields = ["line_number", "product", "quantity", "chapter", "provider", "service_date",
                  "amount_claimed", "amount_covered", "member_share", "message_code",
                  "message"]


class BulletinOutputSerializer(serializers.ModelSerializer):
    bordereau_reference = serializers.CharField(source="bordereau.reference", read_only=True)
    client_code = serializers.CharField(source="bordereau.client.code", read_only=True)
    insured_name = MaskedField(read_only=True,
                               help_text=_("Masked: only the last 3 letters show."))
    beneficiary_name = MaskedField(read_only=True,
                                   help_text=_("Masked: only the last 3 letters show."))

    class Meta:
        model = BulletinSoin
        fields = ["id", "bordereau", "bordereau_reference", "client_code", "number",
                  "insured_code", "insured_name", "beneficiary_name", "relationship",
                  "created_on", "illness_date", "company_name", "amount_claimed",
                  "amount_covered", "platform_status", "status", "status_decided_at",
                  "processed_by", "payment_status", "payment_date", "payment_amount",
                  "transfer_reference", "imported_at"]


class BulletinDetailSerializer(BulletinOutputSerializer):
    items = ItemOutputSerializer(many=True, read_only=True,
                                 help_text=_("The care acts, in line order."))

    class Meta(BulletinOutputSerializer.Meta):
        fields = [*BulletinOutputSerializer.Meta.fields, "items"]


class PushStatusInputSerializer(StrictInputMixin, serializers.Serializer):
    bs_id = serializers.IntegerField(min_value=1,
                                     help_text=_("The bulletin de soin's id here."))
    status = serializers.ChoiceField(choices=BulletinSoin.Status.choices)


class PushPaymentInputSerializer(StrictInputMixin, serializers.Serializer):
    bs_id = serializers.IntegerField(min_value=1,
                                     help_text=_("The bulletin de soin's id here."))
    payment_status = serializers.ChoiceField(choices=BulletinSoin.PaymentStatus.choices)
    payment_date = serializers.DateField(required=False, allow_null=True)
    amount = AmountField(
        required=False, allow_null=True, min_value=Decimal("0"),
        help_text=_("Dinars to the millime, as a string (\"150.500\") or a number."))
    transfer_reference = serializers.CharField(required=False, allow_blank=True,
                                               max_length=100)
