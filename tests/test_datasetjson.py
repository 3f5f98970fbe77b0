"""Dataset-JSON v1.1, NDJSON, CSV and XPT output of the SDTM datasets.

Checked against CDISC's JSON schemas (tests/schemas/dataset-json-1.1/, MIT
licence) and CDISC's own example datasets (tests/fixtures/sdtm/).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas
import pyreadstat
import pytest
from jsonschema import Draft201909Validator

from planner.core.bundled import bundled
from planner.core.errors import InputError
from planner.core.sdtm import (
    Column,
    Dataset,
    FileMetadata,
    SourceSystem,
    dataset_csv,
    dataset_json,
    dataset_ndjson,
    sdtm_datasets,
)
from planner.core.sdtm.visits import UnscheduledVisit
from planner.store.xpt import MISSING_EXTRA, xpt_bytes
from tests.test_sdtm_visits import PROTOCOL, STUDY, TODAY, wuh_001, wuh_002

HERE = Path(__file__).parent
SCHEMAS = HERE / "schemas" / "dataset-json-1.1"
EXAMPLES = HERE / "fixtures" / "sdtm"
CREATED = datetime(2026, 5, 20, 9, 30, 0)
INFO = FileMetadata(
    created=CREATED,
    study_oid=STUDY,
    originator="Zhongnan Hospital",
    source_system=SourceSystem("planner", "0.1.0"),
)


def _validator(name: str) -> Draft201909Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema)


def _ndjson_validator() -> Draft201909Validator:
    """CDISC's NDJSON metadata schema, with its two dangling references mended.

    As published it points at ``#/$defs/Column`` and ``#/$defs/SourceSystem``
    but nests those definitions elsewhere in the same file; here they are
    moved (in memory) to where the references look. Nothing else changes.
    """
    schema = json.loads((SCHEMAS / "dataset-ndjson-schema.json").read_text(encoding="utf-8"))
    metadata = schema["$defs"]["DatasetMetadata"]["properties"]
    nested = metadata["columns"]["items"]
    schema["$defs"]["Column"] = nested["Column"]
    schema["$defs"]["DataTypesEnum"] = nested["DataTypesEnum"]
    schema["$defs"]["SourceSystem"] = metadata["sourceSystem"]["SourceSystem"]
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema)


JSON_SCHEMA = _validator("dataset.schema.json")
NDJSON_SCHEMA = _ndjson_validator()


def _all_datasets() -> list[Dataset]:
    scenario = sdtm_datasets(
        PROTOCOL,
        wuh_001() + wuh_002(),
        study_id=STUDY,
        today=TODAY,
        reasons={"WUH-001/IHFU/2": "patient too unwell"},
        unscheduled=[UnscheduledVisit("WUH-001", date(2026, 5, 1), "Adverse event follow-up")],
    )
    design = sdtm_datasets(bundled("ucmsc-dlc"), [], study_id="UCMSC-DLC", today=TODAY)
    return [*scenario.values(), *design.values()]


DATASETS = _all_datasets()
IDS = [f"{d.name}-{d.rows[0][0] if d.rows else 'empty'}" for d in DATASETS]


def _json(dataset: Dataset, info: FileMetadata = INFO) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(b"".join(dataset_json(dataset, info)))
    return document


@pytest.mark.parametrize("dataset", DATASETS, ids=IDS)
def test_dataset_json_validates_against_the_cdisc_schema(dataset: Dataset) -> None:
    document = _json(dataset)
    JSON_SCHEMA.validate(document)
    assert list(document)[:2] == ["datasetJSONCreationDateTime", "datasetJSONVersion"]
    tail = ["itemGroupOID", "records", "name", "label", "columns", "rows"]
    assert list(document)[-6:] == tail
    assert document["datasetJSONCreationDateTime"] == "2026-05-20T09:30:00"
    assert document["datasetJSONVersion"] == "1.1.0"
    assert document["itemGroupOID"] == f"IG.{dataset.name}"
    assert document["records"] == len(document["rows"]) == len(dataset.rows)
    assert document["studyOID"] == STUDY
    for row in document["rows"]:
        assert len(row) == len(document["columns"])
        for value, column in zip(row, document["columns"], strict=True):
            _check_type(value, column)


def _check_type(value: Any, column: dict[str, Any]) -> None:
    kind = column["dataType"]
    if kind in ("string", "date"):
        assert isinstance(value, str)
        assert len(value) <= column.get("length", 200)
    elif kind == "integer":
        assert value is None or (isinstance(value, int) and not isinstance(value, bool))
    else:
        assert kind == "float"
        assert value is None or isinstance(value, int | float)


@pytest.mark.parametrize("dataset", DATASETS, ids=IDS)
def test_ndjson_is_the_same_content_line_by_line(dataset: Dataset) -> None:
    text = b"".join(dataset_ndjson(dataset, INFO)).decode("utf-8")
    assert text.endswith("\n")
    lines = text.splitlines()
    head = json.loads(lines[0])
    NDJSON_SCHEMA.validate(head)
    JSON_SCHEMA.validate(head)  # the same metadata, without the optional rows
    assert "rows" not in head
    rows = [json.loads(line) for line in lines[1:]]
    assert all(isinstance(row, list) for row in rows)
    document = _json(dataset)
    assert head == {key: value for key, value in document.items() if key != "rows"}
    assert rows == document["rows"]


def test_output_is_deterministic_and_takes_the_time_it_is_given() -> None:
    dataset = DATASETS[3]  # SV
    assert b"".join(dataset_json(dataset, INFO)) == b"".join(dataset_json(dataset, INFO))
    aware = FileMetadata(created=datetime(2026, 5, 20, 1, 30, tzinfo=UTC), study_oid="X")
    document = _json(dataset, aware)
    assert document["datasetJSONCreationDateTime"] == "2026-05-20T01:30:00Z"
    JSON_SCHEMA.validate(document)
    minimal = _json(dataset, FileMetadata(created=CREATED))
    assert "studyOID" not in minimal and "sourceSystem" not in minimal
    JSON_SCHEMA.validate(minimal)


@pytest.mark.parametrize("domain", ["TA", "TE", "TV", "SV"])
def test_column_metadata_matches_cdisc_examples(domain: str) -> None:
    example = json.loads((EXAMPLES / f"{domain.lower()}.json").read_text(encoding="utf-8"))
    ours = _json(next(d for d in DATASETS if d.name == domain))
    assert ours["name"] == example["name"]
    assert ours["label"] == example["label"]
    assert ours["itemGroupOID"] == example["itemGroupOID"]
    theirs = {column["name"]: column for column in example["columns"]}
    mine = [column for column in ours["columns"] if column["name"] in theirs]
    # Every variable of CDISC's example is one of ours, in the same relative order.
    assert [column["name"] for column in mine] == list(theirs)
    for column in mine:
        expected = theirs[column["name"]]
        for attribute in ("itemOID", "name", "label", "dataType"):
            assert column[attribute] == expected[attribute], (column["name"], attribute)
        assert ("length" in column) == ("length" in expected), column["name"]


def test_visitnum_is_written_as_cdisc_does() -> None:
    sv = _json(DATASETS[3])
    numbers = [row[3] for row in sv["rows"]]
    assert 1001 in numbers and 1002.01 in numbers
    assert b'"SV",' in b"".join(dataset_json(DATASETS[3], INFO))
    assert b"1001.0," not in b"".join(dataset_json(DATASETS[3], INFO))


def test_csv_has_the_same_columns_and_neutralises_formulas() -> None:
    dataset = Dataset(
        "XX",
        "Test",
        (
            Column("A", "Text", "string"),
            Column("N", "Number", "integer"),
            Column("F", "Float", "float"),
        ),
        (
            ("=HYPERLINK(1)", -7, 1002.01),
            ("+1", None, 3001.0),  # text that is a plain number: read as one, runs nothing
            ("-x", 3, None),
            ("+1+1", 4, None),
            ("@me", 0, 1.5),
            ("plain, with comma", 1, 2.0),
        ),
    )
    text = b"".join(dataset_csv(dataset)).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["A", "N", "F"],
        ["'=HYPERLINK(1)", "-7", "1002.01"],
        ["+1", "", "3001"],
        ["'-x", "3", ""],
        ["'+1+1", "4", ""],
        ["'@me", "0", "1.5"],
        ["plain, with comma", "1", "2"],
    ]


def test_sv_as_csv() -> None:
    dataset = DATASETS[3]
    rows = list(csv.DictReader(io.StringIO(b"".join(dataset_csv(dataset)).decode("utf-8"))))
    assert list(rows[0]) == dataset.column_names()
    assert len(rows) == len(dataset.rows)
    missed = next(row for row in rows if row["SVREASOC"])
    assert missed["SVSTDY"] == "" and missed["SVOCCUR"] == "N"


@pytest.mark.parametrize("dataset", DATASETS, ids=IDS)
def test_xpt_reads_back_with_pandas(dataset: Dataset, tmp_path: Path) -> None:
    path = tmp_path / f"{dataset.name.lower()}.xpt"
    path.write_bytes(xpt_bytes(dataset))
    if not dataset.rows:  # pandas cannot read a transport file without rows
        assert pyreadstat.read_xport(str(path))[1].column_names == dataset.column_names()
        return
    frame = pandas.read_sas(path, format="xport", encoding="utf-8")
    assert list(frame.columns) == dataset.column_names()
    assert all(len(name) <= 8 for name in frame.columns)
    assert all(len(column.label) <= 40 for column in dataset.columns)
    assert len(frame) == len(dataset.rows)
    for got, row in zip(frame.itertuples(index=False), dataset.rows, strict=True):
        for value, cell, column in zip(got, row, dataset.columns, strict=True):
            if column.data_type in ("integer", "float"):
                assert (cell is None and pandas.isna(value)) or value == cell
            else:
                assert value == cell


def test_xpt_labels_read_back_with_pyreadstat(tmp_path: Path) -> None:
    dataset = DATASETS[3]
    path = tmp_path / "sv.xpt"
    path.write_bytes(xpt_bytes(dataset))
    _, meta = pyreadstat.read_xport(str(path))
    assert meta.table_name == "SV"
    assert meta.column_names_to_labels == {c.name: c.label for c in dataset.columns}


def test_xpt_refuses_names_it_cannot_hold() -> None:
    dataset = Dataset("XX", "T", (Column("TOOLONGNAME", "x", "string"),), (("a",),))
    with pytest.raises(InputError) as caught:
        xpt_bytes(dataset)
    assert "TOOLONGNAME" in caught.value.message


def test_xpt_without_the_extra_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyreadstat", None)  # import pyreadstat now fails
    with pytest.raises(InputError) as caught:
        xpt_bytes(DATASETS[0])
    assert caught.value.message == MISSING_EXTRA
    assert caught.value.field == "format"


def test_an_empty_dataset_is_valid_everywhere() -> None:
    empty = sdtm_datasets(PROTOCOL, [], study_id=STUDY, today=date(2026, 1, 1), domains=["SV"])
    dataset = empty["SV"]
    document = _json(dataset)
    JSON_SCHEMA.validate(document)
    assert document["records"] == 0 and document["rows"] == []
    assert all(c.get("length", 1) >= 1 for c in document["columns"])
    assert b"".join(dataset_csv(dataset)).decode().count("\n") == 1


def test_xpt_names_the_visit_whose_text_it_cannot_hold() -> None:
    """A reason over 200 bytes (one may be 2,000 characters) stops SV as XPT:
    the refusal says whose visit, and that Dataset-JSON holds it."""
    columns = (Column("USUBJID", "u", "string"), Column("VISIT", "v", "string"),
               Column("SVREASOC", "r", "string"))  # fmt: skip
    rows = (("S-P1", "INFUSION 1", "short"), ("S-P2", "FOLLOW-UP 4", "é" * 101))
    with pytest.raises(InputError) as caught:
        xpt_bytes(Dataset("SV", "Subject Visits", columns, rows))
    assert caught.value.message == (
        "SV cannot be written as XPT: SVREASOC of USUBJID S-P2, VISIT FOLLOW-UP 4 is 202 "
        "bytes long, over 200 (Dataset-JSON holds it: --format dataset-json)"
    )
