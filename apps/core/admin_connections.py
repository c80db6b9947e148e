"""Back-office for connections: the accounts the hub holds on each platform.

Credentials are write-only: typed to set or replace them, never shown back
(only masked), and saved through the services like everything else.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from apps.core.admin_display import (
    CONNECTION_TONES,
    changelist_url,
    choice_badge,
    masked_value,
    status_badge,
    time_column,
)
from apps.core.admin_tools import PlatformFilter
from apps.core.connections import (
    EDITABLE_FIELDS,
    connection_create,
    connection_set_credentials,
    connection_update,
)
from apps.core.models import (
    Connection,
    Credentials,
    CredentialsUnreadable,
    OutboundOperation,
    SyncLog,
    WebhookEvent,
)

# What each credential is called for a manager.
CREDENTIAL_LABELS = {
    "api_key": _("API key"),
    "client_id": _("Client id"),
    "client_secret": _("Client secret"),
    "access_token": _("Access token"),
    "refresh_token": _("Refresh token"),
    "webhook_secret": _("Webhook secret"),
    # Not a field of Credentials: kept in its `extra` (the ONSS signs with it).
    "private_key_pem": _("Private key (PEM)"),
}
# Form field -> the credential it sets.
CREDENTIAL_FIELDS = {f"new_{name}": name for name in CREDENTIAL_LABELS}


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that never renders a value back, not even after an error on another field."""

    def format_value(self, value):
        return None


def _credential_field(name: str, *, multiline: bool = False) -> forms.CharField:
    widget = (WriteOnlyTextarea(attrs={"rows": 4, "autocomplete": "off"}) if multiline
              else forms.PasswordInput(render_value=False,
                                       attrs={"autocomplete": "new-password"}))
    return forms.CharField(
        label=CREDENTIAL_LABELS[name], required=False, strip=True, widget=widget,
        help_text=_("Type to set or replace; leave empty to keep what is stored."))


class ConnectionForm(forms.ModelForm):
    base_url = forms.URLField(
        label=_("base URL"), required=False, max_length=300, assume_scheme="https",
        help_text=_("Empty: the platform's (or its simulator's) URL."))
    new_api_key = _credential_field("api_key")
    new_client_id = _credential_field("client_id")
    new_client_secret = _credential_field("client_secret")
    new_access_token = _credential_field("access_token")
    new_refresh_token = _credential_field("refresh_token")
    new_webhook_secret = _credential_field("webhook_secret")
    # A PEM key spans lines; it is still never rendered back.
    new_private_key_pem = _credential_field("private_key_pem", multiline=True)

    class Meta:
        model = Connection
        fields = ["platform", "name", "tenant_type", "tenant_id", "is_default", "base_url",
                  "settings"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "platform" in self.fields:
            from apps.core.platforms import registered_platforms

            names = sorted({p.name for p in registered_platforms()}
                           | ({self.instance.platform} if self.instance.platform else set()))
            self.fields["platform"].widget = forms.Select(choices=[(n, n) for n in names])

    def credential_changes(self) -> dict[str, str]:
        return {CREDENTIAL_FIELDS[name]: value for name, value in self.cleaned_data.items()
                if name in CREDENTIAL_FIELDS and value}


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionForm
    list_display = ("name", "platform", "tenant", "status_badge", "last_success",
                    "last_error_time", "connected_by")
    list_filter = (PlatformFilter, "status", "is_default", "tenant_type")
    search_fields = ("name", "=tenant_id")
    list_select_related = ("connected_by",)
    list_per_page = 50
    readonly_fields = ("status_badge", "status_reason", "stored_credentials",
                       "credentials_version", "token_expires", "granted_scopes", "last_success",
                       "last_error_time", "last_error", "connected_by", "connected",
                       "see_also", "created", "updated")

    last_success = time_column("last_success_at", _("last success"))
    last_error_time = time_column("last_error_at", _("last error at"))
    token_expires = time_column("token_expires_at", _("token expires"))
    connected = time_column("connected_at", _("connected at"))
    created = time_column("created_at", _("created"))
    updated = time_column("updated_at", _("updated"))

    def get_fieldsets(self, request, obj=None):
        return [
            (None, {"fields": ["platform", "name", "tenant_type", "tenant_id", "is_default",
                               "base_url", "settings"]}),
            (_("Status"), {"fields": ["status_badge", "status_reason", "last_success",
                                      "last_error_time", "last_error", "connected_by",
                                      "connected", "see_also"]}),
            (_("Credentials"), {
                "description": _("Stored encrypted. Empty on the default connection: the "
                                 "environment's are used."),
                "fields": ["stored_credentials", "credentials_version", "token_expires",
                           "granted_scopes", *CREDENTIAL_FIELDS]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        # Its operations, logs and token cache belong to this platform.
        return (*self.readonly_fields, "platform") if obj is not None else self.readonly_fields

    @admin.display(description=_("tenant"))
    def tenant(self, obj: Connection) -> str:
        if not obj.tenant_type:
            return str(_("the deployment"))
        return f"{obj.tenant_type} {obj.tenant_id}"

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: Connection) -> str:
        if obj.pk is None:
            return "—"
        badge = choice_badge(obj, "status", CONNECTION_TONES)
        if obj.status_reason:
            return format_html('{} <span title="{}">{}</span>', badge, obj.status_reason,
                               obj.status_reason[:80])
        return badge

    @admin.display(description=_("see also"))
    def see_also(self, obj: Connection) -> str:
        if obj.pk is None:
            return "—"
        links = [(changelist_url(model, connection=obj.pk), label) for model, label in (
            (OutboundOperation, _("Operations")), (SyncLog, _("Audit rows")),
            (WebhookEvent, _("Webhook events")))]
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    @admin.display(description=_("stored credentials"))
    def stored_credentials(self, obj: Connection) -> str:
        if obj.pk is None:
            return "—"
        try:
            credentials = obj.credentials()
        except CredentialsUnreadable as exc:
            return status_badge("unreadable", str(exc), "error")
        shown = [(CREDENTIAL_LABELS.get(name, name), masked_value(value))
                 for name, value in _items(credentials)]
        if not shown:
            return str(_("none stored"))
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", shown))

    def save_model(self, request, obj, form, change):
        # The form has validated the fields (the one default per platform
        # included); the services save them.
        values = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS
                  if name in form.cleaned_data}
        if change:
            connection = connection_update(connection=obj, **values)
        else:
            connection = connection_create(platform=form.cleaned_data["platform"], **values,
                                           connected_by=request.user)
            obj.pk = connection.pk
        changes = form.credential_changes()
        if changes:
            connection_set_credentials(connection=connection, changes=changes, by=request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Operations and audit rows refer to it; a connection is disconnected, not deleted.
        return False


def _items(credentials: Credentials) -> list[tuple[str, str]]:
    plain = [(name, getattr(credentials, name)) for name in
             ("api_key", "client_id", "client_secret", "access_token", "refresh_token",
              "webhook_secret")]
    return [(name, value) for name, value in [*plain, *credentials.extra.items()] if value]
