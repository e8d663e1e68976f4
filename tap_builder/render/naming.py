"""Python identifiers derived from validated ids, never from free text."""

from __future__ import annotations

import keyword
import re


def camel_case(identifier: str) -> str:
    """``medical_forms`` / ``sage-intacct`` -> ``MedicalForms`` / ``SageIntacct``."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", identifier) if w]
    name = "".join(word[:1].upper() + word[1:] for word in words)
    if not name or name[0].isdigit():
        name = "X" + name
    return name


class NameAllocator:
    """Hands out unique class names, suffixing a number on collision."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def take(self, wanted: str) -> str:
        """Reserve ``wanted`` or the first free ``wanted2``, ``wanted3``, ..."""
        name = wanted if not keyword.iskeyword(wanted) else wanted + "_"
        candidate, number = name, 2
        while candidate in self._taken:
            candidate = f"{name}{number}"
            number += 1
        self._taken.add(candidate)
        return candidate
