"""Operations endpoints and cross-cutting HTTP behaviour of the real server."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel

from server.settings import Settings
from tests.conftest import Client, login


async def test_healthz_answers_ok(client: Client) -> None:
    """/healthz is 200 while the process runs."""
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_readyz_checks_database(client: Client) -> None:
    """/readyz reports the database check."""
    response = await client.get("/readyz")
    assert response.status == 200
    assert (await response.json())["checks"] == {"database": True}


async def test_readyz_fails_when_database_is_gone(aiohttp_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An unreachable database makes /readyz 503, not 500."""
    from server.app import create_app

    settings = Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["checks"]["database"] is False


async def test_metrics_parse_as_prometheus_text(client: Client) -> None:
    """/metrics is valid Prometheus text and counts requests."""
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status == 200
    families = {f.name: f for f in text_string_to_metric_families(await response.text())}
    samples = families["screenvisit_http_requests"].samples
    assert any(s.labels.get("route") == "/healthz" and s.value >= 1 for s in samples)


async def test_metrics_need_the_token_when_one_is_set(
    aiohttp_client: Any, settings: Settings
) -> None:
    """With METRICS_TOKEN set, /metrics answers only a scraper that sends it (else 404)."""
    import dataclasses

    from server.app import create_app

    client = await aiohttp_client(create_app(dataclasses.replace(settings, metrics_token="s3")))
    assert (await client.get("/metrics")).status == 404
    assert (await client.get("/metrics", headers={"Authorization": "Bearer no"})).status == 404
    assert (await client.get("/metrics", headers={"Authorization": "Bearer s3"})).status == 200


async def test_metrics_without_a_token_only_for_this_machine(
    aiohttp_client: Any, settings: Settings
) -> None:
    """Without a token a client elsewhere (seen through a trusted proxy) gets 404."""
    import dataclasses

    from server.app import create_app

    proxied = dataclasses.replace(settings, trusted_proxies=("127.0.0.1",))
    client = await aiohttp_client(create_app(proxied))
    outside = {"X-Forwarded-For": "203.0.113.5"}
    assert (await client.get("/metrics", headers=outside)).status == 404
    assert (await client.get("/metrics")).status == 200


async def test_openapi_document_is_valid(client: Client) -> None:
    """/api/openapi.json is a valid OpenAPI 3.1 document listing the JSON routes."""
    response = await client.get("/api/openapi.json")
    document = await response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert "/api/citizens/{citizen_id}" in document["paths"]
    assert "ErrorResponse" in document["components"]["schemas"]


async def test_security_headers_on_every_response(client: Client) -> None:
    """Pages, API errors and static files carry CSP, nosniff, referrer policy, no framing."""
    for path in ("/login", "/api/nope", "/static/css/app.css"):
        headers = (await client.get(path)).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        # The socket goes to this server only, never to another host.
        assert "connect-src 'self';" in headers["Content-Security-Policy"]
        # Health data is never cached; static files may be.
        assert (headers.get("Cache-Control") == "no-store") is not path.startswith("/static/")


async def test_unknown_route_json_and_html(client: Client) -> None:
    """Unknown routes get a JSON error for the API and a friendly page for people."""
    api = await client.get("/api/nothing-here")
    assert api.status == 404
    assert await api.json() == {"error": {"code": "not_found", "message": "Det findes ikke."}}
    english = await client.get("/api/nothing-here", headers={"Accept-Language": "en"})
    assert (await english.json())["error"]["message"] == "That does not exist."
    page = await client.get("/nothing-here", headers={"Accept": "text/html"})
    assert page.status == 404
    text = await page.text()
    assert "Siden findes ikke" in text and "Traceback" not in text


async def test_wrong_method_is_405_json(client: Client) -> None:
    """A wrong method gets a stable code, not a traceback."""
    response = await client.delete("/api/me", headers={"X-CSRF-Token": "x"})
    assert response.status in {403, 405}
    assert "error" in await response.json()


async def test_pages_redirect_to_login(client: Client) -> None:
    """An anonymous visit to a staff page is sent to the login page."""
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login?next=%2F"


async def test_json_api_requires_login(client: Client) -> None:
    """The JSON API answers 401 with a code, never a redirect."""
    response = await client.get("/api/me")
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "not_authenticated"


async def test_json_body_validation_errors(client: Client, demo: Settings) -> None:
    """Wrong content type → 415, malformed JSON or bad fields → 400 with details, good → 200."""
    await login(client, "anna")
    csrf = (await (await client.get("/api/me")).json())["csrf_token"]
    headers = {"X-CSRF-Token": csrf}
    url = "/api/me/language"
    wrong_type = await client.post(url, data="language=en", headers=headers)
    assert wrong_type.status == 415
    assert (await wrong_type.json())["error"]["code"] == "unsupported_media_type"
    malformed = await client.post(
        url, data="{not json", headers={**headers, "Content-Type": "application/json"}
    )
    assert malformed.status == 400
    assert (await malformed.json())["error"]["code"] == "invalid_input"
    bad_field = await client.post(url, json={"language": "fr"}, headers=headers)
    assert (await bad_field.json())["error"]["details"][0]["loc"] == ["language"]
    extra = await client.post(url, json={"language": "en", "admin": True}, headers=headers)
    assert extra.status == 400
    good = await client.post(url, json={"language": "en"}, headers=headers)
    assert good.status == 200 and (await good.json())["language"] == "en"


async def test_oversized_body_is_413(client: Client, demo: Settings) -> None:
    """A body over the limit is refused with payload_too_large and nothing is written."""
    page = await client.get("/login")
    big = "x" * (300 * 1024)
    response = await client.post(
        "/login", data={"username": big, "password": "p"}, headers={"Accept": "application/json"}
    )
    assert page.status == 200
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "payload_too_large"


async def test_malformed_login_form_is_400(client: Client, demo: Settings) -> None:
    """A login form with missing fields is a clear 400 page."""
    page = await client.get("/login")
    from tests.conftest import csrf_from

    token = csrf_from(await page.text())
    response = await client.post("/login", data={"csrf_token": token, "username": ""})
    assert response.status == 400
    assert "Udfyld brugernavn og adgangskode" in await response.text()


async def test_readyz_checks_redis_when_configured(aiohttp_client, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """With Redis configured, /readyz asks the real Redis; a dead Redis makes it 503."""
    import dataclasses

    from server.app import create_app
    from tests.databases import redis_reachable

    url = "redis://127.0.0.1:6379/0"
    if not await redis_reachable(url):
        from tests.databases import missing_service

        missing_service("Redis at 127.0.0.1:6379")
    client = await aiohttp_client(create_app(dataclasses.replace(settings, redis_url=url)))
    ready = await client.get("/readyz")
    assert (await ready.json())["checks"] == {"database": True, "redis": True}
    dead = dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0")
    client = await aiohttp_client(create_app(dead))
    response = await client.get("/readyz")
    assert response.status == 503 and (await response.json())["checks"]["redis"] is False


def test_openapi_models_sharing_a_name_get_distinct_refs() -> None:
    """Two response models with one class name must not collapse onto one $ref."""
    from pydantic import BaseModel

    from server.api.openapi import build_openapi
    from server.api.spec import ApiRoutes

    def model(field: str) -> type[BaseModel]:
        return type("Row", (BaseModel,), {"__annotations__": {field: int}, "__module__": field})

    first, second = ApiRoutes(tag="a"), ApiRoutes(tag="b")
    first.get("/a", response=model("alpha"), summary="a")(_never)
    second.get("/b", response=model("beta"), summary="b")(_never)
    document = build_openapi([first, second], "test")
    validate(document)
    refs = {
        p: d["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        for p, d in document["paths"].items()
    }
    assert refs["/a"] != refs["/b"]


async def _never(request: object) -> BaseModel:
    raise AssertionError("not called")


def test_openapi_path_parameters_with_braces_in_patterns() -> None:
    """aiohttp patterns such as \\d{4} do not confuse the parameter list."""
    from server.api.spec import path_parameters

    path, params = path_parameters(r"/p/{plan_id:\d+}/changes/{date:\d{4}-\d{2}-\d{2}}")
    assert path == "/p/{plan_id}/changes/{date}"
    assert [(p["name"], p["schema"]["type"]) for p in params] == [
        ("plan_id", "integer"),
        ("date", "string"),
    ]
