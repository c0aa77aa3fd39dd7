"""Call links for relatives: refused without the organisation's setting or the citizen's call
consent (409 with a clear code), made with both; the link's page offers "Ring til Karen" and
never shows the agreements; the page refuses plainly once the setting is off again."""

from __future__ import annotations

from server.settings import Settings
from tests.conftest import Client
from tests.meetings.relative_call import (
    allow_calls,
    call_consent,
    ida,
    make_call_link,
)


async def test_call_link_needs_the_setting_and_the_consent(client: Client, demo: Settings) -> None:
    """Setting off: relative_calls_off; no consent: relative_no_consent; both: a link."""
    relative = await ida(demo)
    status, refused = await make_call_link(client, relative)
    assert (status, refused["error"]["code"]) == (409, "relative_calls_off")
    await allow_calls(client)
    status, refused = await make_call_link(client, relative)
    assert (status, refused["error"]["code"]) == (409, "relative_no_consent")
    await call_consent(client, relative)
    status, link = await make_call_link(client, relative)
    assert status == 201 and link["purpose"] == "call", link
    path = "/r/" + str(link["url"]).rsplit("/", 1)[1]
    client.session.cookie_jar.clear()  # the relative has no account
    response = await client.get(path)
    html = await response.text()
    assert response.status == 200 and "Ring til Karen" in html
    assert "Du tager selv din medicin" not in html  # a call link is not the agreements
    await allow_calls(client, on=False)
    client.session.cookie_jar.clear()
    response = await client.get(path)
    html = await response.text()
    assert response.status == 403 and "Ring til Karen" not in html
