"""Names of things: ``SERVICE@N`` is a version, ``SERVICE@ALIAS`` what an alias points at.

>>> parse_version_ref("support-router@3")
VersionRef(service='support-router', number=3, alias=None)
>>> parse_version_ref("production", default_service="support-router")
VersionRef(service='support-router', number=None, alias='production')
>>> str(parse_version_ref("support-router@production"))
'support-router@production'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from liveops.errors import UsageError

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_REF_RE = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)@(?P<tag>[A-Za-z0-9_.-]+)$")


def check_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it is a valid object name, else raise a :class:`UsageError`."""
    if not NAME_RE.match(name):
        raise UsageError(
            f"{what} {name!r} is not a valid name",
            hint="use lower-case letters, digits, '-', '_' and '.'; start with a letter or digit",
        )
    return name


@dataclass(frozen=True)
class VersionRef:
    """A reference to one version: by number or by alias."""

    service: str
    number: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        return f"{self.service}@{self.number if self.number is not None else self.alias}"


def parse_version_ref(text: str, *, default_service: str | None = None) -> VersionRef:
    """Parse ``SERVICE@N``, ``SERVICE@ALIAS`` or (given a default service) ``N`` or ``ALIAS``."""
    text = text.strip()
    m = _REF_RE.match(text)
    if m:
        service, tag = m.group("name"), m.group("tag")
    elif default_service is not None and "@" not in text and text:
        service, tag = default_service, text
    else:
        raise UsageError(
            f"{text!r} is not a version reference",
            hint="write SERVICE@N (support-router@3) or SERVICE@ALIAS (support-router@production)",
        )
    check_name(service, "service")
    if tag.isdigit():
        number = int(tag)
        if number < 1:
            raise UsageError(f"version numbers start at 1, got {text!r}")
        return VersionRef(service, number=number)
    check_name(tag, "alias")
    return VersionRef(service, alias=tag)


@dataclass(frozen=True)
class DatasetRef:
    """``NAME`` (the latest) or ``NAME@N``."""

    name: str
    number: int | None = None

    def __str__(self) -> str:
        return self.name if self.number is None else f"{self.name}@{self.number}"


def parse_dataset_ref(text: str) -> DatasetRef:
    """Parse ``NAME`` or ``NAME@N``.

    >>> parse_dataset_ref("support-eval@2")
    DatasetRef(name='support-eval', number=2)
    """
    name, _, tag = text.strip().partition("@")
    check_name(name, "dataset")
    if not tag:
        return DatasetRef(name)
    if not tag.isdigit() or int(tag) < 1:
        raise UsageError(f"{text!r} is not a dataset reference", hint="write NAME or NAME@N")
    return DatasetRef(name, int(tag))
