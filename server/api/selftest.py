"""``POST /api/selftest/offer``: the tablet's offer in, the echo peer's answer out."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from ..auth.devices import require_device
from ..keys import sessionmaker_key, settings_key
from ..media.selftest import selftest_key
from ..turn import ice_servers_for
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="selftest")


class SelfTestOffer(WireModel):
    """A complete (non-trickle) offer from the tablet."""

    type: Literal["offer"] = "offer"
    sdp: Annotated[str, Field(min_length=1, max_length=32 * 1024)]


class SelfTestAnswer(WireModel):
    """The echo peer's complete answer."""

    type: Literal["answer"] = "answer"
    sdp: str


@api.post(
    "/api/selftest/offer",
    body=SelfTestOffer,
    response=SelfTestAnswer,
    summary="Start a media loopback self-test (device token as bearer)",
    public=True,
)
async def selftest_offer(request: web.Request, body: SelfTestOffer) -> SelfTestAnswer:
    """Answer with a peer that sends the tablet's media straight back."""
    async with request.app[sessionmaker_key]() as session:
        owner = await require_device(request, session)
    ice = ice_servers_for(request.app[settings_key], f"selftest-{owner.kiosk_id}")
    sdp = await request.app[selftest_key].answer(body.sdp, ice)
    return SelfTestAnswer(sdp=sdp)
