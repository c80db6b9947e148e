"""The four providers' OAuth registrations and token-endpoint policies, and the
translation between the seed's scope names and each provider's own.

Each provider is registered once with the core (`register_oauth_provider`):
its connections then sign in with apps.core.oauth and authenticate through
`client_for` with no more code. The URLs are read from settings at every use
(functions, not strings), so a test pointing GOOGLE_TOKEN_URL at a simulator
is obeyed.

Scopes. The seed names what a hub user asks for (`calendar.read`, ...); each
provider grants its own scopes. `SCOPES` is the table both ways: a seed scope
asks for these provider scopes, and the permissions a connection has are
read back from the scopes the provider says it granted.

  seed scope     Google                Microsoft Graph     Slack         Zoom*
  calendar.read  .../calendar.readonly Calendars.Read      -             -
  calendar.write .../calendar.events   Calendars.ReadWrite -             -
  events.manage  .../calendar.events   Calendars.ReadWrite -             -
  meetings.write -                     Calendars.ReadWrite -             meeting:write:meeting
                                       (Teams: the event)                meeting:update:meeting
                                                                         meeting:delete:meeting
  meetings.read  -                     Calendars.Read      -             meeting:read:meeting
                                                                         meeting:read:list_past_participants
  messages.write -                     -                   chat:write    -
  channels.read  -                     -                   channels:read -
  users.read     openid email profile  User.Read           users:read    user:read:user

  .../ is https://www.googleapis.com/auth/. * Zoom's scopes are the app's
  own, chosen in its Marketplace page.

Always asked besides: Google `openid email profile` (the account's e-mail
and name at the callback), Microsoft `openid profile email offline_access
User.Read` (no refresh token without offline_access; /me needs User.Read).
A seed scope a provider has no equivalent for is refused (400, field
`scopes`). Zoom takes no scope parameter: an app's scopes are chosen in its
Marketplace configuration, so the authorize URL carries none and the
permissions come from the scopes Zoom's token answer lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.errors import ServiceError
from apps.core.http import Platform, RetryPolicy
from apps.core.oauth import (
    CLIENT_AUTH_BASIC,
    CLIENT_AUTH_FORM,
    OAuthProvider,
    register_oauth_provider,
)

GOOGLE = "google"
MICROSOFT = "microsoft"
SLACK = "slack"
ZOOM = "zoom"
PROVIDERS = (GOOGLE, MICROSOFT, SLACK, ZOOM)

PROVIDER_NOT_SUPPORTED = "PROVIDER_NOT_SUPPORTED"

_GOOGLE_AUTH = "https://www.googleapis.com/auth/"
GOOGLE_CALENDAR = _GOOGLE_AUTH + "calendar"
GOOGLE_CALENDAR_READONLY = _GOOGLE_AUTH + "calendar.readonly"
GOOGLE_CALENDAR_EVENTS = _GOOGLE_AUTH + "calendar.events"
GOOGLE_CALENDAR_EVENTS_READONLY = _GOOGLE_AUTH + "calendar.events.readonly"
# Graph scopes may come back with the resource in front, and in another case.
GRAPH_RESOURCE = "https://graph.microsoft.com/"

# The seed's permission names.
READ_CALENDAR = "read_calendar"
WRITE_CALENDAR = "write_calendar"
MANAGE_EVENTS = "manage_events"
SEND_MESSAGES = "send_messages"
READ_CHANNELS = "read_channels"
MANAGE_MEETINGS = "manage_meetings"
READ_MEETINGS = "read_meetings"

PERMISSION_LABELS = {
    READ_CALENDAR: _("read the calendar"),
    WRITE_CALENDAR: _("write to the calendar"),
    MANAGE_EVENTS: _("manage events"),
    SEND_MESSAGES: _("send messages"),
    READ_CHANNELS: _("read the channels"),
    MANAGE_MEETINGS: _("manage meetings"),
    READ_MEETINGS: _("read meetings"),
}

SEED_SCOPES = ("calendar.read", "calendar.write", "events.manage", "messages.write",
               "channels.read", "meetings.write", "meetings.read", "users.read")


@dataclass(frozen=True)
class ProviderSpec:
    """What this domain knows of one provider besides its OAuth endpoints."""

    name: str
    # The Integration's type and the name it is given.
    integration_type: str
    display_name: str
    # Seed scope → the provider's scopes it asks for.
    scopes: dict[str, tuple[str, ...]]
    # Asked whatever the seed scopes are.
    base_scopes: tuple[str, ...]
    # Asked when the caller names none.
    default_seed_scopes: tuple[str, ...]
    # Permission → any one of these granted scopes gives it (compared in lower case).
    permissions: dict[str, frozenset[str]]
    # False: the app's configuration fixes the scopes (Zoom), none are sent.
    sends_scopes: bool = True


SPECS: dict[str, ProviderSpec] = {
    GOOGLE: ProviderSpec(
        name=GOOGLE, integration_type="calendar", display_name="Google Calendar",
        scopes={"calendar.read": (GOOGLE_CALENDAR_READONLY,),
                "calendar.write": (GOOGLE_CALENDAR_EVENTS,),
                "events.manage": (GOOGLE_CALENDAR_EVENTS,),
                "users.read": ("openid", "email", "profile")},
        base_scopes=("openid", "email", "profile"),
        default_seed_scopes=("calendar.read", "calendar.write", "events.manage"),
        permissions={
            READ_CALENDAR: frozenset({GOOGLE_CALENDAR, GOOGLE_CALENDAR_READONLY,
                                      GOOGLE_CALENDAR_EVENTS, GOOGLE_CALENDAR_EVENTS_READONLY}),
            WRITE_CALENDAR: frozenset({GOOGLE_CALENDAR, GOOGLE_CALENDAR_EVENTS}),
            MANAGE_EVENTS: frozenset({GOOGLE_CALENDAR, GOOGLE_CALENDAR_EVENTS}),
        }),
    MICROSOFT: ProviderSpec(
        name=MICROSOFT, integration_type="calendar", display_name="Microsoft 365",
        scopes={"calendar.read": ("Calendars.Read",),
                "calendar.write": ("Calendars.ReadWrite",),
                "events.manage": ("Calendars.ReadWrite",),
                # A Teams meeting is created with its event (isOnlineMeeting).
                "meetings.write": ("Calendars.ReadWrite",),
                "meetings.read": ("Calendars.Read",),
                "users.read": ("User.Read",)},
        base_scopes=("openid", "profile", "email", "offline_access", "User.Read"),
        default_seed_scopes=("calendar.read", "calendar.write", "events.manage"),
        permissions={
            READ_CALENDAR: frozenset({"calendars.read", "calendars.readwrite"}),
            WRITE_CALENDAR: frozenset({"calendars.readwrite"}),
            MANAGE_EVENTS: frozenset({"calendars.readwrite"}),
            MANAGE_MEETINGS: frozenset({"calendars.readwrite"}),
        }),
    SLACK: ProviderSpec(
        name=SLACK, integration_type="communication", display_name="Slack",
        scopes={"messages.write": ("chat:write",),
                "channels.read": ("channels:read",),
                "users.read": ("users:read",)},
        base_scopes=(),
        default_seed_scopes=("messages.write", "channels.read"),
        permissions={SEND_MESSAGES: frozenset({"chat:write"}),
                     READ_CHANNELS: frozenset({"channels:read"})}),
    ZOOM: ProviderSpec(
        name=ZOOM, integration_type="video", display_name="Zoom",
        scopes={"meetings.write": ("meeting:write:meeting", "meeting:update:meeting",
                                   "meeting:delete:meeting"),
                "meetings.read": ("meeting:read:meeting",
                                  "meeting:read:list_past_participants"),
                "users.read": ("user:read:user",)},
        base_scopes=(),
        default_seed_scopes=("meetings.write", "meetings.read"),
        # Granular scopes, and the classic ones of apps created before them.
        permissions={MANAGE_MEETINGS: frozenset({"meeting:write:meeting", "meeting:write",
                                                 "meeting:write:admin"}),
                     READ_MEETINGS: frozenset({"meeting:read:meeting", "meeting:read",
                                               "meeting:read:admin"})},
        sends_scopes=False),
}


def provider_spec(provider: str) -> ProviderSpec:
    """The provider's description, or PROVIDER_NOT_SUPPORTED (400)."""
    spec = SPECS.get(provider)
    if spec is None:
        raise ServiceError(
            PROVIDER_NOT_SUPPORTED,
            gettext("The provider %(provider)s is not supported; use one of %(providers)s.")
            % {"provider": provider, "providers": ", ".join(PROVIDERS)},
            details={"provider": [gettext("Not supported.")]}, status=400)
    return spec


def provider_scopes(provider: str, seed_scopes: Iterable[str] | None) -> tuple[str, ...]:
    """The provider's scopes for the seed's (None: the provider's defaults), in
    a stable order without repeats; an unknown or unavailable seed scope is a
    400 naming the field."""
    spec = provider_spec(provider)
    asked = spec.default_seed_scopes if seed_scopes is None else tuple(seed_scopes)
    problems = []
    for scope in asked:
        if scope not in SEED_SCOPES:
            problems.append(gettext("%(scope)s is not a known scope; use one of %(scopes)s.")
                            % {"scope": scope, "scopes": ", ".join(SEED_SCOPES)})
        elif scope not in spec.scopes:
            problems.append(gettext("%(scope)s is not available at %(provider)s.")
                            % {"scope": scope, "provider": spec.display_name})
    if problems:
        raise ServiceError("validation_error", gettext("Some scopes cannot be asked for."),
                           details={"scopes": problems}, status=400)
    wanted = list(spec.base_scopes)
    for scope in asked:
        wanted.extend(spec.scopes[scope])
    return tuple(dict.fromkeys(wanted))


def _normalised(provider: str, scope: str) -> str:
    scope = scope.strip()
    if provider == MICROSOFT and scope.lower().startswith(GRAPH_RESOURCE):
        scope = scope[len(GRAPH_RESOURCE):]
    return scope.lower()


def permissions_granted(provider: str, granted_scopes: Iterable[str]) -> dict[str, bool]:
    """Every permission the provider can give → whether the granted scopes give it."""
    spec = provider_spec(provider)
    granted = {_normalised(provider, scope) for scope in granted_scopes}
    return {permission: bool(granted & {s.lower() for s in scopes})
            for permission, scopes in spec.permissions.items()}


def permission_names(provider: str, granted_scopes: Iterable[str]) -> list[str]:
    """The seed's permission names the granted scopes give, in the table's order."""
    return [name for name, given in permissions_granted(provider, granted_scopes).items()
            if given]


# -- the token endpoints' policies ------------------------------------------------
# One attempt more than a single retry: a token request waits for a user at
# the callback, and a refresh holds the connection's row lock while it runs.
TOKEN_RETRY = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=5.0, max_inline_wait=10.0)


def _token_platform(name: str, setting: str) -> Platform:
    return Platform(name=name, base_url=getattr(settings, setting), retry=TOKEN_RETRY,
                    connect_timeout=5.0, read_timeout=15.0, max_rate_limit_wait=10.0)


def google_token_platform() -> Platform:
    return _token_platform(GOOGLE, "GOOGLE_TOKEN_URL")


def microsoft_token_platform() -> Platform:
    return _token_platform(MICROSOFT, "MICROSOFT_TOKEN_URL")


def slack_token_platform() -> Platform:
    return _token_platform(SLACK, "SLACK_TOKEN_URL")


def zoom_token_platform() -> Platform:
    return _token_platform(ZOOM, "ZOOM_TOKEN_URL")


def _default_scopes(provider: str) -> tuple[str, ...]:
    """What a connect without scopes asks for (the core's own connect page too)."""
    return provider_scopes(provider, None) if SPECS[provider].sends_scopes else ()


def _setting(name: str):
    def read() -> str:
        return getattr(settings, name)

    read.__qualname__ = f"setting_{name}"
    return read


OAUTH_PROVIDERS: dict[str, OAuthProvider] = {
    # Google: client authentication in the form (as its OAuth client
    # libraries send it), PKCE S256, and access_type=offline with
    # prompt=consent, without which no refresh token comes back after the
    # first consent. Refresh tokens are not rotated: a refresh answers none
    # and the stored one is kept.
    GOOGLE: OAuthProvider(
        authorize_url=_setting("GOOGLE_AUTH_URL"), token_url=_setting("GOOGLE_TOKEN_URL"),
        revoke_url=_setting("GOOGLE_REVOKE_URL"), platform=google_token_platform,
        default_scopes=_default_scopes(GOOGLE), client_auth=CLIENT_AUTH_FORM, pkce=True,
        rotates_refresh_tokens=False,
        authorize_params={"access_type": "offline", "prompt": "consent"}),
    # Microsoft identity platform v2.0: PKCE; every refresh answers a new
    # refresh token, stored in place of the old one. No revocation endpoint
    # for an application (MICROSOFT_REVOKE_URL empty): disconnecting forgets
    # the tokens.
    MICROSOFT: OAuthProvider(
        authorize_url=_setting("MICROSOFT_AUTH_URL"), token_url=_setting("MICROSOFT_TOKEN_URL"),
        revoke_url=_setting("MICROSOFT_REVOKE_URL"), platform=microsoft_token_platform,
        default_scopes=_default_scopes(MICROSOFT), client_auth=CLIENT_AUTH_FORM, pkce=True,
        rotates_refresh_tokens=True),
    # Slack OAuth v2: comma-separated bot scopes, client credentials in HTTP
    # Basic (oauth.v2.access: "If possible, avoid sending client_id and
    # client_secret as parameters ... supply [them] using the HTTP Basic
    # authentication scheme"). No PKCE: enabling it marks a Slack app as a
    # public client for good. With token rotation on, each refresh spends
    # its refresh token. auth.revoke takes the bot token itself.
    SLACK: OAuthProvider(
        authorize_url=_setting("SLACK_AUTH_URL"), token_url=_setting("SLACK_TOKEN_URL"),
        revoke_url=_setting("SLACK_REVOKE_URL"), platform=slack_token_platform,
        default_scopes=_default_scopes(SLACK), scope_separator=",",
        client_auth=CLIENT_AUTH_BASIC, pkce=False, rotates_refresh_tokens=True,
        revoke_access_token=True,
        # Rotated tokens live 12 hours; Slack's SDK (TokenRotator) refreshes
        # them two hours ahead.
        refresh_margin_seconds=7200.0,
        # Slack answers a spent or revoked refresh token with this code.
        revoked_errors=frozenset({"invalid_grant", "invalid_refresh_token", "token_revoked"})),
    # Zoom: HTTP Basic, PKCE, refresh tokens rotated on every use ("the
    # latest refresh token must always be used").
    ZOOM: OAuthProvider(
        authorize_url=_setting("ZOOM_AUTH_URL"), token_url=_setting("ZOOM_TOKEN_URL"),
        revoke_url=_setting("ZOOM_REVOKE_URL"), platform=zoom_token_platform,
        client_auth=CLIENT_AUTH_BASIC, pkce=True, rotates_refresh_tokens=True,
        # Zoom has been seen answering a stale refresh token with invalid_request.
        revoked_errors=frozenset({"invalid_grant", "invalid_request"})),
}


def client_credentials(provider: str) -> tuple[str, str]:
    """The hub's application at the provider: (client id, client secret), from settings."""
    prefix = provider.upper()
    return (getattr(settings, f"{prefix}_CLIENT_ID"), getattr(settings, f"{prefix}_CLIENT_SECRET"))


for _name, _provider in OAUTH_PROVIDERS.items():
    register_oauth_provider(_name, _provider)
