"""Request parsers shared by the domains' APIs."""

from __future__ import annotations

import codecs
from decimal import Decimal

from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.utils import json as drf_json


class DecimalJSONParser(JSONParser):
    """JSON whose numbers with a fraction become decimals, never floats: an amount
    sent as 150.125 is read as exactly that."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            # NaN and Infinity are refused, as DRF's own parser does.
            return drf_json.load(codecs.getreader(encoding)(stream), parse_float=Decimal)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


# For views that take amounts: JSON read as above, forms as usual.
DECIMAL_PARSERS = [DecimalJSONParser, FormParser, MultiPartParser]
