"""Strict input for the API: what a client sends that we do not use is refused, named.

A field or query parameter we silently ignore is a bug the client cannot
see (a PATCH of `ssin` that changes nothing, a `?search=` that filters
nothing), so:

- `StrictInputMixin` (serializers): an unknown body field is refused
  (`unknown_field`), a read-only one too (`read_only_field`), and the
  object-level checks (`validate()`) run even when some fields failed, on
  the fields that passed, so a request learns all its errors in one answer.
- `StrictQueryParamsMixin` (views): a query parameter the view does not
  read is refused (`unknown_query_parameter`). The known ones come from the
  view itself: its filter backends (a filterset's filters, `ordering`, and
  `search` only where the view has `search_fields`), its paginator on a
  list, and `format`.

The answer's code is the errors' own code when they all share one the
serializer names (`unknown_field`, `shift_overlaps`…), `validation_error`
when they are mixed; `details` names every field either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.fields import SkipField, empty, get_error_detail
from rest_framework.filters import SearchFilter
from rest_framework.generics import ListAPIView
from rest_framework.settings import api_settings

UNKNOWN_FIELD = "unknown_field"
READ_ONLY_FIELD = "read_only_field"
UNKNOWN_QUERY_PARAMETER = "unknown_query_parameter"
VALIDATION_ERROR = "validation_error"
STRICT_CODES = frozenset({UNKNOWN_FIELD, READ_ONLY_FIELD, UNKNOWN_QUERY_PARAMETER})
# Sent by the browsable API's HTML forms with every post; not the client's data.
FORM_MACHINERY = frozenset({"csrfmiddlewaretoken"})


class InputError(ValidationError):
    """A 400 whose answer carries `error_code` rather than `validation_error`."""

    def __init__(self, detail: Any, *, error_code: str = VALIDATION_ERROR) -> None:
        super().__init__(detail)
        self.error_code = error_code


def error_codes(detail: Any) -> set[str]:
    """The codes of every message in a (nested) DRF error detail."""
    if isinstance(detail, Mapping):
        return set().union(*(error_codes(value) for value in detail.values()))
    if isinstance(detail, list | tuple):
        return set().union(*(error_codes(item) for item in detail))
    return {getattr(detail, "code", None) or VALIDATION_ERROR}


def input_error_code(detail: Any, named: frozenset[str] = frozenset()) -> str:
    codes = error_codes(detail)
    if len(codes) == 1 and codes <= STRICT_CODES | named:
        return codes.pop()
    return VALIDATION_ERROR


def merge_errors(into: dict[str, Any], more: Mapping[str, Any]) -> dict[str, Any]:
    """Field errors of two passes in one dict; messages of a field follow each other."""
    for field, messages in more.items():
        known = into.get(field)
        if isinstance(known, list) and isinstance(messages, list):
            into[field] = [*known, *messages]
        elif known is None:
            into[field] = messages
    return into


class StrictInputMixin:
    """For input serializers (nested ones too): refuse what is not ours to take,
    and report field and object-level errors together.

    `validate()` also runs when some fields failed, with only the fields that
    passed, if the serializer sets `validates_partial_data = True`: its
    checks must then take any field as possibly missing. `named_error_codes`
    are the serializer's own codes that may become the answer's code.
    """

    validates_partial_data = False
    named_error_codes: frozenset[str] = frozenset()
    # The resource's output serializer, when input and output are apart: a
    # field it shows and this one does not take is read-only, not unknown.
    output_serializer_class: type[serializers.Serializer] | None = None

    def strict_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[ErrorDetail]]:
        fields = self.fields
        shown = (self.output_serializer_class().fields if self.output_serializer_class
                 else {})
        errors = {}
        for name in data:
            if name in FORM_MACHINERY:
                continue
            field = fields.get(name)
            if field is None and name not in shown:
                errors[name] = [ErrorDetail(str(_("Unknown field.")), code=UNKNOWN_FIELD)]
            elif field is None or field.read_only:
                errors[name] = [ErrorDetail(str(_("This field is read-only.")),
                                            code=READ_ONLY_FIELD)]
        return errors

    def _fields_to_internal(self, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict]:
        # DRF's own loop, keeping what passed instead of dropping it at the first error.
        value: dict[str, Any] = {}
        errors: dict[str, Any] = self.strict_field_errors(data)
        for field in self._writable_fields:
            validate_method = getattr(self, "validate_" + field.field_name, None)
            try:
                validated = field.run_validation(field.get_value(data))
                if validate_method is not None:
                    validated = validate_method(validated)
            except ValidationError as exc:
                errors[field.field_name] = exc.detail
            except DjangoValidationError as exc:
                errors[field.field_name] = get_error_detail(exc)
            except SkipField:
                continue
            else:
                self.set_value(value, field.source_attrs, validated)
        return value, errors

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)
        value, errors = self._fields_to_internal(data)
        if errors:
            raise ValidationError(errors)
        return value

    def run_validation(self, data: Any = empty) -> Any:
        is_empty, data = self.validate_empty_values(data)
        if is_empty:
            return data
        if not isinstance(data, Mapping):
            return super().run_validation(data)
        value, errors = self._fields_to_internal(data)
        if errors and not self.validates_partial_data:
            raise ValidationError(errors)
        try:
            if not errors:
                self.run_validators(value)
            value = self.validate(value)
        except (ValidationError, DjangoValidationError) as exc:
            merge_errors(errors, serializers.as_serializer_error(exc))
        if errors:
            raise ValidationError(errors)
        return value

    def is_valid(self, *, raise_exception: bool = False) -> bool:
        valid = super().is_valid(raise_exception=False)
        if not valid and raise_exception:
            raise InputError(self.errors,
                             error_code=input_error_code(self.errors, self.named_error_codes))
        return valid


def raise_input_error(errors: Mapping[str, Any], named: frozenset[str] = frozenset()) -> None:
    """Raise errors collected by hand (flattened ones) with the code they share."""
    raise InputError(dict(errors), error_code=input_error_code(errors, named))


class StrictQueryParamsMixin:
    """For API views: a query parameter the view does not read is a 400 naming it.

    Checked after authentication and permissions, so an outsider still gets
    their 401/403 and learns nothing about the parameters.
    """

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        unknown = sorted(set(request.query_params) - self.allowed_query_params())
        if unknown:
            message = str(_("Unknown query parameter."))
            raise InputError(
                {name: [ErrorDetail(message, code=UNKNOWN_QUERY_PARAMETER)] for name in unknown},
                error_code=UNKNOWN_QUERY_PARAMETER)

    def allowed_query_params(self) -> set[str]:
        allowed = {api_settings.URL_FORMAT_OVERRIDE} - {None}
        # get_object() filters too, so a detail takes the list's filters.
        for backend_class in getattr(self, "filter_backends", ()):
            allowed |= self._filter_params(backend_class())
        paginator = getattr(self, "paginator", None)
        # A viewset's list has action "list"; a ListAPIView has no action at all.
        if paginator is not None and (getattr(self, "action", None) == "list"
                                      or isinstance(self, ListAPIView)):
            allowed |= {param["name"] for param in paginator.get_schema_operation_parameters(self)}
        return allowed

    def _filter_params(self, backend: Any) -> set[str]:
        if isinstance(backend, SearchFilter) and not getattr(self, "search_fields", None):
            return set()
        if hasattr(backend, "get_filterset_class"):  # django-filter's backend
            filterset = backend.get_filterset_class(self, self.get_queryset())
            return set(filterset.base_filters) if filterset is not None else set()
        return {param["name"] for param in backend.get_schema_operation_parameters(self)}


class NoInputSerializer(StrictInputMixin, serializers.Serializer):
    """The body of an action that takes none: any field in it is refused, named."""


def no_input(request) -> None:
    """Refuse a body sent to an action that reads none (a client's mistake we would hide)."""
    NoInputSerializer(data=request.data).is_valid(raise_exception=True)
