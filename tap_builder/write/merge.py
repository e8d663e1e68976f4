"""Three-way merge of text files: the user's, the old render and the new render.

The line matching is merge3's (the merge of Bazaar/Breezy, a pure-Python port of
diff3's algorithm); what to do with each region is decided here:

- lines only the user changed: the user's;
- lines only the new render changed: the new render's;
- lines both changed the same way: once;
- lines both changed differently: a conflict, written with standard markers::

      <<<<<<< yours
      (the user's lines)
      =======
      (the new render's lines)
      >>>>>>> spec

When the old render is not exactly what was generated (the tool's templates
changed that file since), a region only the user changed may be the user's edit
or the old template's text, which cannot be told apart: ``exact=False`` makes
such regions conflicts too, so nothing is decided silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from merge3 import Merge3

#: The marker lines ``update`` writes, as the user sees them.
START, MIDDLE, END = "<<<<<<< yours", "=======", ">>>>>>> spec"
_MARKERS = re.compile(rf"^(?:{re.escape(START)}|{re.escape(END)})$", re.MULTILINE)


@dataclass(frozen=True)
class Merged:
    """A merge's text and how many conflicts it holds."""

    text: str
    conflicts: int


def merge_text(base: str, yours: str, theirs: str, *, exact: bool = True) -> Merged:
    """Merge the change from ``base`` to ``theirs`` into ``yours``.

    Args:
        base: the old render (what was generated, when ``exact``).
        yours: the file as the user has it.
        theirs: the new render.
        exact: whether ``base`` is exactly what was generated.
    """
    old, mine, new = (text.splitlines(keepends=True) for text in (base, yours, theirs))
    out: list[str] = []
    conflicts = 0
    at_old = at_mine = at_new = 0
    # Between two stretches all three share (sync regions) lies one region each
    # side may have changed; merge3 finds the stretches (its last one is empty).
    for region in Merge3(old, mine, new).find_sync_regions():
        old_end, old_next, mine_end, mine_next, new_end, new_next = region
        was = old[at_old:old_end]
        ours, changed = mine[at_mine:mine_end], new[at_new:new_end]
        if ours == changed:
            out += ours
        elif ours == was:
            out += changed
        elif changed == was and exact:
            out += ours
        else:
            conflicts += 1
            out += _conflict(ours, changed)
        out += old[old_end:old_next]
        at_old, at_mine, at_new = old_next, mine_next, new_next
    return Merged("".join(out), conflicts)


def _conflict(ours: list[str], theirs: list[str]) -> list[str]:
    return [
        f"{START}\n",
        *_ended(ours),
        f"{MIDDLE}\n",
        *_ended(theirs),
        f"{END}\n",
    ]


def _ended(lines: list[str]) -> list[str]:
    """The lines, the last one ending in a newline (a marker line follows)."""
    if lines and not lines[-1].endswith("\n"):
        return [*lines[:-1], lines[-1] + "\n"]
    return lines


def has_markers(text: str) -> bool:
    """Whether ``text`` still holds a conflict ``update`` wrote (its marker lines).

    A conflict counts as resolved once its ``<<<<<<< yours`` and
    ``>>>>>>> spec`` lines are gone.
    """
    return _MARKERS.search(text) is not None
