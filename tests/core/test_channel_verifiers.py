"""Each verifier against its platform's published scheme: the published
examples where there are some, a wrong signature, hex and base64, prefixes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from apps.core import channels
from apps.core.channels import BodyHmac, HeaderHmac, Inbound, SharedToken, WebhookRejected

# The worked example of Slack's "Verifying requests from Slack" page.
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TIMESTAMP = "1531420618"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
    b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
    b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
    b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

# The test vector of the Standard Webhooks reference libraries (and Svix's
# manual-verification page).
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
STANDARD_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
STANDARD_TIMESTAMP = "1614265330"
STANDARD_BODY = b'{"test": 2432232314}'
STANDARD_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _slack(body: bytes = SLACK_BODY, signature: str = SLACK_SIGNATURE,
           timestamp: str = SLACK_TIMESTAMP) -> Inbound:
    return Inbound(body=body, headers={"X-Slack-Request-Timestamp": timestamp,
                                       "X-Slack-Signature": signature})


def _rejected_code(verifier, inbound: Inbound, secret: str) -> str:
    with pytest.raises(WebhookRejected) as caught:
        verifier.verify(inbound, secret)
    return caught.value.code


def test_it_verifies_slacks_published_example():
    verified = channels.SLACK.verify(_slack(), SLACK_SECRET)

    assert verified.content == b"v0:" + SLACK_TIMESTAMP.encode() + b":" + SLACK_BODY
    assert verified.sent_at == datetime.fromtimestamp(int(SLACK_TIMESTAMP), tz=UTC)


@pytest.mark.parametrize("inbound", [
    _slack(signature=SLACK_SIGNATURE[:-1] + "4"),
    _slack(body=SLACK_BODY + b"&admin=true"),
    # The timestamp is signed: another one is another signature.
    _slack(timestamp="1531420619"),
    _slack(signature=SLACK_SIGNATURE.removeprefix("v0=")),
    _slack(signature=""),
], ids=["wrong-signature", "altered-body", "moved-timestamp", "no-version", "missing"])
def test_it_refuses_what_slack_did_not_sign(inbound):
    assert _rejected_code(channels.SLACK, inbound, SLACK_SECRET) == "invalid_signature"


def test_it_refuses_a_slack_example_checked_with_another_secret():
    assert _rejected_code(channels.SLACK, _slack(), "another-secret") == "invalid_signature"


def test_it_verifies_zoom_with_slacks_scheme_under_its_own_headers():
    signature = "v0=" + hmac.new(b"zoom-secret", b"v0:1700000000:{}", hashlib.sha256).hexdigest()
    inbound = Inbound(body=b"{}", headers={"x-zm-request-timestamp": "1700000000",
                                          "x-zm-signature": signature})

    assert channels.ZOOM.verify(inbound, "zoom-secret").sent_at.timestamp() == 1700000000
    assert _rejected_code(channels.SLACK, inbound, "zoom-secret") == "invalid_signature"


def _standard(signature: str = STANDARD_SIGNATURE, body: bytes = STANDARD_BODY,
              msg_id: str = STANDARD_ID, prefix: str = "webhook-") -> Inbound:
    return Inbound(body=body, headers={f"{prefix}id": msg_id,
                                       f"{prefix}timestamp": STANDARD_TIMESTAMP,
                                       f"{prefix}signature": signature})


def test_it_verifies_the_standard_webhooks_vector():
    verified = channels.STANDARD_WEBHOOKS.verify(_standard(), STANDARD_SECRET)

    assert verified.event_id == STANDARD_ID
    assert verified.content == f"{STANDARD_ID}.{STANDARD_TIMESTAMP}.".encode() + STANDARD_BODY
    assert verified.sent_at == datetime.fromtimestamp(int(STANDARD_TIMESTAMP), tz=UTC)


def test_it_accepts_any_matching_signature_of_a_rotation_list():
    """During a secret rotation the sender signs with both secrets."""
    rotating = f"v1,bm90LXRoaXMtb25l {STANDARD_SIGNATURE}"

    assert channels.STANDARD_WEBHOOKS.verify(_standard(rotating), STANDARD_SECRET).event_id


def test_it_reads_svix_headers_with_the_svix_preset():
    assert channels.SVIX.verify(_standard(prefix="svix-"), STANDARD_SECRET).event_id
    assert _rejected_code(channels.STANDARD_WEBHOOKS, _standard(prefix="svix-"),
                          STANDARD_SECRET) == "invalid_signature"


@pytest.mark.parametrize("inbound", [
    _standard(body=b'{"test": 2432232315}'),
    # The id is signed: a captured delivery cannot be resent under a new id.
    _standard(msg_id="msg_other"),
    # Only v1 (symmetric) signatures are checked; v1a is asymmetric.
    _standard("v1a," + STANDARD_SIGNATURE.removeprefix("v1,")),
    _standard(""),
], ids=["altered-body", "another-id", "another-version", "missing"])
def test_it_refuses_what_the_standard_webhooks_sender_did_not_sign(inbound):
    assert _rejected_code(channels.STANDARD_WEBHOOKS, inbound,
                          STANDARD_SECRET) == "invalid_signature"


def test_it_refuses_every_delivery_when_the_standard_secret_is_not_base64():
    assert _rejected_code(channels.STANDARD_WEBHOOKS, _standard(),
                          "whsec_not base64!") == "invalid_signature"


def _mac(secret: str, content: bytes) -> bytes:
    return hmac.new(secret.encode(), content, hashlib.sha256).digest()


@pytest.mark.parametrize(("verifier", "header_value"), [
    (BodyHmac(header="X-Sig"), _mac("s", b"{}").hex()),
    (BodyHmac(header="X-Sig"), _mac("s", b"{}").hex().upper()),
    (BodyHmac(header="X-Sig", prefix="sha256="), "sha256=" + _mac("s", b"{}").hex()),
    # The prefix may be left out unless it is required.
    (BodyHmac(header="X-Sig", prefix="sha256="), _mac("s", b"{}").hex()),
    (BodyHmac(header="X-Sig", encoding="base64"), base64.b64encode(_mac("s", b"{}")).decode()),
    (BodyHmac(header="X-Sig", encoding="base64url"),
     base64.urlsafe_b64encode(_mac("s", b"{}")).decode()),
    (BodyHmac(header="X-Sig", encoding="base64url"),
     base64.urlsafe_b64encode(_mac("s", b"{}")).decode().rstrip("=")),
], ids=["hex", "hex-uppercase", "prefixed", "prefix-optional", "base64", "base64url",
        "base64url-unpadded"])
def test_it_verifies_a_body_hmac_in_each_encoding(verifier, header_value):
    inbound = Inbound(body=b"{}", headers={"X-Sig": header_value})

    assert verifier.verify(inbound, "s").content == b"{}"


@pytest.mark.parametrize(("verifier", "header_value"), [
    # Hex where base64 is expected, and the other way round.
    (BodyHmac(header="X-Sig", encoding="base64"), _mac("s", b"{}").hex()),
    (BodyHmac(header="X-Sig"), base64.b64encode(_mac("s", b"{}")).decode()),
    (BodyHmac(header="X-Sig", prefix="sig=", prefix_required=True), _mac("s", b"{}").hex()),
    (BodyHmac(header="X-Sig"), _mac("another", b"{}").hex()),
    (BodyHmac(header="X-Sig"), "ünïcode"),
], ids=["hex-for-base64", "base64-for-hex", "prefix-missing", "wrong-secret", "non-ascii"])
def test_it_refuses_a_body_hmac_not_in_the_declared_shape(verifier, header_value):
    inbound = Inbound(body=b"{}", headers={"X-Sig": header_value})

    assert _rejected_code(verifier, inbound, "s") == "invalid_signature"


def test_it_refuses_everything_when_no_secret_is_configured():
    inbound = Inbound(body=b"{}", headers={"X-Sig": _mac("", b"{}").hex()})

    assert _rejected_code(BodyHmac(header="X-Sig"), inbound, "") == "invalid_signature"


def test_it_refuses_an_unknown_encoding_at_start_up():
    with pytest.raises(ValueError, match="encoding"):
        BodyHmac(header="X-Sig", encoding="base32")


def _deliveroo(secret: str, guid: str, body: bytes, separator: bytes = b" ") -> Inbound:
    signature = _mac(secret, guid.encode() + separator + body).hex()
    return Inbound(body=body, headers={"X-Deliveroo-Sequence-Guid": guid,
                                       "X-Deliveroo-Hmac-Sha256": signature})


def test_it_verifies_deliveroos_sequence_guid_and_body():
    verified = channels.DELIVEROO.verify(_deliveroo("roo", "guid-1", b'{"a":1}'), "roo")

    assert verified.content == b'guid-1 {"a":1}'
    # The sequence GUID is unique per event: it is the event id.
    assert verified.event_id == "guid-1"


def test_it_tells_deliveroos_legacy_separator_from_the_current_one():
    legacy = _deliveroo("roo", "guid-1", b"{}", separator=b" \n ")

    assert _rejected_code(channels.DELIVEROO, legacy, "roo") == "invalid_signature"
    assert channels.DELIVEROO_LEGACY_POS.verify(legacy, "roo").event_id == "guid-1"


def test_it_refuses_a_deliveroo_body_signed_under_another_guid():
    inbound = _deliveroo("roo", "guid-1", b"{}")
    moved = Inbound(body=b"{}", headers={**inbound.headers,
                                         "X-Deliveroo-Sequence-Guid": "guid-2"})

    assert _rejected_code(channels.DELIVEROO, moved, "roo") == "invalid_signature"


def test_it_checks_a_token_in_the_url_or_in_a_header():
    assert channels.THEFORK.verify(Inbound(b"{}", {}, {"token": "t0k"}), "t0k")
    assert _rejected_code(channels.THEFORK, Inbound(b"{}", {}, {"token": "t0K"}),
                          "t0k") == "invalid_token"
    assert _rejected_code(channels.THEFORK, Inbound(b"{}", {}, {}), "t0k") == "invalid_token"
    assert channels.GOOGLE_PUSH.verify(Inbound(b"", {"X-Goog-Channel-Token": "t0k"}), "t0k")


def test_it_refuses_a_token_verifier_reading_both_places_or_none():
    with pytest.raises(ValueError):
        SharedToken()
    with pytest.raises(ValueError):
        SharedToken(query_parameter="token", header="X-Token")


def test_it_checks_the_client_state_of_every_graph_notification():
    good = b'{"value": [{"clientState": "cs"}, {"clientState": "cs"}]}'
    one_wrong = b'{"value": [{"clientState": "cs"}, {"clientState": "other"}]}'

    assert channels.MICROSOFT_GRAPH.verify(Inbound(good, {}), "cs").content == good
    assert _rejected_code(channels.MICROSOFT_GRAPH, Inbound(one_wrong, {}), "cs") == \
        "invalid_token"
    assert _rejected_code(channels.MICROSOFT_GRAPH, Inbound(b'{"value": []}', {}), "cs") == \
        "invalid_token"


def test_it_signs_a_header_and_body_with_another_separator_and_prefix():
    verifier = HeaderHmac(signature_header="X-Sig", signed_header="X-Time", separator=b".",
                          prefix="sha256=", id_from_header=False)
    signature = "sha256=" + _mac("s", b"17.{}").hex()

    verified = verifier.verify(Inbound(b"{}", {"X-Sig": signature, "X-Time": "17"}), "s")

    assert (verified.content, verified.event_id) == (b"17.{}", "")
