"""Keyword rules for the support router: the decision layer's fallback when the model is unsure.

Rules are what the support team used before the model: a list of English and Spanish keywords
per team. They are transparent and never time out, but they miss every message that does not
use a known word, so :func:`route` answers ``None`` then and the decision layer sends the
message to a person.

>>> route({"text": "I was charged twice, please refund me"})
'billing'
>>> route({"text": "Quiero darme de baja"})
'cancellation'
>>> route({"text": "hello?"}) is None
True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["KEYWORDS", "route"]

# Patterns match accent-free lower-case text, so "facturación" and "facturacion" are one word.
# Order breaks ties: a message that asks to cancel and mentions a refund is a cancellation, and
# one that asks for documentation about the API is a general question.
KEYWORDS: Final[dict[str, tuple[str, ...]]] = {
    "cancellation": (
        r"cancel\w*",
        r"unsubscrib\w*",
        r"terminat\w*",
        r"close (my|our|the) account",
        r"delete (my|our) account",
        r"(do not|don'?t|not) renew",
        r"end (my|our) (subscription|contract|membership)",
        r"dar(me|nos)? de baja",
        r"cerrar (mi|nuestra) cuenta",
        r"cierren",
        r"borr(en|ar) (mi|nuestra) cuenta",
        r"no (quiero )?renovar",
        r"rescision",
    ),
    "billing": (
        r"charg\w*",
        r"overcharg\w*",
        r"refund\w*",
        r"invoice\w*",
        r"bill(ed|ing)?",
        r"receipts?",
        r"payments?",
        r"paid",
        r"prices?",
        r"vat",
        r"tax\w*",
        r"discount\w*",
        r"debit\w*",
        r"fees?",
        r"money back",
        r"cobr\w*",
        r"cargos?",
        r"reembols\w*",
        r"factura\w*",
        r"recibos?",
        r"pagos?",
        r"precio\w*",
        r"iva",
        r"impuesto\w*",
        r"descuento\w*",
        r"devuelvan",
    ),
    "general": (
        r"opening hours",
        r"sales",
        r"documentation",
        r"docs",
        r"webinars?",
        r"office",
        r"suggest\w*",
        r"feature request",
        r"partner\w*",
        r"training",
        r"roadmap",
        r"demo",
        r"guide",
        r"hiring",
        r"horario",
        r"ventas",
        r"documentacion",
        r"oficina",
        r"sugerir",
        r"formacion",
        r"guia",
    ),
    "technical": (
        r"errors?",
        r"crash\w*",
        r"bugs?",
        r"broken",
        r"not working",
        r"stopped working",
        r"freez\w*",
        r"(won'?t|doesn'?t|does not) load",
        r"loading",
        r"log ?in",
        r"sign in",
        r"password",
        r"sync\w*",
        r"upload\w*",
        r"export\w*",
        r"api",
        r"timeout",
        r"install\w*",
        r"blank screen",
        r"notifications?",
        r"falla\w*",
        r"fallo",
        r"se cierra",
        r"no funciona",
        r"no carga",
        r"iniciar sesion",
        r"contrasena",
        r"sincroniza\w*",
        r"se congela",
        r"exportacion",
    ),
}

_PATTERNS: Final[dict[str, tuple[re.Pattern[str], ...]]] = {
    label: tuple(re.compile(rf"\b{p}\b") for p in patterns) for label, patterns in KEYWORDS.items()
}


def route(inputs: Mapping[str, Any]) -> str | None:
    """Route one message by keywords: the team with the most distinct keyword hits, or None.

    Only ``inputs["text"]`` is read; a missing or non-string text answers ``None``.
    """
    text = inputs.get("text")
    if not isinstance(text, str) or not text.strip():
        return None
    plain = _plain(text)
    best, best_hits = None, 0
    for label, patterns in _PATTERNS.items():
        hits = sum(1 for pattern in patterns if pattern.search(plain))
        if hits > best_hits:
            best, best_hits = label, hits
    return best


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
