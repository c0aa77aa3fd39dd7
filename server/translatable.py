"""Texts marked for translation where the reader's language is not yet known.

Errors are raised deep in services that know nothing of the request; the edge that renders them
knows the reader. So a service marks its Danish text with ``N_`` and the edge translates it.
This module imports nothing of the app, so every module may use it.
"""

from __future__ import annotations

from collections.abc import Callable


class Msg(str):
    """A Danish msgid marked for translation, with its ``{name}`` parameters.

    It *is* the Danish text (so logs, tests and Danish readers see it unchanged); the edge that
    knows the reader's language calls ``in_language``. ``N_`` is its name at call sites, which
    ``pybabel extract -k N_`` collects into the catalogue beside the templates' strings.
    """

    msgid: str
    params: dict[str, object]

    def __new__(cls, msgid: str, /, **params: object) -> Msg:
        text = super().__new__(cls, msgid.format(**params) if params else msgid)
        text.msgid = msgid
        text.params = params
        return text

    @classmethod
    def joined(cls, separator: str, texts: list[str]) -> Msg:
        """``texts`` joined by ``separator``, each translated later if it is marked."""
        msgid = separator.join(f"{{t{i}}}" for i in range(len(texts)))
        return cls(msgid, **{f"t{i}": text for i, text in enumerate(texts)})

    def in_language(self, gettext: Callable[[str], str]) -> str:
        """The text in the language of ``gettext``; parameters that are ``Msg`` too, likewise."""
        if not self.params:
            return gettext(self.msgid)
        params = {
            k: v.in_language(gettext) if isinstance(v, Msg) else v for k, v in self.params.items()
        }
        try:
            return gettext(self.msgid).format(**params)
        except (KeyError, IndexError, ValueError):  # a translation with broken placeholders
            return self.msgid.format(**params)


N_ = Msg


def translated(text: str, gettext: Callable[[str], str]) -> str:
    """``text`` in the language of ``gettext`` when it is marked (``N_``); else unchanged."""
    return text.in_language(gettext) if isinstance(text, Msg) else text
