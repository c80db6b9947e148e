"""The simulator kit: token endpoint, clock and signed-webhook sender."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote_plus

import jwt
import pytest
import requests
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from apps.core.simulator import SimRequest, SimResponse, Simulator, route, serve
from apps.core.simulator_kit.clock import SimClock
from apps.core.simulator_kit.oauth import (
    CLIENT_CREDENTIALS,
    JWT_BEARER_ASSERTION,
    REFRESH_TOKEN,
    ClientSecrets,
    JwtAssertion,
    OAuthError,
    TokenRejected,
    TokenServer,
    token_endpoint,
)
from apps.core.simulator_kit.webhooks import (
    BodyHmac,
    StandardWebhooks,
    TimestampedHmac,
    WebhookSender,
)

NOW = 1_800_000_000.0
TOKEN_URL = "https://auth.example.test/token"
SECRET = "s3cret with spaces & symbols"


def secrets_server(**options) -> TokenServer:
    options.setdefault("token_lifetime_seconds", 600)
    return TokenServer(ClientSecrets({"hub": SECRET}), **options)


def refresh_server(**options) -> TokenServer:
    return secrets_server(grants=(CLIENT_CREDENTIALS, REFRESH_TOKEN), scopes=("read", "write"),
                          **options)


def basic(client_id: str, secret: str) -> dict[str, str]:
    # RFC 6749 §2.3.1: each part form-urlencoded, then joined and base64-encoded.
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"authorization": "Basic " + base64.b64encode(raw).decode()}


def refused(server: TokenServer, form, headers=None, now: float = NOW) -> OAuthError:
    with pytest.raises(OAuthError) as excinfo:
        server.exchange(form, headers or {}, now)
    return excinfo.value


# -- client credentials ---------------------------------------------------------------
def test_it_issues_a_bearer_token_for_a_secret_in_the_form():
    server = secrets_server()

    answer = server.exchange({"grant_type": "client_credentials", "client_id": "hub",
                              "client_secret": SECRET}, {}, NOW)

    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 600
    assert "refresh_token" not in answer and "scope" not in answer
    assert server.authenticate(f"Bearer {answer['access_token']}", NOW).client_id == "hub"


def test_it_issues_a_bearer_token_for_a_secret_in_basic_auth():
    server = secrets_server()

    answer = server.exchange({"grant_type": "client_credentials"}, basic("hub", SECRET), NOW)

    assert server.authenticate(f"Bearer {answer['access_token']}", NOW).client_id == "hub"


def test_it_refuses_a_wrong_secret_naming_the_basic_scheme_only_when_basic_was_used():
    server = secrets_server()

    by_basic = refused(server, {"grant_type": "client_credentials"}, basic("hub", "wrong"))
    by_form = refused(server, {"grant_type": "client_credentials", "client_id": "hub",
                               "client_secret": "wrong"})

    assert (by_basic.error, by_basic.status) == ("invalid_client", 401)
    assert by_basic.challenge.startswith("Basic")
    assert (by_form.error, by_form.status, by_form.challenge) == ("invalid_client", 401, "")


def test_it_lists_every_missing_parameter_before_anything_else():
    server = secrets_server()

    error = refused(server, {"client_id": "hub"})

    assert (error.error, error.status) == ("invalid_request", 400)
    assert error.missing == ("grant_type", "client_secret")


def test_it_refuses_another_grant_type_and_two_authentication_methods():
    server = secrets_server()

    other = refused(server, {"grant_type": "password", "client_id": "hub",
                             "client_secret": SECRET})
    both = refused(server, {"grant_type": "client_credentials", "client_secret": SECRET},
                   basic("hub", SECRET))

    assert other.error == "unsupported_grant_type"
    assert both.error == "invalid_request"


def test_it_forgets_expired_tokens_at_the_next_issue_when_told_to():
    server = secrets_server(token_lifetime_seconds=60, remember_expired_seconds=0)
    form = {"grant_type": "client_credentials", "client_id": "hub", "client_secret": SECRET}
    old = server.exchange(form, {}, NOW)["access_token"]

    with pytest.raises(TokenRejected) as expired:
        server.authenticate(f"Bearer {old}", NOW + 60)
    server.exchange(form, {}, NOW + 61)
    with pytest.raises(TokenRejected) as forgotten:
        server.authenticate(f"Bearer {old}", NOW + 61)
    with pytest.raises(TokenRejected) as missing:
        server.authenticate("Basic abc", NOW)

    assert (expired.value.reason, forgotten.value.reason, missing.value.reason) == (
        "expired", "invalid", "missing")


def test_it_counts_requests_issues_and_errors():
    server = secrets_server()
    form = {"grant_type": "client_credentials", "client_id": "hub", "client_secret": SECRET}
    server.exchange(form, {}, NOW)
    refused(server, {**form, "client_secret": "wrong"})
    refused(server, None)  # an unreadable body

    assert server.state() == {"token_requests": 3, "tokens_issued": 1,
                              "token_errors": {"invalid_client": 1, "invalid_request": 1}}


# -- JWT client assertion (RFC 7523) ---------------------------------------------------
@pytest.fixture(scope="module")
def rsa_keys() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture
def assertion_server(rsa_keys) -> TokenServer:
    return TokenServer(
        JwtAssertion({"hub": rsa_keys[1]}, audiences=lambda: {TOKEN_URL},
                     max_lifetime_seconds=600),
        token_lifetime_seconds=600, scopes=("declare", "consult"))


def assertion_form(private_key: str, **claims) -> dict[str, str]:
    payload = {"iss": "hub", "sub": "hub", "aud": TOKEN_URL, "jti": str(uuid.uuid4()),
               "iat": int(NOW), "exp": int(NOW) + 300, **claims}
    return {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER_ASSERTION,
            "client_assertion": jwt.encode(payload, private_key, algorithm="RS256")}


def test_it_issues_a_token_for_a_valid_rs256_assertion_with_its_scopes(assertion_server, rsa_keys):
    answer = assertion_server.exchange(assertion_form(rsa_keys[0]), {}, NOW)
    narrower = assertion_server.exchange({**assertion_form(rsa_keys[0]), "scope": "consult"},
                                         {}, NOW)

    assert answer["scope"] == "declare consult"
    assert narrower["scope"] == "consult"


def test_it_refuses_a_replayed_assertion(assertion_server, rsa_keys):
    form = assertion_form(rsa_keys[0])
    assertion_server.exchange(form, {}, NOW)

    error = refused(assertion_server, form)

    assert (error.error, error.description) == (
        "invalid_client", "The client assertion (jti) was already used")


@pytest.mark.parametrize(("claims", "described"), [
    ({"aud": "https://elsewhere.test/token"}, "Invalid audience"),
    ({"exp": int(NOW) - 1}, "expired"),
    ({"exp": int(NOW) + 601}, "600 s in the future"),
    ({"sub": "someone-else"}, "sub must equal iss"),
    ({"iss": "stranger", "sub": "stranger"}, "Unknown client"),
])
def test_it_refuses_an_assertion_with_wrong_claims(assertion_server, rsa_keys, claims, described):
    error = refused(assertion_server, assertion_form(rsa_keys[0], **claims))

    assert (error.error, error.status) == ("invalid_client", 401)
    assert described in error.description


def test_it_refuses_an_assertion_not_signed_rs256_or_by_another_key(assertion_server, rsa_keys):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    hs256 = assertion_form(rsa_keys[0])
    hs256["client_assertion"] = jwt.encode({"iss": "hub"}, "a shared secret of 32 bytes at least",
                                           algorithm="HS256")

    forged = refused(assertion_server, assertion_form(other_key))
    symmetric = refused(assertion_server, hs256)

    assert "signature is invalid" in forged.description
    assert "RS256" in symmetric.description


def test_it_refuses_an_unknown_scope(assertion_server, rsa_keys):
    error = refused(assertion_server, {**assertion_form(rsa_keys[0]), "scope": "admin"})

    assert error.error == "invalid_scope"


# -- refresh tokens --------------------------------------------------------------------
def refresh_form(refresh_token: str, **extra: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "hub",
            "client_secret": SECRET, **extra}


def test_it_refreshes_without_rotation_with_the_same_refresh_token():
    server = refresh_server()
    refresh_token = server.grant("hub", NOW)["refresh_token"]

    first = server.exchange(refresh_form(refresh_token), {}, NOW + 10)
    second = server.exchange(refresh_form(refresh_token), {}, NOW + 20)

    assert "refresh_token" not in first and "refresh_token" not in second
    assert first["access_token"] != second["access_token"]


def test_it_rotates_refresh_tokens_and_refuses_a_spent_one():
    server = refresh_server(rotate_refresh_tokens=True)
    spent = server.grant("hub", NOW)["refresh_token"]

    rotated = server.exchange(refresh_form(spent), {}, NOW + 10)["refresh_token"]
    replay = refused(server, refresh_form(spent), now=NOW + 11)
    after = server.exchange(refresh_form(rotated), {}, NOW + 12)

    assert rotated != spent
    assert (replay.error, replay.status) == ("invalid_grant", 400)
    assert after["refresh_token"] not in (spent, rotated)


def test_it_revokes_the_whole_family_when_a_spent_refresh_token_comes_back():
    # Two workers refreshing with one token: the slower one replays a spent
    # token, and the provider then revokes what the faster one received.
    server = refresh_server(rotate_refresh_tokens=True, revoke_family_on_reuse=True)
    spent = server.grant("hub", NOW)["refresh_token"]
    fresh = server.exchange(refresh_form(spent), {}, NOW + 1)["refresh_token"]

    refused(server, refresh_form(spent), now=NOW + 2)
    error = refused(server, refresh_form(fresh), now=NOW + 3)

    assert error.error == "invalid_grant"


def test_it_refuses_a_refresh_token_expired_of_another_client_or_widening_scopes():
    server = TokenServer(ClientSecrets({"hub": SECRET, "other": "x"}), token_lifetime_seconds=600,
                         grants=(REFRESH_TOKEN,), scopes=("read", "write"),
                         refresh_token_lifetime_seconds=3600)
    narrow = server.grant("hub", NOW, scopes=("read",))["refresh_token"]

    widened = refused(server, refresh_form(narrow, scope="read write"))
    foreign = refused(server, refresh_form(narrow, client_id="other", client_secret="x"))
    expired = refused(server, refresh_form(narrow), now=NOW + 3600)
    absent = refused(server, {"grant_type": "refresh_token", "client_id": "hub",
                              "client_secret": SECRET})

    assert widened.error == "invalid_scope"
    assert foreign.error == expired.error == "invalid_grant"
    assert absent.missing == ("refresh_token",)


def test_it_revokes_an_access_token():
    server = refresh_server()
    answer = server.grant("hub", NOW)

    server.revoke(answer["access_token"])
    server.revoke(answer["refresh_token"])

    with pytest.raises(TokenRejected):
        server.authenticate(f"Bearer {answer['access_token']}", NOW)
    assert refused(server, refresh_form(answer["refresh_token"])).error == "invalid_grant"


# -- the token endpoint over HTTP --------------------------------------------------------
class AuthServer(Simulator):
    name = "auth"

    def __init__(self) -> None:
        super().__init__(clock=SimClock())
        self.tokens = secrets_server()

    @route("POST", "/token")
    def token(self, request: SimRequest) -> SimResponse:
        return token_endpoint(self.tokens, request, self.clock())


@pytest.fixture(scope="module")
def auth_server() -> Iterator[AuthServer]:
    running = serve(AuthServer())
    yield running.simulator
    running.stop()


def test_it_answers_token_requests_the_rfc_6749_way(auth_server):
    url = auth_server.base_url + "/token"

    granted = requests.post(url, data={"grant_type": "client_credentials"},
                            auth=("hub", SECRET), timeout=5)
    wrong = requests.post(url, data={"grant_type": "client_credentials"},
                             auth=("hub", "wrong"), timeout=5)
    unreadable = requests.post(url, data=b"grant_type=\xff", timeout=5,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert granted.status_code == 200
    assert granted.headers["Cache-Control"] == "no-store"
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    assert (unreadable.status_code, unreadable.json()["error"]) == (400, "invalid_request")


# -- the clock ---------------------------------------------------------------------------
def test_it_reads_the_moved_process_clock_plus_what_was_skipped():
    clock = SimClock()
    with time_machine.travel(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), tick=False):
        at_start = clock()
        clock.advance(90)
        skipped = clock()
        clock.reset()
        after_reset = clock.datetime()

    assert at_start == dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp()
    assert skipped == at_start + 90
    assert after_reset == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


# -- signatures: the published examples of each scheme -----------------------------------
def test_it_signs_a_body_as_github_documents():
    # docs.github.com, "Validating webhook deliveries": secret and payload as published.
    signer = BodyHmac("It's a Secret to Everybody", "X-Hub-Signature-256", prefix="sha256=")

    assert signer.sign(b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


def test_it_signs_a_body_in_base64_too():
    signer = BodyHmac("secret", "X-Signature", encoding="base64")
    expected = base64.b64encode(hmac.new(b"secret", b"{}", hashlib.sha256).digest()).decode()

    assert signer.headers(b"{}", event_id="e", timestamp=0) == {"X-Signature": expected}


def test_it_signs_as_slack_documents():
    # api.slack.com "Verifying requests from Slack": the published example.
    body = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
            b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
            b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
            b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    signer = TimestampedHmac("8f742231b10e8888abcd99yyyzzz85a5")

    headers = signer.headers(body, event_id="ignored", timestamp=1531420618)

    assert headers == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }


def test_it_signs_as_standard_webhooks_documents():
    # The Standard Webhooks reference libraries' published test vector.
    signer = StandardWebhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")

    headers = signer.headers(b'{"test": 2432232314}', event_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
                             timestamp=1614265330)

    assert headers == {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
                       "webhook-timestamp": "1614265330",
                       "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}


# -- the sender ------------------------------------------------------------------------
class Hub(Simulator):
    """A stand-in for the hub's webhook URL that fails its first `failures` deliveries."""

    name = "hub"

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0
        self.received: list[SimRequest] = []

    def reset(self) -> None:
        self.failures = 0
        self.received = []

    @route("POST", "/hooks")
    def receive(self, request: SimRequest) -> SimResponse:
        self.received.append(request)
        if len(self.received) <= self.failures:
            return SimResponse.json(503, {"error": "busy"})
        return SimResponse.empty(204)


@pytest.fixture(scope="module")
def served_hub() -> Iterator[Hub]:
    running = serve(Hub())
    yield running.simulator
    running.stop()


@pytest.fixture
def hub(served_hub: Hub) -> Hub:
    served_hub.reset()
    return served_hub


def drain(sender: WebhookSender, rounds: int = 500) -> None:
    """Deliver until nothing is pending (retries are due after a few ms)."""
    for _ in range(rounds):
        sender.deliver_due()
        if not sender.pending():
            return
        time.sleep(0.005)


def test_it_retries_a_failed_delivery_with_the_same_event_id_and_a_valid_signature(hub):
    hub.failures = 2
    signer = TimestampedHmac("signing-secret")
    sender = WebhookSender(hub.base_url + "/hooks", signer, event_id_header="X-Event-Id",
                           user_agent="Acme-Hooks/1.0", retry_seconds=0.001,
                           clock=lambda: 1_700_000_000)

    sender.submit("evt_1", "thing.changed", b'{"id": 1}')
    drain(sender)

    assert [request.header("X-Event-Id") for request in hub.received] == ["evt_1"] * 3
    last = hub.received[-1]
    assert last.header("X-Slack-Request-Timestamp") == "1700000000"
    assert last.header("X-Slack-Signature") == signer.sign(b'{"id": 1}', 1_700_000_000)
    assert last.header("User-Agent") == "Acme-Hooks/1.0"
    assert sender.counts() == {"pending": 0, "delivered": 1, "failed": 0, "attempts": 3}


def test_it_gives_up_after_the_last_attempt(hub):
    hub.failures = 10
    sender = WebhookSender(hub.base_url + "/hooks", BodyHmac("s", "X-Sig"), max_attempts=2,
                           retry_seconds=0.001)

    sender.submit("evt_2", "thing.changed", b"{}")
    drain(sender)

    (summary,) = sender.summaries()
    assert (summary["status"], summary["attempts"], summary["last_status_code"]) == (
        "failed", 2, 503)


def test_it_sends_a_deliberate_duplicate_under_the_same_event_id(hub):
    sender = WebhookSender(hub.base_url + "/hooks", StandardWebhooks("whsec_" + base64.b64encode(
        b"k" * 24).decode()), duplicate=True)

    sender.submit("msg_3", "thing.changed", b"{}")
    drain(sender)

    assert [request.header("webhook-id") for request in hub.received] == ["msg_3", "msg_3"]
    assert [summary["copy"] for summary in sender.summaries()] == [1, 2]
