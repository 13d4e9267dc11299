"""Which activity IDs an institution owns, and the check of its return against them (DESIGN §5).

Its own are the IDs of its activities in the base version and the IDs its new rows got when an earlier
return of this round was accepted; any other ID in its sheet is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from core.activity import Activity
from core.catalog import Catalogs
from core.grid import Grid
from core.sheet_check import Expected, SheetResult, check_sheet
from core.sheet_spec import SheetSpec


def keys_of_returns(accepted_returns: Iterable[Iterable[Mapping[str, object]]]) -> set[str]:
    """The IDs in the institution's accepted returns (each a list of activity dicts)."""
    return {str(a["key"]) for activities in accepted_returns for a in activities if a.get("key")}


def check_return(grid: Grid, *, spec: SheetSpec, catalogs: Catalogs, expected: Expected,
                 base: Sequence[Activity], returned_keys: set[str]) -> SheetResult:
    """``check_sheet`` with the IDs of earlier returns counted as the institution's own; those IDs are not
    reported as missing when a later sheet leaves them out (they were never in the published concept)."""
    given_later = returned_keys - {a.key for a in base}
    ended = catalogs.ending_statuses[-1] if catalogs.ending_statuses else ""
    stand_ins = [Activity(key=key, institution_code=expected.institution_code or "", title="", field_of_action="",
                          status=ended) for key in sorted(given_later)]
    result = check_sheet(grid, spec=spec, catalogs=catalogs, expected=expected, base=[*base, *stand_ins])
    result.missing = [a for a in result.missing if a.key not in given_later]
    return result
