"""Page numbers and sizes for every API; a capped count for the big tables."""

from __future__ import annotations

import functools

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


# Tables of hundreds of thousands of rows (claims, audit rows): a page counts
# at most this many rows past its own start, so page 1 costs a bounded count
# and page N as much as reading up to it, never a scan of the whole table.
COUNT_AHEAD = 10_000
# A LIMIT the databases take (a 64-bit integer), whatever page is asked for.
MAX_COUNTED_ROWS = 2**62


class _CountAheadPaginator(Paginator):
    def __init__(self, *args, counted_rows: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.counted_rows = counted_rows

    @cached_property
    def count(self) -> int:
        return self.object_list.values("pk")[:self.counted_rows].count()


class CountAheadPagination(StandardPagination):
    """The core's page numbers and sizes, with a count that stops
    `COUNT_AHEAD` rows past the page asked for (`count_is_exact` says so)."""

    # "last" would need the full count.
    last_page_strings = ()

    def paginate_queryset(self, queryset, request, view=None):
        size = self.get_page_size(request) or 0
        try:
            number = max(int(request.query_params.get(self.page_query_param) or 1), 1)
        except ValueError:
            number = 1  # the paginator refuses it with a 404, as DRF does
        self.counted_rows = min((number - 1) * size + COUNT_AHEAD, MAX_COUNTED_ROWS)
        self.django_paginator_class = functools.partial(_CountAheadPaginator,
                                                        counted_rows=self.counted_rows)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_is_exact"] = self.page.paginator.count < self.counted_rows
        return response

    def get_paginated_response_schema(self, schema):
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["count"]["description"] = _(
            "Rows found, counted up to %(count)d past the start of this page.") % {
                "count": COUNT_AHEAD}
        answer["properties"]["count_is_exact"] = {
            "type": "boolean",
            "description": str(_("False: there are at least `count` rows; narrow the filters "
                                 "or page on to learn more.")),
        }
        answer["required"] = [*answer["required"], "count_is_exact"]
        return answer
