"""Pure parts of the agent and the command line: answer policy, URLs, arguments."""

from __future__ import annotations

import pytest

from kiosk.__main__ import parse_args
from kiosk.agent import AgentOptions, answer_delay
from kiosk.caller import LoginFailed, csrf_token
from kiosk.signaling import ws_url
from server.signaling.messages import IncomingRing, PeerInfo

CALLER = PeerInfo(peer_id="n1", kind="staff", name="Anna Jensen", role="nurse")


def ring(auto_answer_after_s: int | None) -> IncomingRing:
    """A ring for citizen cit-1, with or without the server's auto-answer."""
    return IncomingRing(
        call_id="c1",
        citizen_id="cit-1",
        caller=CALLER,
        auto_answer_after_s=auto_answer_after_s,
        expires_in_s=45,
    )


@pytest.mark.parametrize(
    ("mode", "auto", "expected"),
    [
        ("auto", 10, 10.0),
        ("auto", None, None),
        ("always", None, 2.5),
        ("always", 10, 10.0),
        ("never", 10, None),
        ("never", None, None),
    ],
)
def test_answer_delay_follows_mode_and_server_policy(
    mode: str, auto: int | None, expected: float | None
) -> None:
    """auto answers only with consent, always answers everything, never answers nothing."""
    options = AgentOptions(answer=mode, answer_delay_s=2.5)  # type: ignore[arg-type]
    assert answer_delay(ring(auto), options) == expected


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://localhost:8080", "ws://localhost:8080/ws"),
        ("https://sv.example.dk/", "wss://sv.example.dk/ws"),
        ("https://example.dk/screenvisit", "wss://example.dk/screenvisit/ws"),
        ("ws://127.0.0.1:8099/ws", "ws://127.0.0.1:8099/ws"),
    ],
)
def test_ws_url_derives_the_socket_address(base: str, expected: str) -> None:
    """http(s) base URLs become ws(s)://…/ws; a ws URL is kept."""
    assert ws_url(base) == expected


def test_ws_url_rejects_other_schemes() -> None:
    """An ftp: or bare host is a usage error."""
    with pytest.raises(ValueError):
        ws_url("ftp://example.dk")


def test_parse_args_defaults_to_agent() -> None:
    """Without a sub-command the arguments are the agent's."""
    args = parse_args(["--server", "http://x", "--token", "demo-abc", "--answer", "always"])
    assert (args.command, args.token, args.answer, args.media) == (
        "agent",
        "demo-abc",
        "always",
        "test-pattern",
    )


def test_parse_args_call_sub_command() -> None:
    """`call` takes staff credentials, the citizen and the duration."""
    argv = ["call", "--server", "http://x", "--username", "anna", "--password", "p"]
    args = parse_args([*argv, "--citizen", "7", "--seconds", "3"])
    assert (args.command, args.username, args.citizen, args.seconds) == ("call", "anna", "7", 3.0)


def test_csrf_token_is_read_from_the_login_form() -> None:
    """The token comes from the hidden form field; a page without one fails the login."""
    assert csrf_token('<input type="hidden" name="csrf_token" value="abc123">') == "abc123"
    with pytest.raises(LoginFailed):
        csrf_token("<html></html>")
