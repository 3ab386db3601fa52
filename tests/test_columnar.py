"""commitrules.columnar: sources and their order, the column checks, refused rows, frames, outputs.

The equality with the per-event path is tests/test_columnar_equality.py; the command line
on tables is tests/test_columnar_cli.py.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import commitrules  # noqa: E402
from commitrules import Engine  # noqa: E402
from commitrules.columnar import (  # noqa: E402
    DEFAULT_BATCH_SIZE,
    REJECTS_SCHEMA,
    RejectedRow,
    TableError,
    _schema,
    evaluate_files,
    evaluate_table,
    events_table,
    rejects_table,
    table_files,
    violation_schema,
    violations_table,
    write_rejects,
)
from commitrules.columnar._sources import file_pieces  # noqa: E402
from tests.conftest import MARKETING, ROOT  # noqa: E402

PACK = commitrules.load_pack()
CST = dt.timezone(dt.timedelta(hours=8))
SHANGHAI = "Asia/Shanghai"
ACK = {"id": "a1", "type": "complaint_acknowledged", "at": "2026-07-01T09:00:00+08:00"}
SALE = {
    "id": "s1",
    "type": "sale",
    "at": "2026-07-01T10:30:00+08:00",
    "customer_id": "C-88",
    "product_id": "FUND-EQ07",
    "product_risk": 4,
    "amount": "50000.5",
    "currency": "CNY",
    "staff_id": "S0004",
    "branch_id": "BR-SH-PD",
    "channel": "branch",
    "recorded": False,
}


def table_of(*events: dict[str, Any], timezone: str | None = SHANGHAI) -> Any:
    return events_table(events, PACK.catalog, timezone=timezone)


def reasons(result: commitrules.columnar.TableResult) -> list[tuple[int, str]]:
    return [(row.row, row.reason) for row in result.rejected]


def per_event(*events: dict[str, Any]) -> list[str]:
    engine = Engine(PACK)
    return [v.id for event in events for v in engine.process(event)]


# -- what goes in -----------------------------------------------------------------------------


def test_a_table_of_several_types_gives_the_per_event_violations() -> None:
    table = table_of(MARKETING, {**ACK, "case_id": "K1"}, SALE)
    result = evaluate_table(table, PACK)
    assert [v.id for v in result.violations] == per_event(MARKETING, {**ACK, "case_id": "K1"}, SALE)
    assert result.violations
    assert (result.rows, result.stats.processed, result.rejected) == (3, 3, ())


def test_a_null_is_a_field_left_out() -> None:
    # The marketing type's optional staff_id: null in both rows, left out.
    table = table_of(MARKETING, {**ACK, "case_id": "K1"})
    assert table.column("staff_id").to_pylist() == [None, None]
    assert evaluate_table(table, PACK).stats.processed == 2
    # A required field that is null is missing, in the engine's own words.
    missing = table_of({**ACK, "case_id": "K1"}).set_column(
        3, "case_id", pa.array([None], pa.string())
    )
    assert reasons(evaluate_table(missing, PACK)) == [(0, "case_id: event a1: Field required")]


def test_a_value_in_a_column_the_type_does_not_declare_refuses_the_row() -> None:
    # 'text' belongs to marketing_published, not to complaint_acknowledged.
    table = table_of(MARKETING, {**ACK, "case_id": "K1"})
    texts = pa.array([MARKETING["text"], "a stray value"])
    table = table.set_column(table.schema.get_field_index("text"), "text", texts)
    result = evaluate_table(table, PACK)
    assert [(row, reason) for row, reason in reasons(result)] == [
        (1, "text: event a1: Extra inputs are not permitted")
    ]
    assert result.stats.processed == 1
    # A column no type declares at all: the same, and null there is fine.
    extra = table_of(MARKETING, {**ACK, "case_id": "K1"}).append_column(
        "foo", pa.array([None, 3], pa.int64())
    )
    assert reasons(evaluate_table(extra, PACK)) == [
        (1, "foo: event a1: Extra inputs are not permitted")
    ]


def test_unknown_and_null_types_are_refused_as_the_engine_refuses_them() -> None:
    table = table_of({**ACK, "case_id": "K1"}, {**ACK, "id": "a2", "case_id": "K2"})
    table = table.set_column(1, "type", pa.array(["complaint_acknowleged", None]))
    assert reasons(evaluate_table(table, PACK)) == [
        (
            0,
            "type: event a1: unknown event type 'complaint_acknowleged'; did you mean "
            "'complaint_acknowledged'?",
        ),
        (1, "type: event a2: missing or non-text 'type'"),
    ]


def test_naive_timestamps_are_refused_and_aware_ones_of_any_unit_read() -> None:
    table = table_of({**ACK, "case_id": "K1"})
    wall = dt.datetime(2026, 7, 1, 9, tzinfo=CST).replace(tzinfo=None)
    naive = table.set_column(2, "at", pa.array([wall], pa.timestamp("us")))
    (refused,) = evaluate_table(naive, PACK).rejected
    assert refused.row == 0
    assert refused.reason.startswith("at: event a1: the column is timestamp[us], which cannot")
    assert "without a time zone" in refused.reason
    for unit in ("s", "ms", "us", "ns"):
        aware = table.set_column(2, "at", table.column("at").cast(pa.timestamp(unit, tz="UTC")))
        result = evaluate_table(aware, PACK)
        assert result.stats.processed == 1, unit


def test_times_arrive_in_the_column_zone_as_fixed_offsets() -> None:
    seen: list[Any] = []
    engine = Engine(PACK)
    engine.observers.append(lambda what, released: seen.append(what))
    for zone, offset in ((SHANGHAI, 8), ("Europe/London", 1), ("+05:30", 5.5), ("UTC", 0)):
        table = table_of({**MARKETING, "id": f"m-{zone}"}, timezone=zone)
        (violation,) = evaluate_table(table, engine=engine).violations
        assert violation.at.utcoffset() == dt.timedelta(hours=offset)
        assert type(violation.at.tzinfo) is dt.timezone  # as RFC 3339 text parses
        assert violation.at == dt.datetime(2026, 7, 1, 9, tzinfo=CST)


def test_nanoseconds_are_refused_only_below_a_microsecond() -> None:
    table = table_of({**ACK, "case_id": "K1"}, {**ACK, "id": "a2", "case_id": "K2"})
    base = 1_782_867_600_000_000_000  # 2026-07-01T01:00:00Z in ns
    times = pa.array([base + 1_000, base + 1_001], pa.timestamp("ns", tz="UTC"))
    result = evaluate_table(table.set_column(2, "at", times), PACK)
    assert result.stats.processed == 1
    ((row, reason),) = reasons(result)
    assert row == 1
    assert "a part below a microsecond" in reason


def test_times_beyond_what_a_datetime_holds_are_refused() -> None:
    table = table_of({**ACK, "case_id": "K1"})
    far = pa.array([400_000_000_000_000_000], pa.timestamp("us", tz="UTC"))  # year 14645
    ((row, reason),) = reasons(evaluate_table(table.set_column(2, "at", far), PACK))
    assert row == 0
    assert "outside the supported range 1900-01-01T00:00:00+00:00" in reason


def test_text_times_go_to_the_engine_which_refuses_a_naive_one() -> None:
    table = table_of({**ACK, "case_id": "K1"}, timezone=None)
    assert evaluate_table(table, PACK).stats.processed == 1
    naive = table.set_column(2, "at", pa.array(["2026-07-01T09:00:00"]))
    assert reasons(evaluate_table(naive, PACK)) == [
        (0, "at: event a1: Input should have timezone info")
    ]


def test_float_decimals_are_refused_unless_allowed() -> None:
    table = table_of(SALE)
    floats = table.set_column(
        table.schema.get_field_index("amount"), "amount", pa.array([50000.5], pa.float64())
    )
    ((row, reason),) = reasons(evaluate_table(floats, PACK))
    assert row == 0
    assert reason.startswith("amount: event s1: the column is double")
    assert "allow_float_decimals=True" in reason
    allowed = evaluate_table(floats, PACK, allow_float_decimals=True)
    assert allowed.stats.processed == 1
    assert not allowed.rejected


@pytest.mark.parametrize(
    ("column", "values", "arrow_type"),
    [
        ("amount", ["50000.5"], pa.string()),
        ("amount", [Decimal("50000.5")], pa.decimal128(12, 4)),
        ("amount", [Decimal("50000.5")], pa.decimal256(60, 30)),
        ("product_risk", [4], pa.int8()),
        ("product_risk", [4.0], pa.float32()),
        ("customer_id", ["C-88"], pa.large_string()),
        ("customer_id", ["C-88"], pa.string_view()),
    ],
)
def test_accepted_column_types_give_the_same_result(
    column: str, values: list[Any], arrow_type: Any
) -> None:
    table = table_of(SALE)
    index = table.schema.get_field_index(column)
    changed = table.set_column(index, column, pa.array(values, arrow_type))
    expected = evaluate_table(table, PACK)
    got = evaluate_table(changed, PACK)
    assert [v.to_dict() for v in got.violations] == [v.to_dict() for v in expected.violations]
    assert got.stats == expected.stats


def test_a_column_that_cannot_carry_the_field_refuses_rows_that_fill_it() -> None:
    table = table_of(SALE, {**ACK, "case_id": "K1"})
    risk = pa.array(["4", None])  # text for an integer field
    table = table.set_column(table.schema.get_field_index("product_risk"), "product_risk", risk)
    result = evaluate_table(table, PACK)
    assert result.stats.processed == 1  # the acknowledgement leaves it null
    ((row, reason),) = reasons(result)
    assert row == 0
    assert reason == (
        "product_risk: event s1: the column is string, which cannot carry field 'product_risk' "
        f"of 'sale': it takes {_schema.ACCEPTED['int']}"
    )


def test_dictionary_encoded_columns_read_as_their_values() -> None:
    table = table_of(MARKETING, {**ACK, "case_id": "K1"})
    encoded = table.set_column(1, "type", table.column("type").dictionary_encode())
    assert [v.id for v in evaluate_table(encoded, PACK).violations] == per_event(
        MARKETING, {**ACK, "case_id": "K1"}
    )


def test_list_columns_carry_list_fields() -> None:
    disclosed = {
        "id": "d1",
        "type": "product_disclosed",
        "at": "2026-07-01T09:00:00+08:00",
        "customer_id": "C1",
        "product_id": "FUND-EQ07",
        "sections": ["product", "risk"],
        "template_id": "TPL-FUND",
        "template_version": "3.2",
    }
    table = table_of(disclosed)
    assert str(table.schema.field("sections").type) == "list<item: string>"
    result = evaluate_table(table, PACK)
    assert [v.id for v in result.violations] == per_event(disclosed)
    assert result.stats.processed == 1


def test_tables_without_a_text_type_column_are_not_event_tables() -> None:
    with pytest.raises(TableError, match="needs a 'type' column"):
        evaluate_table(pa.table({"id": ["e1"]}), PACK)
    with pytest.raises(TableError, match="'type' column must be text"):
        evaluate_table(pa.table({"type": [1]}), PACK)
    twice = pa.Table.from_arrays([pa.array(["sale"]), pa.array(["x"])], names=["type", "type"])
    with pytest.raises(TableError, match="two columns are named 'type'"):
        evaluate_table(twice, PACK)
    with pytest.raises(TableError, match="cannot read a dict as a table"):
        evaluate_table({"type": ["sale"]}, PACK)


def test_the_schema_is_checked_once_per_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = _schema.plan_for

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(_schema, "plan_for", counting)
    events = [{**ACK, "id": f"a{i}", "case_id": f"K{i}"} for i in range(50)]
    result = evaluate_table(table_of(*events), PACK, batch_size=7)
    assert result.stats.processed == 50
    assert len(calls) == 1


def test_rows_are_numbered_across_batches_and_an_engine_continues() -> None:
    events = [{**ACK, "id": f"a{i}", "case_id": f"K{i}"} for i in range(10)]
    events[7] = {**events[7], "id": "a3"}  # a3 again, at another case: a conflict
    engine = Engine(PACK)
    first = evaluate_table(table_of(*events[:5]), engine=engine, batch_size=2)
    second = evaluate_table(table_of(*events[5:]), engine=engine, batch_size=2, source="rest")
    assert not first.rejected
    ((source, row, reason),) = [(r.source, r.row, r.reason) for r in second.rejected]
    assert (source, row) == ("rest", 2)
    assert "a3: this id was seen before with a different payload" in reason
    assert engine.stats.processed == 9


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch_size must be a positive number of rows"):
        evaluate_table(table_of(ACK), PACK, batch_size=0)
    assert DEFAULT_BATCH_SIZE == 8192


# -- files, folders and patterns --------------------------------------------------------------


def write_parquet(path: Path, *events: dict[str, Any], row_group_size: int = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table_of(*events), path, row_group_size=row_group_size)
    return path


def test_a_folder_is_read_in_lexical_order_skipping_hidden_and_underscore_files(
    tmp_path: Path,
) -> None:
    for name in ("b.parquet", "a/z.parquet", "a.parquet", "_SUCCESS.parquet", ".x.parquet"):
        write_parquet(tmp_path / name, {**ACK, "case_id": name})
    (tmp_path / "notes.txt").write_text("not a table")
    names = [p.relative_to(tmp_path).as_posix() for p in table_files(tmp_path)]
    assert names == ["a.parquet", "a/z.parquet", "b.parquet"]
    # A pattern is sorted too; a list keeps its own order.
    pattern = str(tmp_path / "[ab]*" / "*.parquet")
    assert [p.name for p in table_files(pattern)] == ["z.parquet"]
    pattern = str(tmp_path / "**" / "[ab]*.parquet")
    assert [p.name for p in table_files(pattern)] == ["a.parquet", "b.parquet"]
    listed = [tmp_path / "b.parquet", tmp_path / "a.parquet"]
    assert table_files(listed) == listed


def test_inputs_that_name_no_table_are_errors(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text("{}\n")
    (tmp_path / "empty").mkdir()
    for name, message in (
        ("events.jsonl", "not a table file: the suffix '.jsonl'"),
        ("empty", "the folder holds no Parquet or Arrow file"),
        ("missing.parquet", "no such file or folder"),
        ("*.pq", "no Parquet or Arrow file matches"),
    ):
        with pytest.raises(TableError, match=message):
            table_files(str(tmp_path / name))
    (tmp_path / "fake.parquet").write_text("not parquet")
    with pytest.raises(TableError, match="cannot be read as Parquet"):
        evaluate_files(tmp_path / "fake.parquet", PACK)


def test_files_are_streamed_by_batch_and_rows_numbered_per_file(tmp_path: Path) -> None:
    events = [{**ACK, "id": f"a{i}", "case_id": f"K{i}"} for i in range(7)]
    events[5] = {**events[5], "case_id": None}  # refused: required
    write_parquet(tmp_path / "1.parquet", *events[:4], row_group_size=3)
    write_parquet(tmp_path / "2.parquet", *events[4:], row_group_size=3)
    pieces = list(file_pieces(table_files(tmp_path), batch_size=2))
    assert [(Path(p.source).name, p.first_row, p.batch.num_rows) for p in pieces] == [
        ("1.parquet", 0, 2),
        ("1.parquet", 2, 2),
        ("2.parquet", 0, 2),
        ("2.parquet", 2, 1),
    ]
    result = evaluate_files(tmp_path, PACK, batch_size=2)
    assert [(Path(r.source).name, r.row) for r in result.rejected] == [("2.parquet", 1)]
    assert (result.rows, result.stats.processed) == (7, 6)


def test_arrow_ipc_files_are_read_like_parquet(tmp_path: Path) -> None:
    table = table_of(MARKETING, {**ACK, "case_id": "K1"})
    with pa.ipc.new_file(tmp_path / "events.arrow", table.schema) as writer:
        writer.write_table(table)
    result = evaluate_files(tmp_path / "events.arrow", PACK, batch_size=1)
    assert [v.id for v in result.violations] == per_event(MARKETING, {**ACK, "case_id": "K1"})


def test_a_file_that_breaks_off_is_a_refused_row_and_the_next_file_is_read(
    tmp_path: Path,
) -> None:
    events = [{**MARKETING, "id": f"m{i}", "material_id": f"M{i}"} for i in range(40)]
    broken = write_parquet(tmp_path / "1.parquet", *events[:30], row_group_size=10)
    write_parquet(tmp_path / "2.parquet", *events[30:], row_group_size=10)
    data = bytearray(broken.read_bytes())
    metadata = pq.ParquetFile(broken).metadata
    # Overwrite the pages of the third row group (its metadata, at the end, stays whole).
    group = metadata.row_group(2)
    chunks = [group.column(i) for i in range(group.num_columns)]
    starts = [c.dictionary_page_offset or c.data_page_offset for c in chunks]
    start = min(starts)
    end = max(s + c.total_compressed_size for s, c in zip(starts, chunks, strict=True))
    data[start:end] = b"\xff" * (end - start)
    broken.write_bytes(bytes(data))
    result = evaluate_files(tmp_path, PACK, batch_size=10)
    ((source, row, reason),) = [(Path(r.source).name, r.row, r.reason) for r in result.rejected]
    assert (source, row) == ("1.parquet", 20)
    assert reason.startswith("the file cannot be read further (")
    assert reason.endswith(
        "this row and any after it are missing (the 20 rows before it were read)"
    )
    assert result.stats.processed == 30  # 20 of the first file, all 10 of the second
    assert result.stats.rejected == 1


# -- data frames ------------------------------------------------------------------------------


def test_pandas_frames_read_like_tables() -> None:
    pd = pytest.importorskip("pandas")
    events = [MARKETING, SALE, {**SALE, "id": "s2", "customer_age": 70}]
    frame = pd.DataFrame(events)
    frame["at"] = pd.to_datetime(frame["at"]).dt.tz_convert(SHANGHAI)
    frame["amount"] = frame["amount"].map(lambda v: v if v != v else Decimal(v))  # noqa: PLR0124
    # customer_age: an integer column with a missing value is float64 in pandas.
    assert str(frame["customer_age"].dtype) == "float64"
    result = evaluate_table(frame, PACK)
    assert not result.rejected
    assert [v.to_dict() for v in result.violations] == [
        v.to_dict() for v in evaluate_table(table_of(*events), PACK).violations
    ]
    naive = frame.assign(at=frame["at"].dt.tz_localize(None))
    assert len(evaluate_table(naive, PACK).rejected) == 3


def test_polars_frames_read_like_tables() -> None:
    pl = pytest.importorskip("polars")
    table = table_of(MARKETING, SALE)
    frame = pl.from_arrow(table)
    expected = evaluate_table(table, PACK)
    got = evaluate_table(frame, PACK)
    assert [v.to_dict() for v in got.violations] == [v.to_dict() for v in expected.violations]
    lazy = evaluate_table(frame.lazy(), PACK)
    assert [v.id for v in lazy.violations] == [v.id for v in expected.violations]


# -- what comes out ---------------------------------------------------------------------------


def test_the_violations_table_has_the_fixed_schema_and_the_json_fields() -> None:
    engine = Engine(PACK, evidence="include")
    result = evaluate_table(
        table_of(MARKETING, SALE), engine=engine, until=dt.datetime(2026, 10, 1, tzinfo=CST)
    )
    table = result.violations_table()
    assert table.schema == violation_schema(PACK.timezone)
    assert table.num_rows == len(result.violations) > 1
    for row, violation in zip(table.to_pylist(), result.violations, strict=True):
        data = violation.to_dict()
        assert row["id"] == data["id"]
        assert row["route"] == data["route"]
        assert row["message"] == data["message"]
        assert row["pack"] == data["pack"]
        assert (row["provisional"], row["refers_to"]) == (data["provisional"], data["refers_to"])
        assert row["at"] == violation.at
        assert row["at"].utcoffset() == dt.timedelta(hours=8)  # the pack's zone
        for name in ("subject", "scope", "evidence"):
            expected = {
                k: v if isinstance(v, str) or v is None else json.dumps(v, ensure_ascii=False)
                for k, v in data[name].items()
            }
            assert dict(row[name]) == expected


def test_map_values_are_text_or_json_text() -> None:
    engine = Engine(PACK, evidence="include")
    found = evaluate_table(table_of(MARKETING, SALE), engine=engine).violations
    rows = violations_table(found, timezone="UTC").to_pylist()
    recording = next(dict(r["evidence"]) for r in rows if r["rule_id"].startswith("C1.recording"))
    assert recording["recorded"] == "false"
    assert recording["channel"] == "branch"
    assert recording["recording_id"] is None
    cannot = next(dict(r["evidence"]) for r in rows if r["rule_id"].endswith("cannot-judge"))
    assert cannot["product_risk"] == "4"
    assert cannot["customer_age"] is None
    marketing = next(dict(r["evidence"]) for r in rows if r["clause_id"] == "C1.marketing")
    assert json.loads(marketing["params.marketing_banned_phrases"])[:2] == ["保本", "保收益"]
    assert str(violations_table([], timezone="UTC").schema.field("at").type) == (
        "timestamp[us, tz=UTC]"
    )


def test_results_as_data_frames() -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("polars")
    result = evaluate_table(table_of(MARKETING, SALE), PACK)
    frame = result.to_pandas()
    assert list(frame["clause_id"]) == [v.clause_id for v in result.violations]
    assert str(frame["at"].dtype) == "datetime64[us, Asia/Shanghai]"
    assert result.to_polars()["id"].to_list() == [v.id for v in result.violations]


def test_rejects_as_a_table_and_as_files(tmp_path: Path) -> None:
    rows = [RejectedRow("e.parquet", 3, "=HYPERLINK(1)"), RejectedRow("<table>", 0, "why")]
    assert rejects_table(rows).schema == REJECTS_SCHEMA
    write_rejects(tmp_path / "r.parquet", rows)
    assert pq.read_table(tmp_path / "r.parquet").to_pylist() == [
        {"source": "e.parquet", "row": 3, "reason": "=HYPERLINK(1)"},
        {"source": "<table>", "row": 0, "reason": "why"},
    ]
    write_rejects(tmp_path / "r.jsonl", rows)
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"source": "e.parquet", "row": 3, "reason": "=HYPERLINK(1)"}
    write_rejects(tmp_path / "r.csv", rows)
    assert "'=HYPERLINK(1)" in (tmp_path / "r.csv").read_text()  # spreadsheet-safe
    write_rejects(tmp_path / "raw.csv", rows, raw=True)
    assert "'=" not in (tmp_path / "raw.csv").read_text()
    with pytest.raises(TableError, match="the suffix chooses the format"):
        write_rejects(tmp_path / "r.txt", rows)


def test_the_result_shows_itself_in_jupyter_with_markup_escaped() -> None:
    hostile = {**MARKETING, "id": "<script>alert(1)</script>", "approved": None}
    result = evaluate_table(table_of(MARKETING, hostile), PACK)
    page = result._repr_html_()
    assert "2 rows: 1 processed, 0 duplicate, 1 rejected; 1 violations" in page
    assert "C1.marketing" in page
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_events_table_refuses_what_does_not_fit() -> None:
    with pytest.raises(TableError, match="unknown event type 'nope'"):
        events_table([{"type": "nope"}], PACK.catalog)
    with pytest.raises(TableError, match="product_risk: the values do not fit a int64 column"):
        events_table([{**SALE, "product_risk": "high"}], PACK.catalog)
    empty = events_table([], PACK.catalog)
    assert empty.column_names == ["id", "type", "at"]


# -- without the extra ------------------------------------------------------------------------

_WITHOUT_PYARROW = """
import sys
sys.modules["pyarrow"] = None  # as if the columnar extra were not installed
import commitrules
from commitrules.cli import main
engine = commitrules.Engine(commitrules.load_pack())
assert engine.process({MARKETING!r})
assert main(["check", {sample!r}, "--exit-zero", "--format", "jsonl"]) == 0
assert main(["check", "events.parquet"]) == 2
assert main(["check", {sample!r}, "--out", "v.parquet"]) == 2
try:
    import commitrules.columnar
except ImportError as error:
    print("IMPORT:", error)
"""


def test_the_library_works_without_the_columnar_extra(tmp_path: Path) -> None:
    code = _WITHOUT_PYARROW.format(
        MARKETING=MARKETING, sample=str(ROOT / "examples" / "sample-events.jsonl")
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    hint = "pip install 'commitrules[columnar]'"
    assert done.stderr.count(f"needs pyarrow: {hint}") == 2
    assert f"IMPORT: commitrules.columnar needs pyarrow, which is not installed: {hint}" in (
        done.stdout
    )


def test_violations_can_be_streamed_instead_of_kept() -> None:
    events = [MARKETING, SALE, {**SALE, "id": "s2", "at": "2026-07-01T11:00:00+08:00"}]
    end = dt.datetime(2026, 10, 1, tzinfo=CST)
    kept = evaluate_table(table_of(*events), PACK, batch_size=1, until=end)
    streamed: list[list[str]] = []
    result = evaluate_table(
        table_of(*events),
        PACK,
        batch_size=1,
        until=end,
        on_violations=lambda found: streamed.append([v.id for v in found]),
        keep_violations=False,
    )
    assert result.violations == ()
    assert result.stats.violations == kept.stats.violations == len(kept.violations)
    assert [i for part in streamed for i in part] == [v.id for v in kept.violations]
    assert len(streamed) > 2  # a call per batch that released something, and one for until
