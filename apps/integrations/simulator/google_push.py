"""Google's push channels: a channel, and the sender of its notifications.

A notification is a bodiless POST whose headers say everything: the
channel's id and token, the watched resource's id and URI, its state and the
message number. Delivery, retries and ordering are the kit's WebhookSender;
only the headers are Google's.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from typing import Any

from apps.core.simulator_kit.webhooks import Delivery, WebhookSender

PUSH_USER_AGENT = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"


class _Unsigned:
    """Google signs nothing: a channel is authenticated by its token header."""

    def headers(self, body: bytes, *, event_id: str, timestamp: int) -> dict[str, str]:
        return {}


@dataclass
class Channel:
    id: str
    resource_id: str
    resource_uri: str
    calendar_id: str
    token: str
    address: str
    expiration: float  # seconds since the epoch
    client_id: str
    message_number: int = 0
    stopped: bool = False
    sender: ChannelSender | None = None

    def resource(self) -> dict[str, Any]:
        body = {"kind": "api#channel", "id": self.id, "resourceId": self.resource_id,
                "resourceUri": self.resource_uri,
                # int64 fields are strings in Google's JSON.
                "expiration": str(int(self.expiration * 1000))}
        if self.token:
            body["token"] = self.token
        return body

    def live(self, now: float) -> bool:
        return not self.stopped and self.expiration > now


class ChannelSender(WebhookSender):
    """The kit's sender, with Google's headers: the message number is the
    delivery's id and the resource state its event name."""

    def __init__(self, channel: Channel, **options: Any) -> None:
        super().__init__(channel.address, _Unsigned(), user_agent=PUSH_USER_AGENT,
                         content_type="application/json; utf-8", **options)
        self.channel = channel

    def headers_for(self, delivery: Delivery) -> dict[str, str]:
        channel = self.channel
        headers = super().headers_for(delivery)
        headers.update({
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": email.utils.formatdate(channel.expiration,
                                                                usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": delivery.event,
            "X-Goog-Message-Number": delivery.event_id,
        })
        if channel.token:
            headers["X-Goog-Channel-Token"] = channel.token
        return headers
