"""Local stand-ins for the providers Integrations connects to, one module each.

  google.py     Google: OAuth 2.0 (authorization code with PKCE, refresh,
                revoke, userinfo) and Calendar API v3 (events, incremental
                sync tokens, push channels, quotas). Port 8105.
  microsoft.py  Microsoft identity platform v2.0 and Graph v1.0 (calendar
                events, delta links, subscriptions, Teams meetings). Port 8106.
  slack.py      Slack OAuth v2 (token rotation) and the Web API
                (auth.test, conversations.list, chat.postMessage). Port 8107.
  zoom.py       Zoom OAuth (rotating refresh tokens) and API v2 (meetings,
                past meeting participants). Port 8108.

Each module has a `build(**options)` factory, named in settings.SIMULATORS
and used by `manage.py run_simulators`; the tests serve them on free ports
through fixtures (tests/integrations/). They are built on apps.core.simulator
and apps.core.simulator_kit and keep only their provider's wire format.
"""
