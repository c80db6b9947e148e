"""Input and output serializers of the Dimona API (kept separate on purpose)."""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.core.api.fields import AwareDateTimeField
from apps.core.api.strict import StrictInputMixin
from apps.core.attention_selectors import attention_reason_text
from apps.core.fields import mask
from apps.core.models import Connection
from apps.core.models.attention import stored_text
from apps.dimona import services
from apps.dimona.client import PLATFORM
from apps.dimona.models import DimonaDeclaration, Employer, Shift, Worker
from apps.dimona.validators import (
    normalise_digits,
    normalise_joint_commission,
    validate_enterprise_number,
    validate_ssin,
)

# A clock-in is recorded as it happens: a device that was offline may send
# it up to a day late, and a device clock may run a little fast.
CLOCK_IN_MAX_PAST = timedelta(hours=24)
CLOCK_IN_MAX_FUTURE = timedelta(hours=1)


class EmployerSerializer(StrictInputMixin, serializers.ModelSerializer):
    # Empty: the deployment's own ONSS account (configured from the environment).
    connection = serializers.PrimaryKeyRelatedField(
        queryset=Connection.objects.filter(platform=PLATFORM), required=False, allow_null=True)

    class Meta:
        model = Employer
        fields = ["id", "name", "enterprise_number", "joint_commission", "connection"]
        # People type "BE 0403.170.701": normalised in validate_enterprise_number.
        extra_kwargs = {"enterprise_number": {"validators": [], "max_length": 20}}

    def validate_enterprise_number(self, value: str) -> str:
        validate_enterprise_number(value)
        number = normalise_digits(value)
        others = Employer.objects.filter(enterprise_number=number)
        if self.instance:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError(_("An employer with this number exists."))
        return number

    def validate_joint_commission(self, value: str) -> str:
        # The model's validator (XXX or a number) has already run on this field.
        return normalise_joint_commission(value)


class WorkerOutputSerializer(serializers.ModelSerializer):
    ssin = serializers.SerializerMethodField(help_text=_("Masked: only the last 3 digits show."))

    class Meta:
        model = Worker
        fields = ["id", "first_name", "last_name", "ssin"]

    def get_ssin(self, worker: Worker) -> str:
        return mask(worker.ssin)


class WorkerInputSerializer(StrictInputMixin, serializers.Serializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    ssin = serializers.CharField(write_only=True, max_length=20)

    output_serializer_class = WorkerOutputSerializer

    def validate_ssin(self, value: str) -> str:
        validate_ssin(value)
        return normalise_digits(value)


class WorkerNamesSerializer(StrictInputMixin, serializers.Serializer):
    """A rename; the national number is corrected in the admin, where it is audited."""

    first_name = serializers.CharField(max_length=100, required=False)
    last_name = serializers.CharField(max_length=100, required=False)

    output_serializer_class = WorkerOutputSerializer


class DeclarationOutputSerializer(serializers.ModelSerializer):
    error = serializers.SerializerMethodField(
        help_text=_("The last error, in the reader's language; empty if none."))

    class Meta:
        model = DimonaDeclaration
        fields = ["id", "shift", "kind", "status", "result", "declaration_id", "period_id",
                  "anomalies", "reason", "declared_start", "declared_end", "error",
                  "poll_count", "created_at", "sent_at", "completed_at"]

    def get_error(self, declaration: DimonaDeclaration) -> str:
        return stored_text(declaration.error)


class ShiftOutputSerializer(serializers.ModelSerializer):
    declarations = DeclarationOutputSerializer(many=True, read_only=True)
    # From the attention queue (annotated by `shifts_with_attention`).
    needs_attention = serializers.BooleanField(
        read_only=True, help_text=_("A declaration was refused or needs a manual check."))
    attention_reason = serializers.SerializerMethodField(
        help_text=_("The newest open reason, in the reader's language; empty if none."))

    class Meta:
        model = Shift
        fields = ["id", "employer", "worker", "start", "end", "status", "clock_in_at",
                  "validated_start", "validated_end", "needs_attention", "attention_reason",
                  "declarations"]

    def get_attention_reason(self, shift: Shift) -> str:
        return attention_reason_text(shift)


class ShiftInputSerializer(StrictInputMixin, serializers.Serializer):
    """A new shift is proposed: it is accepted with its own action, never on create."""

    employer = serializers.PrimaryKeyRelatedField(queryset=Employer.objects.all())
    worker = serializers.PrimaryKeyRelatedField(queryset=Worker.objects.all())
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    declared_late = serializers.BooleanField(
        default=False,
        help_text=_("Record a shift that has already started (its Dimona is late)."))

    output_serializer_class = ShiftOutputSerializer
    validates_partial_data = True
    named_error_codes = frozenset({services.SHIFT_OVERLAPS, services.SHIFT_IN_PAST})

    def validate(self, data):
        start, end, worker = data.get("start"), data.get("end"), data.get("worker")
        if start is None or end is None:
            return data
        if end <= start:
            raise serializers.ValidationError({"end": serializers.ErrorDetail(
                str(_("The shift must end after it starts.")), code="invalid")})
        # The service checks these again when it saves; asked here, they join
        # the field errors in one answer.
        errors: dict[str, list] = {}
        problems = services.shift_local_problems(
            worker=worker, start=start, end=end,
            declared_late=data.get("declared_late", False)) if worker else []
        for problem in problems:
            for field, messages in problem.details.items():
                if isinstance(messages, list):
                    errors.setdefault(field, []).extend(
                        serializers.ErrorDetail(str(m), code=problem.code) for m in messages)
        if errors:
            raise serializers.ValidationError(errors)
        return data


class CancelInputSerializer(StrictInputMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=100, required=False, default="cancelled",
                                   allow_blank=False)


class ClockInInputSerializer(StrictInputMixin, serializers.Serializer):
    at = AwareDateTimeField(required=False, max_past=CLOCK_IN_MAX_PAST,
                            max_future=CLOCK_IN_MAX_FUTURE)


class HoursInputSerializer(StrictInputMixin, serializers.Serializer):
    start = AwareDateTimeField()
    end = AwareDateTimeField()

    validates_partial_data = True

    def validate(self, data):
        if "start" in data and "end" in data and data["end"] <= data["start"]:
            raise serializers.ValidationError({"end": _("The end must be after the start.")})
        return data
