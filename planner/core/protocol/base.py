"""The strict base of every protocol model, and the limits and patterns they share.

A protocol file says what it means: :class:`StrictModel` forbids unknown keys
and type coercion, and the constants here bound what a file may ask for (how
many occurrences, how far from day 1) and how its codes may be spelt. The
error messages (:mod:`planner.core.protocol.messages`) and the semantic checks
(:mod:`planner.core.protocol.checks`) read the same constants.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from planner.core.texts import refused_character

#: The most occurrences one series may have.
MAX_OCCURRENCES = 500
#: The most occurrences one arm may have, all series together.
MAX_ARM_OCCURRENCES = 2000
#: The furthest an occurrence may lie from its reference: twenty years.
MAX_OFFSET_DAYS = 7305
MAX_MONTHS = 240

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
PROTOCOL_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
KIND_PATTERN = r"^[a-z][a-z-]{0,31}$"
TIME_PATTERN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

Setting = Literal["inpatient", "outpatient", "remote"]
Contact = Literal["in-person", "phone"]


class StrictModel(BaseModel):
    """Frozen, no extra keys, no coercion."""

    # strict: a TOML file says what it means; "yes" is not true and true is not 1.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        """Text goes into calendars, CSV and databases (PostgreSQL refuses NUL):
        no control characters but line breaks and tabs."""
        if isinstance(value, str) and (found := refused_character(value)) is not None:
            raise ValueError(f"holds {found}; remove it")
        return value
