"""The demo's citizen without a tablet: her notices go by SMS through the logging adapter and
show on her citizen page ("Besked til borgeren"), where a visitator sets or clears the number;
a demo seeded before her gets her on the next seed, once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, func, select

from server.db import make_engine, make_sessionmaker
from server.demo import SMS_CITIZEN, seed_demo
from server.models import Channel, Citizen, ContactPerson, KioskDevice, Visit, VisitPlan, utcnow
from server.models.notices import CitizenNotice, NoticeChannel, SmsRecipient
from server.notices.job import NoticeJob
from server.sealing import development_keyring
from server.settings import Settings
from server.sms import LoggingSmsAdapter
from tests.conftest import Client, login
from tests.databases import transaction
from tests.notices.test_api import post


async def gerda(settings: Settings) -> int:
    """The SMS citizen's id."""
    async with transaction(settings.database_url) as session:
        found = await session.scalar(select(Citizen.id).where(Citizen.name == SMS_CITIZEN[0]))
    assert found is not None
    return found


async def remind_her(settings: Settings, citizen_id: int) -> None:
    """Run the notice job 30 minutes before her next visit, with the demo's logging adapter."""
    async with transaction(settings.database_url) as session:
        first = await session.scalar(
            select(func.min(Visit.planned_at)).where(
                Visit.citizen_id == citizen_id, Visit.planned_at > utcnow() + dt.timedelta(hours=1)
            )
        )
    assert first is not None
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        job = NoticeJob(settings, make_sessionmaker(engine), LoggingSmsAdapter())
        await job.step(first - dt.timedelta(minutes=30))
    finally:
        await engine.dispose()


async def test_demo_sms_citizen_is_reminded_by_sms_and_sees_it_on_her_page(
    client: Client, demo: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Gerda has no tablet, a number and physical visits; the job's reminder is logged as an
    SMS (number masked) and listed on her page; a visitator clears and sets the number there,
    a nurse of her team sees the list but no form."""
    citizen_id = await gerda(demo)
    async with transaction(demo.database_url) as session:
        tablets = await session.scalar(
            select(func.count(KioskDevice.id)).where(KioskDevice.citizen_id == citizen_id)
        )
        channels = set(
            await session.scalars(select(Visit.channel).where(Visit.citizen_id == citizen_id))
        )
    assert tablets == 0 and channels == {Channel.PHYSICAL}

    caplog.set_level("INFO", logger="server.sms")
    await remind_her(demo, citizen_id)
    assert "sms to ********50 sent" in caplog.text
    async with transaction(demo.database_url) as session:
        (notice,) = await session.scalars(
            select(CitizenNotice).where(CitizenNotice.citizen_id == citizen_id)
        )
    assert notice.channel is NoticeChannel.SMS and notice.sent_at is not None
    assert notice.text_da.startswith("Om lidt:")

    await login(client, "bo")
    page = await (await client.get(f"/citizens/{citizen_id}")).text()
    assert "Besked til borgeren" in page and 'id="sms-form"' not in page
    assert f'data-notice-id="{notice.id}">{notice.text_da}' in page
    assert "SMS ·" in page and "sendt" in page and "********50" in page
    log = await (await client.get(f"/api/citizens/{citizen_id}/notices")).json()
    assert [(n["channel"], n["text"]) for n in log["notices"]] == [("sms", notice.text_da)]

    await login(client, "vera")
    assert 'id="sms-form"' in await (await client.get(f"/citizens/{citizen_id}")).text()
    path = f"/api/citizens/{citizen_id}/sms-number"
    assert await post(client, path, {"phone": None}) == (
        200,
        {"citizen_id": citizen_id, "phone_masked": None},
    )
    page = await (await client.get(f"/citizens/{citizen_id}")).text()
    assert "Intet SMS-nummer." in page and 'id="sms-clear"' not in page
    status, body = await post(client, path, {"phone": "12"})
    assert status == 400 and body["error"]["code"] == "invalid_input"
    assert (await post(client, path, {"phone": "+45 87 65 43 21"}))[0] == 200
    page = await (await client.get(f"/citizens/{citizen_id}")).text()
    assert "********21" in page and 'id="sms-clear"' in page and "87 65" not in page


async def test_demo_reseed_adds_the_sms_citizen_once(demo: Settings) -> None:
    """A demo seeded before the SMS citizen existed gets her, with her number and visits."""
    citizen_id = await gerda(demo)
    async with transaction(demo.database_url) as session:
        for table in (Visit, VisitPlan, ContactPerson, SmsRecipient):
            await session.execute(delete(table).where(table.citizen_id == citizen_id))
        await session.execute(delete(Citizen).where(Citizen.id == citizen_id))
    assert not await seed_demo(demo)
    assert not await seed_demo(demo)
    async with transaction(demo.database_url) as session:
        ids = list(await session.scalars(select(Citizen.id).where(Citizen.name == SMS_CITIZEN[0])))
        assert len(ids) == 1
        phone = await session.scalar(
            select(SmsRecipient.phone).where(SmsRecipient.citizen_id == ids[0])
        )
        visits = await session.scalar(
            select(func.count(Visit.id)).where(Visit.citizen_id == ids[0])
        )
    assert phone == "+45 20 30 40 50" and visits
