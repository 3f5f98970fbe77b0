"""VISITNUM and VISIT: stable numbers and names for planned visits.

Each series code gets a number, 1, 2, 3... in the order the codes first
appear in the protocol file (a code shared by several arms, such as ``INF``
in ``ucmsc-dlc``, is one series). Then

    VISITNUM = series number × 1000 + occurrence
    VISIT    = series label in capitals + " " + occurrence

so ``INF`` 2 of ``cs-huc-mscs`` is ``1002 INFUSION 2``. Neither depends on
dates, on the participant or on the arm. Occurrences go up to 500, hence
1000. Across protocol versions the numbers stay put as long as series are
not reordered: give every version, oldest first, to :meth:`VisitNumbering.of`
and codes added later are numbered after the older ones.

Unscheduled visits get the VISITNUM of the planned visit before them plus
0.01 × n (n = 1, 2... for the unscheduled visits after that planned visit),
and the VISIT ``"<planned VISIT>: UNSCHEDULED 01"``, as CDISC's own SV example
does (``5.01 WEEK 4: UNSCHEDULED 01``). Before any planned visit: 0.01, 0.02...

>>> from planner.core.bundled import bundled
>>> numbering = VisitNumbering.of(bundled("cs-huc-mscs"))
>>> numbering.visitnum("SURV", 3), numbering.visit("SURV", 3)
(4003, 'SURVIVAL CALL 3')
>>> unscheduled_visitnum(1002, 1), unscheduled_visit("INFUSION 2", 1)
(1002.01, 'INFUSION 2: UNSCHEDULED 01')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from planner.core.errors import InputError
from planner.core.protocol import StudyProtocol

#: VISITNUM = series number × SERIES_STEP + occurrence.
SERIES_STEP = 1000
#: The most unscheduled visits between two planned ones.
MAX_UNSCHEDULED = 99


@dataclass(frozen=True, slots=True)
class VisitNumbering:
    """Series code → (series number, label) for VISITNUM and VISIT."""

    numbers: Mapping[str, int]
    labels: Mapping[str, str]

    @classmethod
    def of(cls, *protocols: StudyProtocol) -> VisitNumbering:
        """Number the series of one protocol, or of its versions oldest first."""
        numbers: dict[str, int] = {}
        labels: dict[str, str] = {}
        for protocol in protocols:
            for series in protocol.schedule:
                if series.code not in numbers:
                    numbers[series.code] = len(numbers) + 1
                labels[series.code] = series.label
        return cls(numbers, labels)

    def _number(self, event: str) -> int:
        number = self.numbers.get(event)
        if number is None:
            raise InputError(
                f"series {event!r} is not in the protocol, so its visits have no VISITNUM",
                field="protocol",
                value=event,
                choices=list(self.numbers),
            )
        return number

    def visitnum(self, event: str, occurrence: int) -> int:
        return self._number(event) * SERIES_STEP + occurrence

    def visit(self, event: str, occurrence: int) -> str:
        self._number(event)
        return f"{self.labels[event].upper()} {occurrence}"


def unscheduled_visitnum(previous: float, n: int) -> float:
    """The VISITNUM of the n-th unscheduled visit after planned visit ``previous``."""
    if not 1 <= n <= MAX_UNSCHEDULED:
        raise InputError(
            f"at most {MAX_UNSCHEDULED} unscheduled visits may follow one planned visit",
            field="visit",
            value=n,
        )
    return round(previous + n / 100, 2)


def unscheduled_visit(previous: str | None, n: int) -> str:
    """The VISIT of the n-th unscheduled visit after planned visit ``previous``."""
    return f"{previous}: UNSCHEDULED {n:02d}" if previous else f"UNSCHEDULED {n:02d}"
