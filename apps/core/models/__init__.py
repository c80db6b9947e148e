"""What every domain shares, one module per concern."""

from apps.core.models.accounts import ApiToken, ApiTokenQuerySet, Heartbeat
from apps.core.models.attention import AttentionItem
from apps.core.models.audit import SyncLog
from apps.core.models.connections import Connection, Credentials, CredentialsUnreadable
from apps.core.models.inbox import WebhookEvent
from apps.core.models.oauth import OAuthState
from apps.core.models.outbox import OutboundOperation
from apps.core.models.outgoing import WebhookDelivery, WebhookEndpoint
from apps.core.models.preferences import UserPreference
from apps.core.models.shared_state import SharedState as SharedState
from apps.core.models.shared_state import SharedWindowHit as SharedWindowHit
from apps.core.models.sync import Conflict, ExternalMapping, SyncCursor, SyncRun

__all__ = [
    "ApiToken", "ApiTokenQuerySet", "AttentionItem", "Conflict", "Connection", "Credentials",
    "CredentialsUnreadable", "ExternalMapping", "Heartbeat", "OAuthState", "OutboundOperation",
    "SyncCursor", "SyncLog", "SyncRun", "UserPreference", "WebhookDelivery", "WebhookEndpoint",
    "WebhookEvent",
]
