"""Column metadata of TA, TE, TV and SV (SDTMIG 3.4).

Names, labels, order and data types follow SDTMIG 3.4 and CDISC's own
example datasets (``tests/fixtures/sdtm/``): VISITNUM is ``float`` (it can
be 1002.01), dates are ``date``, study days ``integer``. Text lengths are
those of the longest value unless fixed here.
"""

from __future__ import annotations

from planner.core.sdtm.dataset import Column

STUDYID = Column("STUDYID", "Study Identifier", "string", key_sequence=1)
DOMAIN = Column("DOMAIN", "Domain Abbreviation", "string", length=2)
ARMCD = Column("ARMCD", "Planned Arm Code", "string")
ARM = Column("ARM", "Description of Planned Arm", "string")
ETCD = Column("ETCD", "Element Code", "string")
ELEMENT = Column("ELEMENT", "Description of Element", "string")
EPOCH = Column("EPOCH", "Epoch", "string")
VISITNUM = Column("VISITNUM", "Visit Number", "float")
VISIT = Column("VISIT", "Visit Name", "string")
VISITDY = Column("VISITDY", "Planned Study Day of Visit", "integer")

TA_COLUMNS = (
    STUDYID,
    DOMAIN,
    Column("ARMCD", "Planned Arm Code", "string", key_sequence=2),
    ARM,
    Column("TAETORD", "Planned Order of Element within Arm", "integer", key_sequence=3),
    ETCD,
    ELEMENT,
    Column("TABRANCH", "Branch", "string"),
    Column("TATRANS", "Transition Rule", "string"),
    EPOCH,
)

TE_COLUMNS = (
    STUDYID,
    DOMAIN,
    Column("ETCD", "Element Code", "string", key_sequence=2),
    ELEMENT,
    Column("TESTRL", "Rule for Start of Element", "string"),
    Column("TEENRL", "Rule for End of Element", "string"),
    Column("TEDUR", "Planned Duration of Element", "string"),
)

TV_COLUMNS = (
    STUDYID,
    DOMAIN,
    Column("VISITNUM", "Visit Number", "float", key_sequence=2),
    VISIT,
    VISITDY,
    Column("ARMCD", "Planned Arm Code", "string", key_sequence=3),
    ARM,
    Column("TVSTRL", "Visit Start Rule", "string"),
    Column("TVENRL", "Visit End Rule", "string"),
)

SV_COLUMNS = (
    STUDYID,
    DOMAIN,
    Column("USUBJID", "Unique Subject Identifier", "string", key_sequence=2),
    Column("VISITNUM", "Visit Number", "float", key_sequence=3),
    VISIT,
    Column("SVPRESP", "Pre-specified", "string", length=1),
    Column("SVOCCUR", "Occurrence", "string", length=1),
    Column("SVREASOC", "Reason for Occur Value", "string"),
    Column("SVCNTMOD", "Contact Mode", "string"),
    VISITDY,
    EPOCH,
    Column("SVSTDTC", "Start Date/Time of Visit", "date"),
    Column("SVENDTC", "End Date/Time of Visit", "date"),
    Column("SVSTDY", "Study Day of Start of Visit", "integer"),
    Column("SVENDY", "Study Day of End of Visit", "integer"),
    Column("SVUPDES", "Description of Unplanned Visit", "string"),
)
