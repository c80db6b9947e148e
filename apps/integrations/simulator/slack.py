"""A local stand-in for Slack: OAuth v2 installation, token rotation and the
Web API methods the hub uses.

`build()` is the factory of settings.SIMULATORS (`manage.py run_simulators`,
port 8107); tests start it with the `slack_simulator` fixture
(tests/integrations/slack_fixtures.py). Paths are those of settings'
SLACK_* defaults.

OAuth v2 (docs.slack.dev "Installing with OAuth", oauth.v2.access):
  GET  /oauth/v2/authorize   client_id, scope (comma-separated bot scopes),
       redirect_uri, state, optional code_challenge / code_challenge_method.
       The workspace admin consents at once: 302 to redirect_uri with code
       and state; with consent denied (/_sim/consent) 302 with
       error=access_denied and state. An unknown client_id, a missing
       redirect_uri or an unknown scope is an HTML error page (400), no
       redirect.
  POST /api/oauth.v2.access  client_id / client_secret in HTTP Basic or in
       the form. grant_type=authorization_code (the default when a code is
       given): the code is single-use and lives 10 minutes, bound to the
       client, the redirect_uri and the PKCE verifier. grant_type=
       refresh_token (only with token rotation): a new access token and a
       new refresh token; the one presented is spent. Answer: {"ok": true,
       "access_token", "token_type": "bot", "scope", "bot_user_id",
       "app_id", "team": {"id", "name"}, "enterprise": null,
       "authed_user": {"id"}, "is_enterprise_install": false} plus, with
       rotation (on by default, /_sim/token-rotation), "refresh_token"
       ("xoxe-1-…") and "expires_in" (43,200 s); rotated access tokens are
       "xoxe.xoxb-1-…", others "xoxb-…". Errors, like every Web API error,
       are HTTP 200 {"ok": false, "error": …}: invalid_client_id,
       bad_client_secret, invalid_code (unknown, used, expired, another
       client's, wrong PKCE verifier), bad_redirect_uri, invalid_grant_type,
       invalid_refresh_token (unknown, spent or revoked).
       With the incoming-webhook scope the answer adds "incoming_webhook":
       {"channel", "channel_id", "configuration_url", "url"}, the channel the
       installer picked (/_sim/consent "webhook_channel", #general by
       default); POST <url> with a JSON {"text"|"blocks"} posts there
       (answers are text: "ok", or invalid_payload, no_text, invalid_token,
       no_service, channel_not_found, channel_is_archived, rate_limited).
  POST /api/auth.revoke      the token to revoke authenticates the call
       (Bearer or `token`); {"ok": true, "revoked": true}; with test=1 the
       token is kept and "revoked" is false. Revoking an installation's
       token revokes all of its tokens, its refresh token too.

Web API under /api (Bearer token, or `token` in the form, JSON body or
query): arguments come from the query string and the body, form-encoded or
JSON. A missing token is `not_authed`, an unknown one `invalid_auth`, a
revoked one `token_revoked`, an expired one `token_expired`; a method
without its scope `missing_scope` with "needed" and "provided".
  POST|GET /api/auth.test            url, team, user, team_id, user_id, bot_id
  POST|GET /api/conversations.list   types (public_channel by default;
       private_channel needs groups:read and lists only channels the bot is
       in), exclude_archived, limit (1-1000, default 100), cursor;
       channels with id, name, is_channel, is_private, is_archived,
       is_member, ...; response_metadata.next_cursor ("" on the last page).
       Needs channels:read.
  POST|GET /api/users.lookupByEmail  email: {"user": {"id", "name", "real_name",
       "profile": {"email", ...}, ...}} for mentions (<@id>); users_not_found.
       Needs users:read.email.
  POST /api/chat.postMessage         channel (an id, "#name" or "name"),
       text and/or blocks (a JSON array, or its text in a form), thread_ts.
       Needs chat:write. Answers {"ok", "channel", "ts", "message"}. Errors:
       channel_not_found (unknown, or private and the bot is not in it),
       not_in_channel (public, the bot is not a member and has no
       chat:write.public), is_archived, no_text, invalid_blocks,
       msg_too_long (over 40,000 characters of text). Rate limit as Slack's
       "special tier": about one message a second per channel with short
       bursts tolerated, here at most `post_message_burst` messages in any
       `post_message_burst / post_message_per_second` seconds per channel;
       past it HTTP 429, `Retry-After` (whole seconds) and {"ok": false,
       "error": "ratelimited"}, nothing posted. Every message posted is
       recorded (GET /_sim/messages).

Controls (no token, not counted, no faults), besides the framework's
/_sim/faults, /_sim/reset and /_sim/state:
  POST /_sim/consent          {"deny": true|false, "webhook_channel": name}
  POST /_sim/token-rotation   {"enabled": true|false} for installations from now on
  GET  /_sim/channels         the workspace's channels, membership included
  POST /_sim/channels         {"name", "is_private"?, "is_member"?, "is_archived"?}
                              adds a channel or changes the one of that name
  POST /_sim/users            {"email", "real_name"?} adds a member (or renames one)
  GET  /_sim/messages         the messages posted (?channel=<id or name>)
  POST /_sim/advance          {"seconds": n} moves the simulator's clock
"""

from __future__ import annotations

import base64
import functools
import html
import json
import math
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from apps.core.simulator import (
    FaultKnobs,
    SimRequest,
    SimResponse,
    Simulator,
    control_route,
    route,
)
from apps.core.simulator_kit.authcodes import PKCE_METHODS, AuthorizationCodes, CodeRefused
from apps.core.simulator_kit.clock import SimClock
from apps.core.simulator_kit.oauth import (
    REFRESH_TOKEN,
    ClientSecrets,
    OAuthError,
    TokenRejected,
    TokenServer,
)

AUTHORIZATION_CODE = "authorization_code"
# Slack's token prefixes: a bot token, a rotating (expiring) bot token, a
# refresh token. The simulator's tokens are the kit's opaque values behind them.
BOT_PREFIX = "xoxb-"
EXPIRING_BOT_PREFIX = "xoxe.xoxb-1-"
REFRESH_PREFIX = "xoxe-1-"
ROTATING_TOKEN_LIFETIME_SECONDS = 43_200  # "it expires every 12 hours"
# Without rotation a Slack token never expires; the kit's tokens need a
# lifetime, so it is a century.
NON_EXPIRING_LIFETIME_SECONDS = 100 * 365 * 24 * 3600
CODE_LIFETIME_SECONDS = 600
MAX_TEXT_LENGTH = 40_000
DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT = 100, 1000
KNOWN_SCOPES = frozenset({
    "channels:read", "channels:join", "channels:history", "chat:write", "chat:write.public",
    "groups:read", "im:write", "users:read", "users:read.email", "team:read", "commands",
    "incoming-webhook",
})
# The workspace's members (id, e-mail, name) the hub may look up to mention them.
DEFAULT_MEMBERS = (
    ("U0SIMADMIN", "admin@example.com", "Workspace Admin"),
    ("U0SIMMGR01", "manager@example.com", "Marie Manager"),
    ("U0SIMORG01", "organiser@example.com", "Olivier Organiser"),
)

DEFAULT_CHANNELS = (
    # (name, is_private, is_member): the bot is in some channels and not in
    # others, so `not_in_channel` can be reached without set-up.
    ("general", False, True),
    ("random", False, False),
    ("attendance-alerts", False, True),
    ("reports", False, False),
    ("managers", True, True),
)


class SlackError(Exception):
    """A Web API error: HTTP 200 (or 429) with {"ok": false, "error": code, ...}."""

    def __init__(self, error: str, status: int = 200, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> SimResponse:
        return SimResponse.json(self.status, {"ok": False, "error": self.error, **self.extra},
                                headers=self.headers)


@dataclass
class Channel:
    id: str
    name: str
    created: int
    is_private: bool = False
    is_member: bool = False
    is_archived: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "name_normalized": self.name,
            "is_channel": not self.is_private, "is_group": self.is_private, "is_im": False,
            "is_mpim": False, "is_private": self.is_private, "is_archived": self.is_archived,
            "is_general": self.name == "general", "is_shared": False, "is_ext_shared": False,
            "is_org_shared": False, "is_member": self.is_member, "created": self.created,
            "creator": "U0SIMADMIN", "unlinked": 0,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [], "num_members": 3 if self.is_member else 2,
        }


@dataclass
class Installation:
    """One workspace's installation of the app: its scopes and live tokens."""

    id: int
    scopes: tuple[str, ...]
    rotating: bool
    access_tokens: set[str] = field(default_factory=set)  # the kit's raw values
    refresh_token: str = ""  # the latest, raw
    revoked: bool = False
    # With the incoming-webhook scope: the channel the installer picked and
    # the secret part of the webhook's URL.
    webhook_channel_id: str = ""
    webhook_secret: str = ""


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(part for part in (parts.query, urlencode(params)) if part)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _error_page(status: int, message: str) -> SimResponse:
    body = (f"<!DOCTYPE html><html><head><title>Slack</title></head><body>"
            f"<h1>Oops, something went wrong</h1><p>{html.escape(message)}</p></body></html>")
    return SimResponse(status, body.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


def _text(status: int, body: str, headers: dict[str, str] | None = None) -> SimResponse:
    return SimResponse(status, body.encode("utf-8"),
                       {"Content-Type": "text/plain; charset=utf-8", **(headers or {})})


def _truthy(value: Any) -> bool:
    return str(value).lower() in {"1", "true", "yes"}


def method(name: str, *, scope: str = "", verbs: tuple[str, ...] = ("GET", "POST")):
    """A Web API method at /api/<name>: arguments read, token checked, errors rendered."""

    def decorate(func: Callable[..., dict[str, Any]]):
        @functools.wraps(func)
        def wrapper(self: SlackSimulator, request: SimRequest) -> SimResponse:
            with self.lock:
                self.method_calls[name] += 1
                try:
                    args = _arguments(request)
                    installation, scopes = self._authenticate(request, args)
                    if scope and scope not in scopes:
                        raise SlackError("missing_scope", needed=scope,
                                         provided=",".join(scopes))
                    payload = func(self, args, installation, scopes)
                except SlackError as exc:
                    return exc.response()
            return SimResponse.json(200, {"ok": True, **payload})

        for verb in verbs:
            wrapper = route(verb, f"/api/{name}")(wrapper)
        return wrapper

    return decorate


def _arguments(request: SimRequest) -> dict[str, Any]:
    """Slack reads a method's arguments from the query and the body, form or JSON."""
    args: dict[str, Any] = {key: values[-1] for key, values in request.query.items()}
    content_type = request.header("content-type").split(";")[0].strip().lower()
    if not request.body:
        return args
    if content_type == "application/json":
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise SlackError("invalid_json") from exc
        if not isinstance(body, dict):
            raise SlackError("json_not_object")
        args.update(body)
    else:
        try:
            args.update(request.form())
        except UnicodeDecodeError as exc:
            raise SlackError("invalid_form_data") from exc
    return args


class SlackSimulator(Simulator):
    """One Slack workspace with the hub's app installable in it.

    client_id, client_secret: the app's credentials (settings.SLACK_CLIENT_*).
    token_rotation: whether installations get expiring tokens and a refresh
        token (Slack's opt-in token rotation); /_sim/token-rotation changes it.
    post_message_per_second, post_message_burst: chat.postMessage's limit
        per channel (see the module docstring).
    channels: (name, is_private, is_member) triples, DEFAULT_CHANNELS if None.
    """

    name = "slack"

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        team_id: str = "T0SIMTEAM1",
        team_name: str = "Simulated Workspace",
        team_domain: str = "simulated-workspace",
        app_id: str = "A0SIMAPP01",
        bot_user_id: str = "U0SIMBOT01",
        bot_id: str = "B0SIMBOT01",
        installer_user_id: str = "U0SIMADMIN",
        token_rotation: bool = True,
        access_token_lifetime_seconds: int = ROTATING_TOKEN_LIFETIME_SECONDS,
        code_lifetime_seconds: float = CODE_LIFETIME_SECONDS,
        post_message_per_second: float = 1.0,
        post_message_burst: int = 3,
        channels: tuple[tuple[str, bool, bool], ...] | None = None,
        faults: FaultKnobs | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(faults=faults, seed=seed,
                         clock=clock if isinstance(clock, SimClock) else SimClock(clock))
        self.client_id = client_id
        self.team = {"id": team_id, "name": team_name, "domain": team_domain}
        self.app_id = app_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.installer_user_id = installer_user_id
        self.initial_token_rotation = token_rotation
        self.access_token_lifetime_seconds = access_token_lifetime_seconds
        self.post_message_per_second = post_message_per_second
        self.post_message_burst = post_message_burst
        self.initial_channels = DEFAULT_CHANNELS if channels is None else tuple(channels)
        # Slack takes the client's credentials in Basic auth or in the form.
        # Given every scope, the kit carries an installation's scopes over to
        # each refreshed token.
        self.tokens = TokenServer(ClientSecrets({client_id: client_secret}),
                                  token_lifetime_seconds=access_token_lifetime_seconds,
                                  scopes=sorted(KNOWN_SCOPES), grants=(REFRESH_TOKEN,),
                                  rotate_refresh_tokens=True)
        self.codes = AuthorizationCodes(lifetime_seconds=code_lifetime_seconds)
        self._clear_state()

    def _clear_state(self) -> None:
        self.clock.reset()
        self.tokens.reset()
        self.codes.reset()
        self.deny_consent = False
        self.webhook_channel = "general"
        self.token_rotation = self.initial_token_rotation
        self.installations: dict[int, Installation] = {}
        self._installation_of: dict[str, int] = {}  # raw access or refresh token → installation
        self.channels: dict[str, Channel] = {}
        for name, is_private, is_member in self.initial_channels:
            self._add_channel(name, is_private=is_private, is_member=is_member)
        self.members: dict[str, dict[str, str]] = {
            email: {"id": member_id, "email": email, "real_name": real_name}
            for member_id, email, real_name in DEFAULT_MEMBERS}
        self.messages: list[dict[str, Any]] = []
        self._recent_posts: dict[str, deque[float]] = {}
        self._message_seq = 0
        self.method_calls: Counter[str] = Counter()
        self.rate_limited_count = 0

    def _add_channel(self, name: str, *, is_private: bool, is_member: bool,
                     is_archived: bool = False) -> Channel:
        channel = Channel(id=f"C0SIM{len(self.channels) + 1:05d}", name=name,
                          created=int(self.clock()), is_private=is_private,
                          is_member=is_member, is_archived=is_archived)
        self.channels[channel.id] = channel
        return channel

    # -- framework hooks -----------------------------------------------------------
    def reset(self) -> None:
        self._clear_state()

    def state(self) -> dict[str, Any]:
        return {
            **super().state(),
            "now": self.clock(),
            "deny_consent": self.deny_consent,
            "token_rotation": self.token_rotation,
            **self.tokens.state(),
            **self.codes.state(),
            "installations": [
                {"id": inst.id, "scopes": list(inst.scopes), "rotating": inst.rotating,
                 "revoked": inst.revoked, "live_access_tokens": len(inst.access_tokens)}
                for inst in self.installations.values()],
            "messages": len(self.messages),
            "rate_limited": self.rate_limited_count,
            "method_calls": dict(self.method_calls),
        }

    def not_found(self, request: SimRequest) -> SimResponse:
        if request.path.startswith("/api/"):
            return SlackError("unknown_method", status=404).response()
        return _error_page(404, "There's been a glitch… That page could not be found.")

    def method_not_allowed(self, request: SimRequest) -> SimResponse:
        # Slack's answer to a verb a method does not take is not documented.
        return SlackError("method_not_allowed", status=405).response()

    def bad_json(self, request: SimRequest) -> SimResponse:
        return SlackError("invalid_json").response()

    def rate_limited(self, request: SimRequest, retry_after: int) -> SimResponse:
        return SlackError("ratelimited", status=429,
                          headers={"Retry-After": str(retry_after)}).response()

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        return SlackError("internal_error" if status == 500 else "service_unavailable",
                          status=status).response()

    # -- tokens on the wire --------------------------------------------------------
    @staticmethod
    def _raw(wire: str, prefixes: tuple[str, ...]) -> str:
        """The kit's token behind a Slack-shaped one; "" when it is not ours."""
        for prefix in prefixes:
            if wire.startswith(prefix):
                return wire[len(prefix):]
        return ""

    def _authenticate(self, request: SimRequest, args: dict[str, Any]
                      ) -> tuple[Installation, tuple[str, ...]]:
        scheme, _, value = request.header("authorization").partition(" ")
        wire = value.strip() if scheme.lower() == "bearer" else str(args.get("token") or "")
        if not wire:
            raise SlackError("not_authed")
        raw = self._raw(wire, (EXPIRING_BOT_PREFIX, BOT_PREFIX))
        installation = self.installations.get(self._installation_of.get(raw, -1))
        if installation is None:
            raise SlackError("invalid_auth")
        if installation.revoked:
            raise SlackError("token_revoked")
        try:
            token = self.tokens.authenticate(f"Bearer {raw}", self.clock())
        except TokenRejected as exc:
            raise SlackError("token_expired" if exc.reason == "expired"
                             else "invalid_auth") from exc
        return installation, tuple(scope for scope in installation.scopes
                                   if scope in token.scopes)

    # -- OAuth -----------------------------------------------------------------------
    @route("GET", "/oauth/v2/authorize")
    def authorize(self, request: SimRequest) -> SimResponse:
        query = {key: values[-1] for key, values in request.query.items()}
        if query.get("client_id") != self.client_id:
            return _error_page(400, "Invalid client_id parameter")
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return _error_page(400, "redirect_uri did not match any configured URIs. "
                                    f"Passed URI: {redirect_uri}")
        scopes = tuple(scope for scope in query.get("scope", "").split(",") if scope)
        unknown = sorted(set(scopes) - KNOWN_SCOPES)
        if not scopes or unknown:
            return _error_page(400, "Invalid permissions requested"
                               + (f": {', '.join(unknown)}" if unknown else ""))
        method_name = query.get("code_challenge_method", "")
        if method_name and method_name not in PKCE_METHODS:
            return _error_page(400, "Invalid code_challenge_method")
        state = {"state": query["state"]} if "state" in query else {}
        with self.lock:
            if self.deny_consent:
                return SimResponse.empty(302, {"Location": _with_query(
                    redirect_uri, {"error": "access_denied", **state})})
            code = self.codes.issue(
                client_id=self.client_id, redirect_uri=redirect_uri, scopes=scopes,
                code_challenge=query.get("code_challenge", ""),
                code_challenge_method=method_name, now=self.clock())
        return SimResponse.empty(302, {"Location": _with_query(redirect_uri,
                                                               {"code": code, **state})})

    @route("POST", "/api/oauth.v2.access")
    def oauth_access(self, request: SimRequest) -> SimResponse:
        with self.lock:
            self.method_calls["oauth.v2.access"] += 1
            try:
                args = {key: str(value) for key, value in _arguments(request).items()}
                grant_type = args.get("grant_type") or AUTHORIZATION_CODE
                if grant_type == AUTHORIZATION_CODE:
                    payload = self._exchange_code(args, request.headers)
                elif grant_type == REFRESH_TOKEN:
                    payload = self._refresh(args, request.headers)
                else:
                    raise SlackError("invalid_grant_type")
            except SlackError as exc:
                return exc.response()
        return SimResponse.json(200, {"ok": True, **payload})

    def _client(self, args: dict[str, str], headers: dict[str, str]) -> str:
        try:
            return self.tokens.client_auth.authenticate(args, headers, self.clock())
        except OAuthError as exc:
            raise self._client_error(args, headers) from exc

    def _client_error(self, args: dict[str, str], headers: dict[str, str]) -> SlackError:
        # Slack tells an unknown client from a wrong secret.
        scheme, _, value = headers.get("authorization", "").partition(" ")
        client_id = args.get("client_id", "")
        if scheme.lower() == "basic":
            try:
                client_id = base64.b64decode(value.strip()).decode("utf-8").partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                client_id = ""
        return SlackError("bad_client_secret" if client_id == self.client_id
                          else "invalid_client_id")

    def _exchange_code(self, args: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        client_id = self._client(args, headers)
        now = self.clock()
        try:
            code = self.codes.redeem(args.get("code", ""), client_id=client_id,
                                     redirect_uri=args.get("redirect_uri", ""),
                                     code_verifier=args.get("code_verifier", ""), now=now)
        except CodeRefused as exc:
            raise SlackError("bad_redirect_uri" if exc.reason == "redirect_uri"
                             else "invalid_code") from exc
        rotating = self.token_rotation
        installation = Installation(id=len(self.installations) + 1, scopes=code.scopes,
                                    rotating=rotating)
        if "incoming-webhook" in code.scopes:
            # The installer picks the webhook's channel on the consent page.
            channel = self._channel(self.webhook_channel)
            if channel is None:
                raise SlackError("channel_not_found")
            installation.webhook_channel_id = channel.id
            installation.webhook_secret = secrets.token_urlsafe(18)
        # The kit gives every token one lifetime: set for this grant (the
        # simulator's lock is held, so no other request sees it).
        self.tokens.token_lifetime_seconds = (self.access_token_lifetime_seconds if rotating
                                              else NON_EXPIRING_LIFETIME_SECONDS)
        answer = self.tokens.grant(client_id, now, code.scopes)
        self.installations[installation.id] = installation
        if not rotating:
            # No rotation, no refresh token: the access token is for ever.
            self.tokens.revoke(answer["refresh_token"])
            answer.pop("refresh_token")
        return self._token_answer(installation, answer)

    def _refresh(self, args: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        raw = self._raw(args.get("refresh_token", ""), (REFRESH_PREFIX,))
        installation = self.installations.get(self._installation_of.get(raw, -1))
        form = {**args, "grant_type": REFRESH_TOKEN, "refresh_token": raw or "unknown"}
        self.tokens.token_lifetime_seconds = self.access_token_lifetime_seconds
        try:
            answer = self.tokens.exchange(form, headers, self.clock())
        except OAuthError as exc:
            if exc.error == "invalid_client" or "client_id" in exc.missing:
                raise self._client_error(args, headers) from exc
            raise SlackError("invalid_refresh_token") from exc
        if installation is None or installation.revoked:
            # The kit knew the token but the installation is gone: revoked.
            raise SlackError("invalid_refresh_token")
        return self._token_answer(installation, answer)

    def _token_answer(self, installation: Installation, answer: dict[str, Any]
                      ) -> dict[str, Any]:
        access = answer["access_token"]
        installation.access_tokens.add(access)
        self._installation_of[access] = installation.id
        payload: dict[str, Any] = {
            "app_id": self.app_id,
            "authed_user": {"id": self.installer_user_id},
            "scope": ",".join(installation.scopes),
            "token_type": "bot",
            "access_token": (EXPIRING_BOT_PREFIX if installation.rotating else BOT_PREFIX)
            + access,
            "bot_user_id": self.bot_user_id,
            "team": {"id": self.team["id"], "name": self.team["name"]},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if "refresh_token" in answer:
            installation.refresh_token = answer["refresh_token"]
            self._installation_of[answer["refresh_token"]] = installation.id
            payload["refresh_token"] = REFRESH_PREFIX + answer["refresh_token"]
            payload["expires_in"] = answer["expires_in"]
        if installation.webhook_secret:
            channel = self.channels[installation.webhook_channel_id]
            hook_id = f"B0SIMHOOK{installation.id}"
            payload["incoming_webhook"] = {
                "channel": f"#{channel.name}", "channel_id": channel.id,
                "configuration_url": f"https://{self.team['domain']}.slack.com/services/"
                                     f"{hook_id}",
                "url": f"{self.base_url}/services/{self.team['id']}/{hook_id}/"
                       f"{installation.webhook_secret}"}
        return payload

    @route("POST", "/services/{team}/{hook}/{secret}")
    def incoming_webhook(self, request: SimRequest) -> SimResponse:
        """A message to the channel of an installation's incoming webhook.

        Answers are text, as Slack's are: "ok", or the error's name with its
        status (400 invalid_payload / no_text, 403 invalid_token, 404
        no_service once the app is uninstalled, 404 channel_not_found, 410
        channel_is_archived, 429 with Retry-After past the channel's rate).
        """
        with self.lock:
            self.method_calls["incoming-webhook"] += 1
            installation = next(
                (inst for inst in self.installations.values()
                 if inst.webhook_secret and inst.webhook_secret == request.path_params["secret"]
                 and request.path_params["team"] == self.team["id"]), None)
            if installation is None:
                return _text(403, "invalid_token")
            if installation.revoked:
                return _text(404, "no_service")
            channel = self.channels.get(installation.webhook_channel_id)
            if channel is None:
                return _text(404, "channel_not_found")
            if channel.is_archived:
                return _text(410, "channel_is_archived")
            try:
                body = json.loads(request.body.decode("utf-8") or "null")
            except (ValueError, UnicodeDecodeError):
                body = None
            if not isinstance(body, dict):
                return _text(400, "invalid_payload")
            text, blocks = str(body.get("text") or ""), body.get("blocks")
            if not text and not blocks:
                return _text(400, "no_text")
            try:
                self._take_post_slot(channel)
            except SlackError as exc:
                return _text(429, "rate_limited", exc.headers)
            self._record_message(channel, installation, text=text,
                                 blocks=blocks if isinstance(blocks, list) else None,
                                 via="incoming_webhook")
        return _text(200, "ok")

    @method("auth.revoke", verbs=("GET", "POST"))
    def auth_revoke(self, args: dict[str, Any], installation: Installation,
                    scopes: tuple[str, ...]) -> dict[str, Any]:
        if _truthy(args.get("test", "")):
            return {"revoked": False}
        installation.revoked = True
        for raw in installation.access_tokens:
            self.tokens.revoke(raw)
        if installation.refresh_token:
            self.tokens.revoke(installation.refresh_token)
        return {"revoked": True}

    # -- Web API -------------------------------------------------------------------
    @method("auth.test")
    def auth_test(self, args: dict[str, Any], installation: Installation,
                  scopes: tuple[str, ...]) -> dict[str, Any]:
        return {"url": f"https://{self.team['domain']}.slack.com/", "team": self.team["name"],
                "user": "hub-bot", "team_id": self.team["id"], "user_id": self.bot_user_id,
                "bot_id": self.bot_id, "is_enterprise_install": False}

    @method("conversations.list", scope="channels:read")
    def conversations_list(self, args: dict[str, Any], installation: Installation,
                           scopes: tuple[str, ...]) -> dict[str, Any]:
        types = {kind.strip() for kind in str(args.get("types") or "public_channel").split(",")}
        if not types <= {"public_channel", "private_channel", "mpim", "im"}:
            raise SlackError("invalid_types")
        if "private_channel" in types and "groups:read" not in scopes:
            raise SlackError("missing_scope", needed="groups:read", provided=",".join(scopes))
        try:
            limit = int(args.get("limit") or DEFAULT_LIST_LIMIT)
            offset = int(args["cursor"].removeprefix("dGVhbTpD")) if args.get("cursor") else 0
        except (ValueError, AttributeError) as exc:
            raise SlackError("invalid_cursor") from exc
        limit = min(max(limit, 1), MAX_LIST_LIMIT)
        exclude_archived = _truthy(args.get("exclude_archived", ""))
        visible = [
            channel for channel in self.channels.values()
            if (("private_channel" in types and channel.is_private and channel.is_member)
                or ("public_channel" in types and not channel.is_private))
            and not (exclude_archived and channel.is_archived)
        ]
        if offset < 0 or offset > len(visible):
            raise SlackError("invalid_cursor")
        page = visible[offset:offset + limit]
        after = offset + len(page)
        # Opaque to the client; Slack's cursors are base64 text, these merely look alike.
        next_cursor = f"dGVhbTpD{after}" if after < len(visible) else ""
        return {"channels": [channel.view() for channel in page],
                "response_metadata": {"next_cursor": next_cursor}}

    @method("chat.postMessage", scope="chat:write", verbs=("POST",))
    def chat_post_message(self, args: dict[str, Any], installation: Installation,
                          scopes: tuple[str, ...]) -> dict[str, Any]:
        channel = self._channel(str(args.get("channel") or ""))
        if channel is None or (channel.is_private and not channel.is_member):
            raise SlackError("channel_not_found")
        self._take_post_slot(channel)
        if channel.is_archived:
            raise SlackError("is_archived")
        if not channel.is_member and "chat:write.public" not in scopes:
            raise SlackError("not_in_channel")
        text = str(args.get("text") or "")
        blocks = args.get("blocks")
        if isinstance(blocks, str) and blocks:
            try:
                blocks = json.loads(blocks)
            except ValueError as exc:
                raise SlackError("invalid_blocks") from exc
        if blocks is not None and (not isinstance(blocks, list)
                                   or not all(isinstance(block, dict) and block.get("type")
                                              for block in blocks)):
            raise SlackError("invalid_blocks")
        if not text and not blocks:
            raise SlackError("no_text")
        if len(text) > MAX_TEXT_LENGTH:
            raise SlackError("msg_too_long")
        message = self._record_message(channel, installation, text=text, blocks=blocks,
                                       thread_ts=str(args.get("thread_ts") or ""),
                                       via="chat.postMessage")
        return {"channel": channel.id, "ts": message["ts"], "message": message}

    def _record_message(self, channel: Channel, installation: Installation, *, text: str,
                        blocks: list[dict[str, Any]] | None, via: str,
                        thread_ts: str = "") -> dict[str, Any]:
        """The message as Slack shows it; recorded with where it went and how."""
        now = self.clock()
        self._message_seq += 1
        ts = f"{int(now)}.{self._message_seq:06d}"
        message: dict[str, Any] = {"type": "message", "subtype": "bot_message", "text": text,
                                   "user": self.bot_user_id, "bot_id": self.bot_id,
                                   "app_id": self.app_id, "team": self.team["id"], "ts": ts}
        if blocks:
            message["blocks"] = blocks
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages.append({**message, "channel": channel.id, "channel_name": channel.name,
                              "installation": installation.id, "via": via, "posted_at": now})
        return message

    @method("users.lookupByEmail", scope="users:read.email")
    def users_lookup_by_email(self, args: dict[str, Any], installation: Installation,
                              scopes: tuple[str, ...]) -> dict[str, Any]:
        member = self.members.get(str(args.get("email") or "").strip().lower())
        if member is None:
            raise SlackError("users_not_found")
        name = member["email"].split("@")[0]
        return {"user": {
            "id": member["id"], "team_id": self.team["id"], "name": name, "deleted": False,
            "real_name": member["real_name"], "tz": "Europe/Brussels", "is_bot": False,
            "is_admin": member["id"] == self.installer_user_id, "is_app_user": False,
            "profile": {"email": member["email"], "real_name": member["real_name"],
                        "display_name": name, "team": self.team["id"]},
        }}

    def _channel(self, reference: str) -> Channel | None:
        if reference in self.channels:
            return self.channels[reference]
        name = reference.removeprefix("#")
        return next((channel for channel in self.channels.values() if channel.name == name),
                    None)

    def _take_post_slot(self, channel: Channel) -> None:
        """A slot in the channel's window, or 429 `ratelimited` (nothing posted)."""
        now = self.clock()
        window = self.post_message_burst / self.post_message_per_second
        recent = self._recent_posts.setdefault(channel.id, deque())
        while recent and recent[0] <= now - window:
            recent.popleft()
        if len(recent) >= self.post_message_burst:
            self.rate_limited_count += 1
            retry_after = max(1, math.ceil(recent[0] + window - now))
            raise SlackError("ratelimited", status=429,
                             headers={"Retry-After": str(retry_after)})
        recent.append(now)

    # -- controls ------------------------------------------------------------------
    @control_route("POST", "/consent")
    def control_consent(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        if "deny" in body:
            self.deny_consent = bool(body["deny"])
        if "webhook_channel" in body:
            self.webhook_channel = str(body["webhook_channel"]).removeprefix("#")
        return SimResponse.json(200, {"deny": self.deny_consent,
                                      "webhook_channel": self.webhook_channel})

    @control_route("POST", "/token-rotation")
    def control_token_rotation(self, request: SimRequest) -> SimResponse:
        self.token_rotation = bool((request.json() or {})["enabled"])
        return SimResponse.json(200, {"enabled": self.token_rotation})

    @control_route("GET", "/channels")
    def control_channels(self, request: SimRequest) -> SimResponse:
        return SimResponse.json(200, {"channels": [asdict(channel)
                                                   for channel in self.channels.values()]})

    @control_route("POST", "/channels")
    def control_set_channel(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        name = str(body["name"]).removeprefix("#")
        if not name:
            raise ValueError("name is required")
        flags = {key: bool(body[key]) for key in ("is_private", "is_member", "is_archived")
                 if key in body}
        channel = self._channel(name)
        if channel is None:
            channel = self._add_channel(name, is_private=flags.pop("is_private", False),
                                        is_member=flags.pop("is_member", False))
        for key, value in flags.items():
            setattr(channel, key, value)
        return SimResponse.json(200, asdict(channel))

    @control_route("POST", "/users")
    def control_add_member(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        email = str(body["email"]).strip().lower()
        if "@" not in email:
            raise ValueError("email must be an e-mail address")
        existing = self.members.get(email)
        member = {"id": existing["id"] if existing else f"U0SIMU{len(self.members) + 1:04d}",
                  "email": email, "real_name": str(body.get("real_name") or email)}
        self.members[email] = member
        return SimResponse.json(200, member)

    @control_route("GET", "/messages")
    def control_messages(self, request: SimRequest) -> SimResponse:
        wanted = request.query.get("channel", [""])[-1]
        channel = self._channel(wanted) if wanted else None
        if wanted and channel is None:
            return SimResponse.json(200, {"messages": []})
        messages = [message for message in self.messages
                    if channel is None or message["channel"] == channel.id]
        return SimResponse.json(200, {"messages": messages})

    @control_route("POST", "/advance")
    def control_advance(self, request: SimRequest) -> SimResponse:
        seconds = float((request.json() or {})["seconds"])
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        return SimResponse.json(200, {"now": self.clock.advance(seconds)})


def build(**options: Any) -> SlackSimulator:
    """A workspace with the default channels, accepting the hub's app credentials
    (settings.SLACK_CLIENT_ID / SLACK_CLIENT_SECRET); `options` override anything."""
    from django.conf import settings  # here, so the module imports without Django set up

    defaults = {"client_id": settings.SLACK_CLIENT_ID,
                "client_secret": settings.SLACK_CLIENT_SECRET}
    return SlackSimulator(**{**defaults, **options})
