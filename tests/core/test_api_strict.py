"""Strict input in the core: what a view accepts is derived from the view itself,
and a serializer reports field and object-level errors in one answer."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from rest_framework import filters, mixins, serializers, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory

from apps.core.api.strict import StrictInputMixin, StrictQueryParamsMixin, input_error_code

pytestmark = pytest.mark.django_db


class GroupOutput(serializers.ModelSerializer):
    class Meta:
        model = Group
        fields = ["id", "name"]


class GroupViewSet(StrictQueryParamsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   viewsets.GenericViewSet):
    queryset = Group.objects.order_by("pk")
    serializer_class = GroupOutput
    authentication_classes = []
    permission_classes = [AllowAny]
    filterset_fields = ["name"]


class SearchableGroups(GroupViewSet):
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["name"]


class SearchWithoutFields(GroupViewSet):
    # The backend is there, but nothing to search in: `search` would do nothing.
    filter_backends = [filters.SearchFilter]


def get(view_class, action: str = "list", **params):
    request = APIRequestFactory().get("/groups/", params)
    if action == "list":
        return view_class.as_view({"get": "list"})(request)
    group = Group.objects.get_or_create(name="cooks")[0]
    return view_class.as_view({"get": "retrieve"})(request, pk=group.pk)


def test_it_takes_the_filterset_pagination_and_format_on_a_list():
    Group.objects.create(name="cooks")
    response = get(GroupViewSet, name="cooks", page=1, page_size=5, format="json")
    assert response.status_code == 200, response.data


def test_it_names_every_unknown_query_parameter():
    response = get(GroupViewSet, search="x", colour="red")
    assert response.status_code == 400
    error = response.data["error"]
    assert error["code"] == "unknown_query_parameter"
    assert sorted(error["details"]) == ["colour", "search"]


def test_it_takes_search_only_where_the_view_has_search_fields():
    Group.objects.create(name="cooks")
    searched = get(SearchableGroups, search="coo", ordering="-name")
    assert searched.status_code == 200, searched.data
    assert [row["name"] for row in searched.data["results"]] == ["cooks"]
    assert get(SearchWithoutFields, search="coo").status_code == 400
    # Its own backends replace the default ones: the filterset is not offered there.
    assert get(SearchableGroups, name="cooks").status_code == 400


def test_it_refuses_pagination_on_a_detail():
    Group.objects.create(name="cooks")
    assert get(GroupViewSet, "retrieve").status_code == 200
    response = get(GroupViewSet, "retrieve", page=2)
    assert response.status_code == 400
    assert list(response.data["error"]["details"]) == ["page"]


class Slot(StrictInputMixin, serializers.Serializer):
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    label = serializers.CharField(max_length=5)
    created = serializers.IntegerField(read_only=True)

    validates_partial_data = True
    named_error_codes = frozenset({"slot_backwards"})

    def validate(self, data):
        if "start" in data and "end" in data and data["end"] <= data["start"]:
            raise serializers.ValidationError(
                {"end": serializers.ErrorDetail("Ends before it starts.", code="slot_backwards")})
        return data


class Booking(StrictInputMixin, serializers.Serializer):
    slot = Slot()


def test_it_reports_the_object_check_with_the_field_errors():
    slot = Slot(data={"start": 5, "end": 3, "label": "too long a label"})
    assert not slot.is_valid()
    assert set(slot.errors) == {"end", "label"}


def test_it_skips_object_checks_a_serializer_does_not_run_on_partial_data():
    class Strict(Slot):
        validates_partial_data = False

    slot = Strict(data={"start": 5, "end": 3, "label": "too long a label"})
    assert not slot.is_valid()
    assert set(slot.errors) == {"label"}


def test_it_refuses_unknown_and_read_only_fields_nested_too():
    booking = Booking(data={"slot": {"start": 1, "end": 2, "label": "a", "colour": "red",
                                     "created": 4}, "note": "x"})
    assert not booking.is_valid()
    assert booking.errors["note"][0].code == "unknown_field"
    assert booking.errors["slot"]["colour"][0].code == "unknown_field"
    assert booking.errors["slot"]["created"][0].code == "read_only_field"


def test_it_ignores_the_csrf_token_of_the_browsable_apis_forms():
    slot = Slot(data={"start": 1, "end": 2, "label": "a", "csrfmiddlewaretoken": "t"})
    assert slot.is_valid(), slot.errors


def test_it_gives_the_answer_the_code_its_errors_share():
    backwards = Slot(data={"start": 5, "end": 3, "label": "a"})
    assert not backwards.is_valid()
    assert input_error_code(backwards.errors, Slot.named_error_codes) == "slot_backwards"
    mixed = Slot(data={"start": 5, "end": 3, "label": "a", "colour": "red"})
    assert not mixed.is_valid()
    assert input_error_code(mixed.errors, Slot.named_error_codes) == "validation_error"
    # A code the serializer does not name (DRF's own "max_length") stays generic.
    long_label = Slot(data={"start": 1, "end": 2, "label": "too long a label"})
    assert not long_label.is_valid()
    assert input_error_code(long_label.errors, Slot.named_error_codes) == "validation_error"
