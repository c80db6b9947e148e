"""`/api/docs/` works with no network: Swagger UI comes from our own static files."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


class _AssetCollector(HTMLParser):
    """The URLs the browser fetches to render the page: scripts, stylesheets, icons."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.urls.append(values["src"])
        elif tag == "link" and values.get("href"):
            self.urls.append(values["href"])


def _assets(client) -> tuple[list[str], str]:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    collector = _AssetCollector()
    collector.feed(page)
    return collector.urls, page


def test_it_loads_every_script_and_stylesheet_from_our_static_files(client):
    urls, _page = _assets(client)

    assert any(url.endswith("swagger-ui-bundle.js") for url in urls)
    assert any(url.endswith("swagger-ui.css") for url in urls)
    for url in urls:
        assert "://" not in url and not url.startswith("//"), url
        assert url.startswith(settings.STATIC_URL), url


def test_it_serves_assets_that_exist_among_the_static_files(client):
    urls, _page = _assets(client)

    prefix = settings.STATIC_URL
    for url in urls:
        assert finders.find(url.removeprefix(prefix)) is not None, url


def test_it_names_no_cdn_in_the_page(client):
    _urls, page = _assets(client)

    for host in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com"):
        assert host not in page
