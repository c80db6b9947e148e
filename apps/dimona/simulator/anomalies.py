"""The anomalies the simulator can answer, in the v2 wire shape.

Codes are "zone-error" ("90017-510"). Where a code or label was seen in
answers of the real service it is used as is; the rest is marked INFERRED.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Anomaly:
    code: str
    nl: str
    fr: str
    de: str
    blocking: bool  # a blocking anomaly refuses the declaration (result B)

    def to_json(self) -> dict[str, Any]:
        return {"errorId": self.code, "label": {"nl": self.nl, "fr": self.fr, "de": self.de}}


# Seen in production: flexi access conditions (4/5 employment in T-3, or
# pensioner) not met. The declaration is accepted with this warning.
# Real nl label; fr/de are translations.
FLEXI_CONDITIONS_NOT_MET = Anomaly(
    "90017-510",
    nl="Toegangsvoorwaarden voor flexi-jobs niet gerespecteerd",
    fr="Conditions d'accès aux flexi-jobs non respectées",
    de="Zugangsbedingungen für Flexi-Jobs nicht erfüllt",
    blocking=False,
)

# Seen in production for FLX/STU with a joint commission other than XXX.
# Real fr label; nl/de are translations.
JOINT_COMMISSION_MISMATCH = Anomaly(
    "90374-349",
    nl="Onverenigbaarheid tussen paritair comité en type werknemer",
    fr="Incompatibilité entre commission paritaire et type de travailleur",
    de="Unvereinbarkeit zwischen paritätischer Kommission und Arbeitnehmertyp",
    blocking=True,
)

# Seen in production when an In repeats an existing period. Real fr label.
DUPLICATE_PERIOD = Anomaly(
    "90373-333",
    nl="Dubbele Dimonaperiode",
    fr="Période Dimona en double",
    de="Doppelter Dimona-Zeitraum",
    blocking=True,
)

# Seen in production when cancelling a cancelled period. Real nl label.
ALREADY_CANCELLED = Anomaly(
    "00913-355",
    nl="Reeds geannuleerde Dimonaperiode of dagelijkse registratie",
    fr="Période Dimona ou enregistrement journalier déjà annulé",
    de="Bereits annullierter Dimona-Zeitraum oder tägliche Registrierung",
    blocking=True,
)

# INFERRED: a late In is known to come back as a warning ("Dimona tardive",
# per a social secretariat); its real code is unknown, this one is made up.
LATE_DECLARATION = Anomaly(
    "90017-520",
    nl="Laattijdige Dimona-aangifte",
    fr="Dimona tardive",
    de="Verspätete Dimona-Meldung",
    blocking=False,
)

# INFERRED: an update/cancel/out of a period the ONSS does not know is
# refused; the code is made up (zone 00913 being the period id's, as for
# 00913-355).
UNKNOWN_PERIOD = Anomaly(
    "00913-354",
    nl="Onbekende Dimonaperiode",
    fr="Période Dimona inconnue",
    de="Unbekannter Dimona-Zeitraum",
    blocking=True,
)

# INFERRED: a cancel is only allowed up to the declared start date (official
# deadline); what the ONSS answers after it is unknown, this code is made up.
CANCEL_TOO_LATE = Anomaly(
    "00913-356",
    nl="Annulering na de begindatum van de Dimonaperiode",
    fr="Annulation après la date de début de la période Dimona",
    de="Annullierung nach dem Beginndatum des Dimona-Zeitraums",
    blocking=True,
)


def result_of(anomalies: list[Anomaly] | tuple[Anomaly, ...]) -> str:
    """A without anomalies, B if one is blocking, W otherwise."""
    if any(anomaly.blocking for anomaly in anomalies):
        return "B"
    return "W" if anomalies else "A"
