"""Which version answers a request: the gateway's in-memory routing table.

A :class:`RoutingTable` maps each service to a :class:`Route`: its arms (a version number with a
weight and a role) and whether the kill switch is on. The table is built from the
``production`` alias (one arm, weight 1); a service in a rollout gets weighted ``canary`` arms
or ``shadow`` copies, and a sticky key (a header or an input field) whose hash, salted with
the rollout, picks the arm, so one user sees one version on every replica.

>>> table = RoutingTable.from_aliases({"support-router": 3}, disabled={"other"})
>>> table.route("support-router").pick(0.42).version
3
>>> table.route("support-router").disabled
False
>>> table.route("nobody") is None
True
>>> table.versions() == {("support-router", 3)}
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Arm", "Route", "RoutingTable", "sticky_unit"]

ArmRole = Literal["live", "shadow"]


@dataclass(frozen=True)
class Arm:
    """One way to answer: ``version`` of the service, taking ``weight`` of the live traffic.

    A ``shadow`` arm answers a copy of the request; its answer is logged, never returned;
    its ``weight`` is the share of requests copied.
    """

    name: str
    version: int
    weight: float = 1.0
    role: ArmRole = "live"


@dataclass(frozen=True)
class Route:
    """How one service is answered now."""

    service: str
    arms: tuple[Arm, ...] = ()
    disabled: bool = False
    # A rollout's sticky key: the header (lower-case) or input field whose value picks the
    # arm, and the salt (the rollout's id) its hash is taken with. Neither: a random draw.
    key_header: str | None = None
    key_field: str | None = None
    salt: str = ""
    _cumulative: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        total = 0.0
        cumulative = []
        for arm in self.live_arms:
            total += max(arm.weight, 0.0)
            cumulative.append(total)
        object.__setattr__(
            self, "_cumulative", tuple(c / total for c in cumulative) if total else ()
        )

    @property
    def live_arms(self) -> tuple[Arm, ...]:
        return tuple(a for a in self.arms if a.role == "live")

    @property
    def shadow_arms(self) -> tuple[Arm, ...]:
        return tuple(a for a in self.arms if a.role == "shadow")

    def pick(self, u: float) -> Arm:
        """The live arm for a uniform draw ``u`` in [0, 1) (weights need not sum to 1).

        >>> r = Route("s", (Arm("stable", 1, 0.9), Arm("canary", 2, 0.1)))
        >>> r.pick(0.5).name, r.pick(0.95).name
        ('stable', 'canary')
        """
        arms = self.live_arms
        if len(arms) == 1:
            return arms[0]
        for arm, edge in zip(arms, self._cumulative, strict=True):
            if u < edge:
                return arm
        if not arms:
            raise LookupError(f"service {self.service!r} has no live arm")
        return arms[-1]


def sticky_unit(salt: str, key: str) -> float:
    """A number in [0, 1) from a sticky key: the same key gives the same arm on every replica.

    >>> sticky_unit("ro2xk7p", "user-17") == sticky_unit("ro2xk7p", "user-17")
    True
    >>> 0.0 <= sticky_unit("ro2xk7p", "user-17") < 1.0
    True
    """
    digest = hashlib.blake2b(f"{salt}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclass(frozen=True)
class RoutingTable:
    """Every served service's :class:`Route`; immutable, swapped whole when something changes."""

    routes: Mapping[str, Route] = field(default_factory=dict)

    @classmethod
    def from_aliases(
        cls,
        production: Mapping[str, int | None],
        *,
        disabled: Iterable[str] = (),
        arm: str = "production",
    ) -> RoutingTable:
        """One arm per service whose alias is set: ``production``, or the alias a gateway
        serves instead (``liveops serve --alias staging``)."""
        off = set(disabled)
        routes = {
            name: Route(name, (Arm(arm, number),), disabled=name in off)
            for name, number in production.items()
            if number is not None
        }
        return cls(routes)

    def route(self, service: str) -> Route | None:
        return self.routes.get(service)

    def versions(self) -> set[tuple[str, int]]:
        """Every (service, version) some arm needs loaded."""
        return {(r.service, a.version) for r in self.routes.values() for a in r.arms}
