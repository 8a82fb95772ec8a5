"""What the action codes of DICOM PS3.15 Table E.1-1 mean, and how they combine.

Table E.1-1 writes one action code per attribute for the Basic Profile and, where
an option changes the treatment, one per option column. The codes are defined in
PS3.15 E.1.1 (Table E.1-1a "De-identification Action Codes"):

- ``D`` replace with a non-zero length dummy value consistent with the VR;
- ``Z`` replace with a zero length value, or a dummy value consistent with the VR;
- ``X`` remove;
- ``K`` keep (unchanged for non-sequence attributes, cleaned for sequences);
- ``C`` clean: replace with values of similar meaning known not to identify;
- ``U`` replace with a non-zero length UID that is internally consistent;
- compounds such as ``X/Z`` ("X unless Z is required to maintain IOD
  conformance"), ``X/D``, ``Z/D``, ``X/Z/D`` and ``X/Z/U*`` (X unless Z, or
  replacing the UIDs contained in the sequence, is required).

This module holds three small decisions, each tested on its own:
:func:`resolve_compound` (which member of a compound code we apply),
:func:`option_wins` (which option decides when several selected options have a
cell for the same row) and :func:`retention_rank` (the order both rely on).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Action(StrEnum):
    """A single de-identification action (PS3.15 E.1.1, Table E.1-1a)."""

    REMOVE = "X"
    ZERO = "Z"
    DUMMY = "D"
    KEEP = "K"
    CLEAN = "C"
    UID = "U"


#: Every code that can appear in a cell of Table E.1-1 ("" is a blank cell).
KNOWN_CODES: frozenset[str] = frozenset(
    {"X", "Z", "D", "K", "C", "U", "X/Z", "X/D", "Z/D", "X/Z/D", "X/Z/U*", "U*"}
)

# The member of each compound code that we apply (see resolve_compound).
_COMPOUNDS: dict[str, Action] = {
    "X/Z": Action.ZERO,
    "X/D": Action.DUMMY,
    "Z/D": Action.DUMMY,
    "X/Z/D": Action.DUMMY,
    "X/Z/U*": Action.UID,
    "U*": Action.UID,
}

# How much of the original information an action retains, most first:
# K > C > U > D > Z > X.
_RETENTION_ORDER: tuple[Action, ...] = (
    Action.KEEP,
    Action.CLEAN,
    Action.UID,
    Action.DUMMY,
    Action.ZERO,
    Action.REMOVE,
)
_RETENTION_RANK: dict[Action, int] = {
    action: len(_RETENTION_ORDER) - index for index, action in enumerate(_RETENTION_ORDER)
}


def resolve_compound(code: str) -> Action:
    """Return the single action that we apply for a Table E.1-1 code.

    A compound code lets the de-identifier choose, per IOD and per attribute
    Type, the least identifying action that still leaves a conformant instance
    (PS3.15 E.1.1, Table E.1-1a: "X/Z: X unless Z is required to maintain IOD
    conformance (Type 3 versus Type 2)", and likewise for X/D, Z/D, X/Z/D and
    X/Z/U*). We do not look the attribute's Type up in every IOD, so we pick the
    member that is conformant whatever the Type: a dummy value satisfies Type 1,
    2 and 3; an empty value Type 2 and 3; removal only Type 3. All members are
    equally safe for privacy, since each discards the original value.

    ``X/Z`` -> Z, ``X/D`` -> D, ``Z/D`` -> D, ``X/Z/D`` -> D,
    ``X/Z/U*`` -> U, ``U*`` -> U; a simple code maps to itself.

    Raises ValueError for a code that Table E.1-1 does not use (including a
    blank cell).
    """
    compound = _COMPOUNDS.get(code)
    if compound is not None:
        return compound
    try:
        return Action(code)
    except ValueError:
        raise ValueError(f"not a PS3.15 Table E.1-1 action code: {code!r}") from None


def retention_rank(code: str) -> int:
    """Rank a code by how much it retains: K > C > U > D > Z > X (higher retains more).

    Compound codes rank as the action they resolve to (:func:`resolve_compound`).
    """
    return _RETENTION_RANK[resolve_compound(code)]


def option_wins(basic: str, option_cells: Iterable[str]) -> str:
    """Return the code that applies to one row once the selected options are applied.

    ``basic`` is the row's Basic Profile code; ``option_cells`` are the row's
    cells in the columns of the selected options, ``""`` where the standard
    leaves the cell blank (the option does not touch that attribute).

    Rule: a blank cell changes nothing; if any selected option has a code for
    the row, the most retaining of those codes (K > C > U > D > Z > X) replaces
    the basic code. An option only has a cell where the standard designed it to
    retain or clean that attribute, so when two selected options disagree the
    one that retains more is the one whose purpose is to keep the attribute
    (for example Retain Patient Characteristics' K wins over a C of a cleaning
    option). The result is verbatim from the table, not yet resolved; pass it
    to :func:`resolve_compound`.
    """
    winner = basic
    best = -1
    for cell in option_cells:
        if not cell:
            continue
        rank = retention_rank(cell)
        if rank > best:
            winner, best = cell, rank
    return winner
