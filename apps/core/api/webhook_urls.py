"""One webhook channel per connection: /api/webhooks/<platform>/<connection id>/.

An unknown platform, an unknown connection, or a connection of another
platform is a 404 in the error shape, and nothing is stored.
"""

from django.urls import path

from apps.core.webhooks import webhook_channel_view

urlpatterns = [
    path("<slug:platform>/<int:connection_id>/", webhook_channel_view, name="webhook-channel"),
]
