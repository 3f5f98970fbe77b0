"""SDTM identifiers: STUDYID, checked, and USUBJID, derived.

The STUDYID rule (stricter than SDTMIG, which only says "character"): 1 to 20
characters, capital letters A-Z, digits, ``-`` and ``_``, starting with a
letter or digit. It fits every SAS transport field and every file name.

USUBJID is ``STUDYID + "-" + participant code``, so ``NCT05442437`` and
``WUH-001`` give ``NCT05442437-WUH-001``: unique across studies because the
study id is in it, and unique within the study because participant codes are.

>>> check_study_id("CS-HUC-MSCS")
'CS-HUC-MSCS'
>>> usubjid("CS-HUC-MSCS", "WUH-001")
'CS-HUC-MSCS-WUH-001'
"""

from __future__ import annotations

import re

from planner.core.errors import InputError

STUDY_ID_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,19}")
STUDY_ID_RULE = "1 to 20 capital letters A-Z, digits, '-' or '_', starting with a letter or digit"


def check_study_id(study_id: str) -> str:
    """Return ``study_id`` if it is a valid STUDYID; raise InputError if not."""
    if not isinstance(study_id, str) or not STUDY_ID_PATTERN.fullmatch(study_id):
        raise InputError(
            f"study id {study_id!r} is not a valid SDTM STUDYID: it must be {STUDY_ID_RULE}",
            field="study_id",
            value=study_id,
            allowed=STUDY_ID_RULE,
        )
    return study_id


def usubjid(study_id: str, participant: str) -> str:
    """The unique subject identifier of a participant in a study."""
    return f"{study_id}-{participant}"
