import pytest


@pytest.mark.django_db
def test_it_answers_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json()["database"] == "ok"
