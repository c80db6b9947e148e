"""A body that cannot be parsed is masked by pattern: whatever looks like a
credential is hidden, the rest stays readable."""

from __future__ import annotations

import pytest
import responses

from apps.core.audit import LogContext
from apps.core.auth import AuthProvider
from apps.core.http import PermanentError, Platform, PlatformClient
from apps.core.models import SyncLog
from apps.core.redaction import redact_body

ACCESS_TOKEN = "at-Plaintext-Access-Token-0123456789"
REFRESH_TOKEN = "rt-Plaintext-Refresh-Token-9876543210"
JWT = ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIiwic3NpbiI6Ijg1MDczMDAzMzI4In0."
       "c2lnbmF0dXJlLW9mLXRoZS1qd3QtaGVyZQ")


def _shown(text: str, secret: str) -> bool:
    return secret[:-3] in text or secret[3:] in text


@pytest.mark.parametrize("body", [
    # JSON cut short in the middle of the value, with no closing quote.
    '{"access_token": "' + ACCESS_TOKEN[:30],
    # Closed, but the document around it is broken.
    '{"refresh_token": "' + ACCESS_TOKEN + '", "expires_in": 6',
    # A Python repr quoted in an error page, single quotes.
    "Unexpected reply {'accessToken': '" + ACCESS_TOKEN + "'}",
    # Any key with a sensitive word in it, whatever its case or separators.
    '{"X-Api-Key": "' + ACCESS_TOKEN + '", "clientSecretValue": "' + ACCESS_TOKEN + '"',
])
def test_it_masks_the_value_of_a_sensitive_quoted_key(body):
    logged = redact_body(body, "application/json")

    assert not _shown(logged, ACCESS_TOKEN[:30]), logged


def test_it_masks_personal_ids_under_their_own_word_only():
    logged = redact_body('{"workerSsin": 85073003328, "ssin": "85073003328", '
                         '"processingStatus": "missing", "count": 3', "application/json")

    assert "85073003328" not in logged, logged
    assert '"processingStatus": "missing", "count": 3' in logged


def test_it_masks_sensitive_name_value_pairs():
    logged = redact_body(f"access_token={ACCESS_TOKEN}&refresh_token={REFRESH_TOKEN}"
                         "&token_type=bearer&scope=read; retry with client_secret=s3cr3t-value",
                         "text/plain")

    assert not _shown(logged, ACCESS_TOKEN) and not _shown(logged, REFRESH_TOKEN), logged
    assert "s3cr3t-va" not in logged
    assert "&scope=read;" in logged


@pytest.mark.parametrize("scheme", ["Bearer", "Basic", "bearer"])
def test_it_masks_authorization_credentials(scheme):
    logged = redact_body(f"<p>Refused: Authorization: {scheme} {ACCESS_TOKEN}== "
                         "Basic information is in the manual</p>", "text/html")

    assert not _shown(logged, ACCESS_TOKEN), logged
    assert f"Authorization: {scheme} " in logged
    assert "Basic information is in the manual" in logged


@pytest.mark.parametrize("jwt", [JWT, JWT[:80]], ids=["whole", "cut-after-the-payload-began"])
def test_it_masks_anything_shaped_like_a_jwt(jwt):
    logged = redact_body(f"upstream said: session {jwt} expired", "text/plain")

    assert not _shown(logged, jwt[:60]), logged
    assert logged.startswith("upstream said: session ") and logged.endswith(" expired")


class _NewlineToken(AuthProvider):
    """A token with a stray newline: requests refuses the header and quotes it."""

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ACCESS_TOKEN}\n"}


@pytest.mark.django_db
@responses.activate
def test_it_masks_a_credential_quoted_in_an_error():
    client = PlatformClient(Platform(name="acme", base_url="https://acme.test/api"),
                            auth=_NewlineToken(), sleep=lambda seconds: None)

    with pytest.raises(PermanentError):
        client.get("/things", log=LogContext(action="thing.list"))

    row = SyncLog.objects.get()
    assert "InvalidHeader" in row.error
    assert not _shown(row.error, ACCESS_TOKEN), row.error
