"""What every platform simulator needs besides the framework (apps.core.simulator).

- `clock.SimClock`: the time a simulator reads, which tests move (directly,
  or with time-machine, since it reads `time.time` at each call);
- `oauth.TokenServer`: an OAuth 2.0 token endpoint (client credentials with
  a secret in the form or in Basic auth, or with an RS256 JWT client
  assertion; refresh tokens, rotated or not) and the bearer-token check;
- `webhooks.WebhookSender`: signed deliveries to the hub, retried on failure,
  with the signing schemes the platforms use (`webhooks.BodyHmac`,
  `webhooks.TimestampedHmac`, `webhooks.StandardWebhooks`).

Each simulator keeps its platform's wire format (paths, error bodies,
header names) and hands the mechanics to these.
"""
