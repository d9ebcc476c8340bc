import shutil

from fastapi.testclient import TestClient

from app.config import Settings


def test_healthy_when_the_database_answers(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_unavailable_when_the_data_dir_is_gone(client: TestClient, settings: Settings) -> None:
    shutil.rmtree(settings.data_dir)

    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


def test_unavailable_when_the_data_dir_cannot_be_written(client: TestClient, settings: Settings) -> None:
    (settings.data_dir / ".healthz").mkdir()  # the write probe cannot create its file

    assert client.get("/healthz").status_code == 503
