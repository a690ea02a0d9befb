"""Robustness perturbations: realistic, label-preserving changes to one input record.

A robust model answers a message the same way whether it is typed in capitals, padded with
a greeting, cut short or sprinkled with emoji. Each *family* below is one such change; the
evaluation compares a model's answers on the original and the perturbed copies
(``robustness.invariance``) and scores the copies against the original labels
(``robustness.accuracy``).

Text families: ``typos, casing, punctuation, whitespace, truncation, long_input, emoji,
mixed_language``; they change only the text field. ``drop_optional`` removes the optional
fields. For numbers and categories (:mod:`liveops.core.evaluation.perturb_tabular`):
``numeric_noise, missing_value, out_of_range, unit_mistake, unseen_category``; they need the
columns' reference (``columns=``). All of them return a new dict and never touch the input.
Randomness comes from the ``random.Random`` passed in, so a seed fixes every copy.

>>> import random
>>> rec = {"text": "My invoice shows the wrong amount", "channel": "email", "label": "billing"}
>>> perturb(rec, "truncation", random.Random(0))["text"]
'My invoice shows the wrong'
>>> perturb(rec, "drop_optional", random.Random(0), optional_fields=["channel"])
{'text': 'My invoice shows the wrong amount', 'label': 'billing'}
>>> sorted(perturb_all([rec], ["truncation", "emoji"], seed=7))
['emoji', 'truncation']
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from liveops.core.evaluation.perturb_tabular import (
    TABULAR_FAMILIES,
    ColumnReference,
    perturb_record,
)
from liveops.errors import UsageError

__all__ = ["FAMILIES", "TEXT_FAMILIES", "perturb", "perturb_all"]

TEXT_FAMILIES: tuple[str, ...] = (
    "typos",
    "casing",
    "punctuation",
    "whitespace",
    "truncation",
    "long_input",
    "emoji",
    "mixed_language",
)
FAMILIES: tuple[str, ...] = (*TEXT_FAMILIES, "drop_optional", *TABULAR_FAMILIES)

# Letters only (any script), so digits, card numbers and codes are never "misspelt".
_WORD = re.compile(r"[^\W\d_]{3,}")
_PUNCT = re.compile(r"[!?.,;:¡¿…]")
_SPACE = re.compile(r" ")

# Neutral padding: pleasantries that say nothing about the topic of the message.
_OPENERS: tuple[str, ...] = (
    "Hello,",
    "Hi there,",
    "Good morning,",
    "Dear support team,",
    "Hello team, I hope you are doing well.",
)
_FILLERS: tuple[str, ...] = (
    "I hope you are having a good day.",
    "Thank you in advance for your time.",
    "I look forward to hearing from you.",
    "Please let me know if you need anything else from me.",
    "Thanks again for your help with this.",
    "I appreciate you taking a look.",
    "Have a nice day.",
)
_SIGNATURES: tuple[str, ...] = (
    "Best regards,\nAlex",
    "Kind regards,\nSam Taylor",
    "Thanks,\nJordan\nSent from my phone",
    "Cheers,\nMaria",
)
_EMOJI: tuple[str, ...] = ("🙂", "🙏", "😅", "👍", "🤔", "😊", "😩", "💬", "✨", "😬")
# Greetings and courtesy words only: a topic word would change the meaning, not the language.
_MIXED_WORDS: tuple[str, ...] = (
    "hola",
    "gracias",
    "por favor",
    "bueno",
    "vale",
    "pues",
    "thanks",
    "please",
    "hello",
    "ok",
)


def perturb(
    record: Mapping[str, Any],
    family: str,
    rng: random.Random,
    *,
    text_field: str | None = "text",
    optional_fields: Sequence[str] = (),
    columns: Mapping[str, ColumnReference] | None = None,
) -> dict[str, Any]:
    """Return a perturbed copy of ``record`` for one family; the input is never changed.

    ``optional_fields`` names the non-text fields that ``drop_optional`` removes (the text
    field is never dropped). A record without a string text (or ``text_field=None``) is
    returned as a plain copy by the text families, so bad rows do not crash an evaluation.
    ``columns`` are the numeric and categorical model inputs with their reference, for the
    tabular families (without them those families change nothing).

    >>> import random
    >>> perturb({"text": "cancel my plan please now"}, "truncation", random.Random(1))
    {'text': 'cancel my plan please'}
    >>> try:
    ...     perturb({"text": "hi"}, "sarcasm", random.Random(1))
    ... except UsageError as exc:
    ...     print(exc.message)
    unknown perturbation family 'sarcasm'; valid families: typos, casing, punctuation, \
whitespace, truncation, long_input, emoji, mixed_language, drop_optional, numeric_noise, \
missing_value, out_of_range, unit_mistake, unseen_category
    """
    if family in TABULAR_FAMILIES:
        return perturb_record(record, family, rng, columns or {})
    change = _TEXT_FAMILIES.get(family)
    if change is None and family != "drop_optional":
        raise _unknown(family)
    # Lists (tags) are copied too, so changing a copy never changes the original.
    out = {k: list(v) if isinstance(v, list) else v for k, v in record.items()}
    if family == "drop_optional":
        for name in optional_fields:
            if name != text_field:
                out.pop(name, None)
        return out
    text = out.get(text_field) if text_field is not None else None
    if text_field is not None and isinstance(text, str) and change is not None:
        out[text_field] = change(text, rng)
    return out


def perturb_all(
    records: Sequence[Mapping[str, Any]],
    families: Sequence[str],
    seed: int,
    *,
    text_field: str | None = "text",
    optional_fields: Sequence[str] = (),
    columns: Mapping[str, ColumnReference] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Perturb every record with every family: ``{family: [copy per record, in order]}``.

    Each family draws from its own generator seeded by ``(seed, family)``, so a family's
    copies do not depend on which other families are asked for.

    >>> out = perturb_all([{"text": "the app crashes on login"}], ["whitespace"], seed=7)
    >>> out == perturb_all([{"text": "the app crashes on login"}], ["whitespace"], seed=7)
    True
    """
    for family in families:
        if family not in FAMILIES:
            raise _unknown(family)
    result: dict[str, list[dict[str, Any]]] = {}
    for family in families:
        # A string seed is hashed with SHA-512 by `random`, so it is stable across processes.
        rng = random.Random(f"{seed}:{family}")
        result[family] = [
            perturb(
                rec,
                family,
                rng,
                text_field=text_field,
                optional_fields=optional_fields,
                columns=columns,
            )
            for rec in records
        ]
    return result


def _unknown(family: str) -> UsageError:
    return UsageError(
        f"unknown perturbation family {family!r}; valid families: {', '.join(FAMILIES)}",
        hint="fix the name under robustness.perturbations in the suite file",
    )


# --- the text families -------------------------------------------------------------------


def _typos(text: str, rng: random.Random) -> str:
    """Swap, drop or double a letter in about one word in ten (at least one word)."""
    spans = [m.span() for m in _WORD.finditer(text)]
    if not spans:
        return text
    k = max(1, round(len(spans) * 0.1))
    chosen = sorted(rng.sample(spans, k))
    pieces: list[str] = []
    last = 0
    for start, end in chosen:
        pieces.append(text[last:start])
        pieces.append(_misspell(text[start:end], rng))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _misspell(word: str, rng: random.Random) -> str:
    # Keep the first letter: people rarely mistype it, and it keeps the word recognisable.
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(3)
    if op == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _casing(text: str, rng: random.Random) -> str:
    mode = rng.randrange(3)
    if mode == 0:
        return text.upper()
    if mode == 1:
        return text.lower()
    return "".join(c.swapcase() if rng.random() < 0.3 else c for c in text)


def _punctuation(text: str, rng: random.Random) -> str:
    if _PUNCT.search(text) and rng.random() < 0.5:
        return _PUNCT.sub("", text)
    words = text.split(" ")
    # A stray comma or two inside, and an emphatic ending.
    for _ in range(min(2, max(0, len(words) - 1))):
        i = rng.randrange(len(words) - 1)
        if words[i] and words[i][-1].isalnum():
            words[i] += ","
    return " ".join(words).rstrip(".!? ") + rng.choice(("!!!", "???", "...", "?!", " ."))


def _whitespace(text: str, rng: random.Random) -> str:
    def widen(_: re.Match[str]) -> str:
        return rng.choice(("  ", "   ", "\t", "\n", " \n ")) if rng.random() < 0.3 else " "

    return rng.choice(("", " ", "\n", "  ")) + _SPACE.sub(widen, text) + rng.choice(("", " ", "\n"))


def _truncation(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) <= 3:
        return text
    keep = max(3, math.ceil(len(words) * 0.7))
    return " ".join(words[:keep])


def _long_input(text: str, rng: random.Random) -> str:
    # Pad to at least three times the length (and a few sentences) with neutral text, the way
    # a long email wraps a one-line request in a greeting, pleasantries and a signature.
    target = max(3 * len(text), 200)
    body = text.rstrip()
    if body and body[-1].isalnum():
        body += "."
    fillers = rng.sample(_FILLERS, len(_FILLERS))
    parts = [body]
    size = len(body)
    i = 0
    while size < target:
        filler = fillers[i % len(fillers)]
        parts.append(filler)
        size += len(filler) + 1
        i += 1
    return "\n".join([rng.choice(_OPENERS), " ".join(parts), "", rng.choice(_SIGNATURES)])


def _insert_words(text: str, rng: random.Random, pool: Sequence[str], count: int) -> str:
    words = text.split(" ")
    for _ in range(count):
        words.insert(rng.randrange(len(words) + 1), rng.choice(pool))
    return " ".join(words)


def _emoji(text: str, rng: random.Random) -> str:
    return _insert_words(text, rng, _EMOJI, rng.randint(1, 3))


def _mixed_language(text: str, rng: random.Random) -> str:
    return _insert_words(text, rng, _MIXED_WORDS, rng.randint(1, 3))


_TEXT_FAMILIES: dict[str, Callable[[str, random.Random], str]] = {
    "typos": _typos,
    "casing": _casing,
    "punctuation": _punctuation,
    "whitespace": _whitespace,
    "truncation": _truncation,
    "long_input": _long_input,
    "emoji": _emoji,
    "mixed_language": _mixed_language,
}
