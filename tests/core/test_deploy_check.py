"""With production values, `manage.py check --deploy` reports nothing
(the OpenAPI schema included: drf-spectacular's warnings count)."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_it_passes_the_deploy_check_with_production_settings(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = "x" * 30 + "production-like-secret-key-with-enough-entropy-0123456789"
    settings.SECURE_SSL_REDIRECT = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    call_command("check", deploy=True, fail_level="WARNING")
