from apps.dimona.mapping import (
    dimona_cancel_payload,
    dimona_in_payload,
    dimona_update_payload,
    parse_anomaly,
    parse_declaration_status,
)
from tests.dimona.factories import brussels


def test_it_builds_a_flexi_in_with_features_and_hhmm_hours():
    payload = dimona_in_payload(enterprise_number="0403170701", ssin="85073003328",
                                joint_commission="XXX", start=brussels(2026, 2, 21, 17),
                                end=brussels(2026, 2, 21, 21, 30))
    assert payload == {
        "employer": {"enterpriseNumber": "0403170701"},
        "worker": {"ssin": "85073003328"},
        "dimonaIn": {"startDate": "2026-02-21", "startHour": "1700", "endDate": "2026-02-21",
                     "endHour": "2130",
                     "features": {"workerType": "FLX", "jointCommissionNumber": "XXX"}},
    }


def test_it_ends_a_night_shift_the_next_day_in_brussels_time():
    payload = dimona_in_payload(enterprise_number="0403170701", ssin="85073003328",
                                joint_commission="XXX", start=brussels(2026, 4, 11, 22),
                                end=brussels(2026, 4, 12, 2))
    period = payload["dimonaIn"]
    assert (period["startDate"], period["startHour"]) == ("2026-04-11", "2200")
    assert (period["endDate"], period["endHour"]) == ("2026-04-12", "0200")


def test_it_sends_update_and_cancel_with_the_period_id_only():
    update = dimona_update_payload(period_id="658690837083", start=brussels(2026, 2, 21, 17),
                                   end=brussels(2026, 2, 21, 22, 30))
    assert update == {"dimonaUpdate": {"periodId": 658690837083, "startDate": "2026-02-21",
                                       "startHour": "1700", "endDate": "2026-02-21",
                                       "endHour": "2230"}}
    assert dimona_cancel_payload(period_id="658690837083") == {
        "dimonaCancel": {"periodId": 658690837083}}


def test_it_takes_the_period_id_from_the_status_not_the_declaration_id():
    body = {"declarationStatus": {"declarationId": 656309296521, "result": "A",
                                  "period": {"id": 656309292174, "href": "…"}}}
    status = parse_declaration_status(body)
    assert status.period_id == "656309292174"
    assert status.declaration_id == "656309296521"


def test_it_reads_anomalies_in_every_shape_seen():
    assert parse_anomaly({"errorId": "90017-510", "label": {"nl": "NL", "fr": "FR"}}
                         ).as_dict() == {"code": "90017-510", "label": "FR"}
    assert parse_anomaly({"errorId": "00913-355", "labelFr": "Déjà annulée",
                          "labelNl": "Reeds"}).as_dict() == {"code": "00913-355",
                                                             "label": "Déjà annulée"}
    assert parse_anomaly({"code": "90373-333", "description": "Double"}).as_dict() == {
        "code": "90373-333", "label": "Double"}
    assert parse_anomaly({"errorId": "1", "label": {"de": "Nur Deutsch"}}).label == "Nur Deutsch"
