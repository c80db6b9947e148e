"""The page where a person chooses their language and time zone."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from apps.core.errors import ServiceError
from apps.core.locale import activate_for_user
from apps.core.models.preferences import known_time_zones
from apps.core.preferences import user_locale, user_preference_set


def _language_choices():
    return [("", gettext_lazy("The browser's language")), *settings.LANGUAGES]


def _time_zone_choices():
    default = _("The hub's time zone (%(zone)s)") % {"zone": settings.TIME_ZONE}
    return [("", default), *((zone, zone) for zone in sorted(known_time_zones()))]


class PreferenceForm(forms.Form):
    language = forms.ChoiceField(label=gettext_lazy("Language"), required=False)
    time_zone = forms.ChoiceField(label=gettext_lazy("Time zone"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = _language_choices()
        self.fields["time_zone"].choices = _time_zone_choices()


def _next_url(request) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return reverse("admin-preferences")


# Any signed-in user may set their own preferences (a token client's language
# comes from here too), so no model permission is asked; login is.
@login_required
@require_http_methods(["GET", "POST"])
def preferences_view(request):
    if request.method == "POST":
        # The header's language switcher posts the language alone: the other
        # choice stays as it is.
        form = PreferenceForm(request.POST)
        if form.is_valid():
            try:
                user_preference_set(
                    user=request.user,
                    language=form.cleaned_data["language"] if "language" in request.POST else None,
                    time_zone=(form.cleaned_data["time_zone"]
                               if "time_zone" in request.POST else None),
                )
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                # Confirmed in the language just chosen, not the one the request came in.
                activate_for_user(request, request.user)
                messages.success(request, _("Your preferences are saved."))
                return HttpResponseRedirect(_next_url(request))
    else:
        locale = user_locale(user=request.user)
        form = PreferenceForm(initial={"language": locale.language,
                                       "time_zone": locale.time_zone})
    context = {**admin.site.each_context(request), "title": _("Your preferences"),
               "form": form, "default_zone": settings.TIME_ZONE}
    return TemplateResponse(request, "admin/core/preferences.html", context)
