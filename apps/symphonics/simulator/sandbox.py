"""The sandbox test data of the contract ("Test PDL Numbers", "Test User Emails").

Only the identifiers and their descriptions come from the contract. The
addresses, customer names, meter types and user ids are made up in the style
of the contract's examples (the residential PDL reuses the contract's own
"123 Rue de Paris, 75001 Paris" and the customer "Martin" of the lookup
example).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxPdl:
    pdl: str
    customer_type: str  # residential | commercial | precarious
    street: str
    postal_code: str
    city: str
    customer_name: str
    meter_type: str

    def address(self) -> dict[str, str]:
        return {"street": self.street, "postal_code": self.postal_code, "city": self.city}


VALID_PDLS = {
    item.pdl: item
    for item in (
        SandboxPdl("12345678901234", "residential", "123 Rue de Paris", "75001", "Paris",
                   "Martin", "electronic"),
        SandboxPdl("23456789012345", "commercial", "8 Avenue de la République", "69003",
                   "Lyon", "Boulangerie Durand", "electronic"),
        SandboxPdl("34567890123456", "precarious", "17 Rue Victor Hugo", "59000", "Lille",
                   "Lefebvre", "electromechanical"),
    )
}

# "Invalid PDL, will return error": well formed, but not a usable delivery point.
INVALID_PDLS = frozenset({"45678901234567"})


@dataclass(frozen=True)
class SandboxUser:
    user_id: str
    status: str  # active | inactive


USERS = {
    "test.user@example.com": SandboxUser("usr_12345678", "active"),
    "inactive.user@example.com": SandboxUser("usr_23456789", "inactive"),
    # nonexistent@example.com is simply absent, like any other unknown address.
}

# Confidence of a lookup match: the contract's example (address and name
# match) shows 0.95; an address matched under another name is less certain.
CONFIDENCE_FULL_MATCH = 0.95
CONFIDENCE_ADDRESS_ONLY = 0.6


def find_user(email: str) -> SandboxUser | None:
    return USERS.get(email.strip().lower())


def lookup_pdl(address: dict[str, str], customer_name: str) -> tuple[SandboxPdl, float] | None:
    """Match an address (and name) against the sandbox delivery points."""
    wanted = _address_key(address["street"], address["postal_code"], address["city"])
    for item in VALID_PDLS.values():
        if _address_key(item.street, item.postal_code, item.city) == wanted:
            same_name = _normalise(customer_name) == _normalise(item.customer_name)
            return item, CONFIDENCE_FULL_MATCH if same_name else CONFIDENCE_ADDRESS_ONLY
    return None


def _address_key(street: str, postal_code: str, city: str) -> tuple[str, str, str]:
    return _normalise(street), postal_code.strip(), _normalise(city)


def _normalise(text: str) -> str:
    """Case, accents, punctuation and spacing do not matter to the match."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain.lower()).split())
