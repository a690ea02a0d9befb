"""A seeded generator of realistic, labelled customer-support messages for the demo.

Each record is ``{"text", "channel", "plan", "language", "tags", "label"}``. Messages are
built from the phrase pools in :mod:`liveops.demo.vocab`, then roughened the way real
messages are: greetings and signatures, background sentences that name other teams' words,
typos, lower-case chat, dropped Spanish accents, mixed languages, and about 3 % wrong labels
(as human routing produces). Vague messages carry no topic at all, so no model gets them all.

Four fixed worlds (``mode``):

- ``normal``: the world the demo models are trained and evaluated in;
- ``covariate_shift``: more Spanish, shorter messages, more chat; same labels and meaning;
- ``new_world``: a product launch ("Orbit") appears in messages, and a label the old models
  never saw, ``account_security``, takes a share of traffic;
- ``spanish_market``: support opens to a Spanish-speaking market: 40 % of messages are Spanish,
  written as on normal days (lengths, channels and labels unchanged). The demo's rollouts run
  on it.

>>> data = generate(seed=0, n_train=200, n_eval=100)
>>> len(data.train), len(data.eval), len(data.must_pass) >= 40
(200, 100, True)
>>> sorted(data.eval[0])
['channel', 'label', 'language', 'plan', 'tags', 'text']
>>> generate_records(5, seed=3) == generate_records(5, seed=3)
True
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal

from liveops.demo import vocab
from liveops.errors import UsageError

__all__ = [
    "MODES",
    "DemoData",
    "Mode",
    "calibration_records",
    "generate",
    "generate_records",
    "must_pass_records",
]

Mode = Literal["normal", "covariate_shift", "new_world", "spanish_market"]
MODES: Final[tuple[str, ...]] = ("normal", "covariate_shift", "new_world", "spanish_market")


@dataclass(frozen=True)
class DemoData:
    """The demo's three data sets: training, evaluation, and must-pass cases (no noise)."""

    train: list[dict[str, Any]]
    eval: list[dict[str, Any]]
    must_pass: list[dict[str, Any]]


@dataclass(frozen=True)
class _World:
    """Fixed parameters of one mode: language, length and channel mix, new topics."""

    spanish: float
    mixed: float
    short: float
    long: float
    channels: tuple[float, float, float, float]  # email, chat, phone, web
    launch: float = 0.0
    security: float = 0.0


_CHANNELS: Final = ("email", "chat", "phone", "web")
_PLANS: Final = ("free", "pro", "enterprise")
_PLAN_WEIGHTS: Final = (0.5, 0.35, 0.15)
_PLAN_ES: Final = {"free": "gratuito"}
_LABEL_WEIGHTS: Final = (0.30, 0.34, 0.14, 0.22)  # billing, technical, cancellation, general

_WORLDS: Final[dict[str, _World]] = {
    "normal": _World(spanish=0.13, mixed=0.06, short=0.12, long=0.12, channels=(35, 30, 10, 25)),
    "covariate_shift": _World(
        spanish=0.45, mixed=0.10, short=0.35, long=0.03, channels=(15, 60, 10, 15)
    ),
    "new_world": _World(
        spanish=0.13,
        mixed=0.06,
        short=0.12,
        long=0.12,
        channels=(35, 30, 10, 25),
        launch=0.35,
        security=0.12,
    ),
    "spanish_market": _World(
        spanish=0.40, mixed=0.06, short=0.12, long=0.12, channels=(35, 30, 10, 25)
    ),
}


# Share of typo'd messages typed in a hurry (half the words hit) rather than with a slip or two.
_SLOPPY: Final = 0.4


@dataclass(frozen=True)
class _Style:
    """How people of one language write here: shares of each kind of message, and noise."""

    vague: float
    confuser: float
    indirect: float
    niche: float
    typo: float
    label_noise: float
    strip_accents: float = 0.0


# The shares behind the demo's numbers (tests/demo/test_data.py pins the profile):
# - English messages often name one rare, specific term ("niche"): a model with a small
#   vocabulary (v1) misses those, a model with rare words and character n-grams (v2) does not;
# - Spanish messages are harder for every model: more are vague, more are mislabelled (the
#   Spanish queue had fewer reviewers) and accents are often dropped. v1 is weaker in Spanish,
#   and a model trained on little Spanish (v2) much weaker.
_STYLES: Final[dict[str, _Style]] = {
    "en": _Style(
        vague=0.01, confuser=0.08, indirect=0.14, niche=0.28, typo=0.22, label_noise=0.025
    ),
    "es": _Style(
        vague=0.16,
        confuser=0.08,
        indirect=0.12,
        niche=0.04,
        typo=0.20,
        label_noise=0.05,
        strip_accents=0.3,
    ),
}


def generate(
    seed: int = 0,
    *,
    n_train: int = 6000,
    n_eval: int = 2400,
    mode: Mode = "normal",
) -> DemoData:
    """Generate training and evaluation sets from ``mode``'s world, plus the must-pass cases.

    Training and evaluation are independent draws from the same world, and never the same
    draws as :func:`generate_records` (live traffic). The same seed gives the same data. The
    must-pass cases are fixed, whatever the seed or mode.
    """
    return DemoData(
        train=_records(n_train, f"{seed}:train", mode),
        eval=_records(n_eval, f"{seed}:eval", mode),
        must_pass=must_pass_records(),
    )


def generate_records(n: int, seed: int, mode: Mode = "normal") -> list[dict[str, Any]]:
    """Generate ``n`` labelled messages from ``mode``'s world, e.g. as live traffic.

    >>> shifted = generate_records(1000, seed=5, mode="covariate_shift")
    >>> sum(r["language"] == "es" for r in shifted)
    450
    """
    return _records(n, f"{seed}:live", mode)


def calibration_records(seed: int = 0, n: int = 20_000) -> list[dict[str, Any]]:
    """A labelled calibration set for the label-free estimate: ``n`` normal-mode messages,
    independent of the training, evaluation and live draws of the same seed.

    Large enough that each language and length band gets calibration maps of its own (the
    2,400 evaluation cases leave the Spanish bands too small), and that the smallest band,
    short Spanish messages (under 2 % of normal traffic, over 20 % under covariate shift), has
    about 380 cases: with 10,000 messages its 190 cases made the calibration draw, not the
    shift, the estimate's largest error (tests/demo/test_estimate_honesty.py).

    >>> len(calibration_records(0, n=50))
    50
    """
    return _records(n, f"{seed}:calibration", "normal")


def must_pass_records() -> list[dict[str, Any]]:
    """The must-pass cases: clearly worded, correctly labelled, English and Spanish."""
    rows = [line.split("|", 1) for line in _MUST_PASS.strip().splitlines()]
    return [
        {
            "text": text.strip(),
            "channel": _CHANNELS[i % len(_CHANNELS)],
            "plan": _PLANS[i % len(_PLANS)],
            "language": head.split()[1],
            "tags": ["spanish"] if head.split()[1] == "es" else [],
            "label": head.split()[0],
        }
        for i, (head, text) in enumerate(rows)
    ]


def _records(n: int, stream: str, mode: str) -> list[dict[str, Any]]:
    world = _WORLDS.get(mode)
    if world is None:
        raise UsageError(
            f"unknown demo mode {mode!r}; valid modes: {', '.join(_WORLDS)}",
            hint="use normal, covariate_shift or new_world",
        )
    # A string seed is hashed by `random` with SHA-512: stable across processes and versions.
    rng = random.Random(f"liveops-demo:{mode}:{stream}")
    # An exact Spanish share (not a coin per record) keeps every Spanish slice large enough.
    spanish = set(rng.sample(range(n), round(n * world.spanish)))
    return [_record(rng, world, "es" if i in spanish else "en") for i in range(n)]


# --- one record ----------------------------------------------------------------------------


def _record(rng: random.Random, world: _World, lang: str) -> dict[str, Any]:
    style = _STYLES[lang]
    channel = rng.choices(_CHANNELS, world.channels)[0]
    plan = rng.choices(_PLANS, _PLAN_WEIGHTS)[0]
    if world.security and rng.random() < world.security:
        label = vocab.NEW_LABEL
    else:
        label = rng.choices(vocab.LABELS, _LABEL_WEIGHTS)[0]
    # Chat boxes get short messages more often; email gets the long ones.
    size = rng.random()
    short = size < world.short * (2.0 if channel == "chat" else 0.6)
    long = size > 1.0 - world.long * (2.0 if channel == "email" else 0.5)
    own = {"plan": plan if lang == "en" else _PLAN_ES.get(plan, plan)}
    kind = _kind(rng, style)
    tags = ["vague"] if kind == "vague" else []
    template = _template(rng, world, lang, label, kind, short)
    if "{term}" in template:
        own["term"] = rng.choice(vocab.NICHE_TERMS[lang][label])
    core = _fill(template, lang, rng, own)

    angry = rng.random() < (0.22 if label in ("billing", "cancellation") else 0.10)
    greeting, parts = "", [core]
    if not short:
        greeting, parts = _body(rng, lang, channel, own, core, long=long, world=world)
    if angry:
        tags.append("angry")
        if short:
            parts = [core.upper() + "!!"]
        else:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(vocab.ANGRY[lang]))
    if rng.random() < world.mixed:
        parts = _mix_languages(rng, lang, parts)
        tags.append("mixed_language")
    text = " ".join(parts)
    if channel == "email" and (greeting or len(parts) > 1) and rng.random() < 0.6:
        text += "\n\n" + _fill(rng.choice(vocab.SIGNOFFS[lang]), lang, rng)
    if greeting:
        text = greeting + ("\n" if channel == "email" else " ") + text

    text = _surface(rng, style, channel, lang, text, tags, angry=angry)
    if lang == "es":
        tags.append("spanish")
    if len(text) < 30:
        tags.append("short")
    elif len(text) >= 200:
        tags.append("long")
    # Routing by people is not perfect: a few labels are simply wrong.
    if rng.random() < style.label_noise:
        label = rng.choice([x for x in vocab.LABELS if x != label])
    return {
        "text": text,
        "channel": channel,
        "plan": plan,
        "language": lang,
        "tags": sorted(tags),
        "label": label,
    }


def _surface(
    rng: random.Random,
    style: _Style,
    channel: str,
    lang: str,
    text: str,
    tags: list[str],
    *,
    angry: bool,
) -> str:
    """How a message looks as typed: typos, casing, stripped accents, a phone transcript."""
    u = rng.random()
    if u < style.typo:
        noisy = _typos(rng, text, rate=0.5 if u < style.typo * _SLOPPY else 0.15)
        if noisy != text:
            text = noisy
            tags.append("typo")
    text = _casing(rng, channel, angry, text)
    if lang == "es" and rng.random() < style.strip_accents:
        text = _strip_accents(text)
    if channel == "phone":
        # Phone notes are an agent's transcript: lower case, little punctuation.
        text = rng.choice(("caller says ", "customer called: ", "")) + _flatten(text)
    return text


def _kind(rng: random.Random, style: _Style) -> str:
    u = rng.random()
    for kind, share in (
        ("vague", style.vague),
        ("confuser", style.confuser),
        ("indirect", style.indirect),
        ("niche", style.niche),
    ):
        if u < share:
            return kind
        u -= share
    return "core"


def _template(
    rng: random.Random, world: _World, lang: str, label: str, kind: str, short: bool
) -> str:
    """Pick the request's template: what kind of message this is decides the pool."""
    if kind == "vague":
        return rng.choice(vocab.VAGUE[lang])
    if label == vocab.NEW_LABEL:
        return rng.choice(vocab.SECURITY[lang])
    if world.launch and rng.random() < world.launch * 0.5:
        return rng.choice(vocab.LAUNCH_CORE[lang][label])
    if kind == "niche":
        return rng.choice(vocab.NICHE_FRAMES[lang])
    if short:
        return rng.choice(vocab.SHORT[lang][label])
    pools = {"core": vocab.CORE, "indirect": vocab.INDIRECT, "confuser": vocab.CONFUSER}
    return rng.choice(pools[kind][lang][label])


def _body(
    rng: random.Random,
    lang: str,
    channel: str,
    own: dict[str, str],
    core: str,
    *,
    long: bool,
    world: _World,
) -> tuple[str, list[str]]:
    """A greeting (or "") and the sentences of a message around its request."""
    greeting = ""
    if channel in ("email", "web") and rng.random() < (0.8 if channel == "email" else 0.3):
        greeting = rng.choice(vocab.GREETINGS[lang])
    n_context = rng.randint(2, 3) if long else int(rng.random() < 0.35)
    context = [_fill(c, lang, rng, own) for c in rng.sample(vocab.CONTEXT[lang], n_context)]
    if world.launch and rng.random() < world.launch:
        context.append(rng.choice(vocab.LAUNCH[lang]))
    # Background goes before or after the request, as people write it.
    split = rng.randint(0, len(context))
    parts = [*context[:split], core, *context[split:]]
    if long:
        parts += rng.sample(vocab.PLEASANTRIES[lang], 2)
    elif rng.random() < 0.3:
        parts.append(rng.choice(vocab.PLEASANTRIES[lang]))
    return greeting, parts


# --- template filling and noise -------------------------------------------------------------

_SLOT: Final = re.compile(r"\{(\w+)\}")


@lru_cache(maxsize=4096)
def _pieces(template: str) -> tuple[str, ...]:
    # Alternating literal text and slot names: split once, fill many times.
    return tuple(_SLOT.split(template))


def _fill(template: str, lang: str, rng: random.Random, fixed: dict[str, str] | None = None) -> str:
    """Fill ``{slot}`` names from the language's pools (``fixed`` values win), one level deep."""
    pieces = _pieces(template)
    if len(pieces) == 1:
        return template
    slots = vocab.SLOTS[lang]
    out: list[str] = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            out.append(piece)
        elif fixed and piece in fixed:
            out.append(fixed[piece])
        else:
            out.append(rng.choice(slots[piece]))
    text = "".join(out)
    # A slot at the start ("{feature} stopped ...") still starts a sentence.
    return text[0].upper() + text[1:] if pieces[0] == "" else text


_KEYBOARD: Final = "qwertyuiopasdfghjklzxcvbnm"
_WORD: Final = re.compile(r"[^\W\d_]{4,}")


def _typos(rng: random.Random, text: str, *, rate: float) -> str:
    def hit(m: re.Match[str]) -> str:
        word = m.group(0)
        if rng.random() >= rate:
            return word
        i = rng.randrange(1, len(word) - 1)
        op = rng.randrange(4)
        if op == 0:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if op == 1:
            return word[:i] + word[i + 1 :]
        if op == 2:
            return word[:i] + word[i] + word[i:]
        return word[:i] + rng.choice(_KEYBOARD) + word[i + 1 :]

    return _WORD.sub(hit, text)


def _casing(rng: random.Random, channel: str, angry: bool, text: str) -> str:
    u = rng.random()
    if angry and u < 0.2:
        return text.upper()
    if channel == "chat" and u < 0.6:
        return text.lower()
    if u < 0.08:
        return text.lower()
    return text


def _flatten(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[!?¡¿.,;:]", "", text)).strip().lower()


_ACCENTS: Final = str.maketrans("áéíóúüÁÉÍÓÚÜ", "aeiouuAEIOUU")


def _strip_accents(text: str) -> str:
    # Keep ñ: Spanish keyboards have it even when people skip the accents.
    return text.translate(_ACCENTS)


def _mix_languages(rng: random.Random, lang: str, parts: list[str]) -> list[str]:
    """Add a courtesy word in the other language; Spanish writers also borrow English nouns."""
    other = rng.choice(vocab.MIXED_SNIPPETS[lang])
    if lang == "es":
        parts = [_borrow(rng, p) for p in parts]
    if rng.random() < 0.5:
        return [other.capitalize() + ",", *parts]
    return [*parts, other + "!"]


def _borrow(rng: random.Random, text: str) -> str:
    for es, en in vocab.ES_TO_EN.items():
        if es in text and rng.random() < 0.6:
            text = text.replace(es, en)
    return text


# --- must-pass cases: unambiguous, correctly labelled, never noisy ---------------------------
# "label language | text"; channel and plan are spread evenly over the cases.
_MUST_PASS: Final = """
billing en | I was charged twice for my subscription this month, please refund me.
billing en | My invoice shows the wrong amount, I need a corrected invoice.
billing en | Please refund the duplicate payment on my credit card.
billing en | Why was my card charged $49 yesterday? I need a refund.
billing en | I need a VAT invoice for the last payment.
billing en | You billed me after my free trial ended, please refund the charge.
billing en | How do I change the credit card used to pay my invoice?
technical en | The app crashes every time I try to upload a file.
technical en | I get error 500 when I try to open the dashboard.
technical en | Sync stopped working after the last update, the app shows an error.
technical en | I can't log in, the login page freezes with an error.
technical en | The export to PDF is broken and the file is empty.
technical en | The API returns a 502 error since this morning.
technical en | Notifications stopped working on my phone after the update.
cancellation en | I want to cancel my subscription.
cancellation en | Please close my account and cancel my subscription.
cancellation en | Please do not renew my plan, I want to cancel.
cancellation en | I want to cancel my account at the end of the month.
cancellation en | How do I cancel my subscription before the renewal?
cancellation en | Cancel my pro subscription please.
general en | What are your opening hours?
general en | Do you have documentation for the API?
general en | I'd like to suggest a feature: a dark mode.
general en | Where is your office in London?
general en | Is there a webinar about reporting?
general en | Can I talk to someone in sales about the enterprise plan?
general en | Do you offer training sessions for new teams?
billing es | Me cobraron dos veces la suscripción, quiero un reembolso.
billing es | Mi factura tiene un importe incorrecto, necesito una factura nueva.
billing es | Necesito un reembolso del cobro duplicado en mi tarjeta.
technical es | La aplicación se cierra cada vez que intento subir un archivo.
technical es | Me sale el error 500 al intentar abrir el panel, no funciona.
technical es | No puedo iniciar sesión, la página da error.
cancellation es | Quiero cancelar mi plan y mi suscripción.
cancellation es | Quiero cancelar mi suscripción y cerrar mi cuenta.
cancellation es | Quiero darme de baja y cancelar el plan.
general es | ¿Cuál es su horario de atención para ventas?
general es | ¿Tienen documentación sobre la API?
general es | ¿Tienen un programa de partners?
general es | ¿Ofrecen formación o un webinar para equipos nuevos?
"""
