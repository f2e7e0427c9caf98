"""storage.filerules: the rule every file reader shares, and its last check in batches.write."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import batches, filerules
from storage.batches import Batch
from storage.db import open_db
from storage.observations import Observation


def test_conflicts_keep_an_identical_repeat_once_and_name_both_lines_of_a_conflict() -> None:
    seen = filerules.Conflicts()
    assert seen.add(100, 1.5, 2) is True
    assert seen.add(100, 1.5, 3) is False  # identical: kept once, no conflict
    assert not seen and seen.message() is None
    assert seen.add(200, 2.0, 4) is True
    assert seen.add(200, 9.0, 7) is False
    assert seen.add(200, 9.0, 8) is False  # a third copy of a value already named adds nothing
    assert seen
    msg = seen.message(lambda k: f"t={k}")
    assert msg is not None
    assert "1 timestamp(s) appear more than once with different values" in msg
    assert "t=200 (line 4: 2, line 7: 9)" in msg and "nothing imported" in msg


@pytest.mark.parametrize(
    ("text", "cut"),
    [
        ("ts,value\n2026-07-24,21.37\n", None),
        ("ts,value\r\n2026-07-24,21.37\r\n", None),
        ("", None),
        ("ts,value\n2026-07-24,2", (2, "2026-07-24,2")),
        ("ts,value", (1, "ts,value")),
    ],
)
def test_cut_off_line(text: str, cut: tuple[int, str] | None) -> None:
    assert filerules.cut_off_line(text) == cut


def test_check_file_tail_reads_only_the_end(tmp_path: Path) -> None:
    f = tmp_path / "big.csv"
    f.write_text("ts,value\n" + "2026-01-01,1\n" * 10_000 + "2026-01-02,1")
    with pytest.raises(filerules.FileRefused, match=r"ends in the middle of a line \('2026-01-02,1'"):
        filerules.check_file_tail(f, "big.csv")
    f.write_text("ts,value\n2026-01-02,1\n")
    filerules.check_file_tail(f, "big.csv")


def test_a_file_batch_with_two_values_at_one_time_writes_nothing(tmp_path: Path) -> None:
    """The last check: a reader that let a conflict through still writes nothing."""
    db = open_db(tmp_path / "x.db")
    try:
        obs = (
            Observation("cboe.vix.close", 86_400 * 20_000, 16.64, "cboe"),
            Observation("cboe.vix.close", 86_400 * 20_001, 17.0, "cboe"),
            Observation("cboe.vix.close", 86_400 * 20_000, 99.0, "cboe"),
        )
        with pytest.raises(
            filerules.FileRefused, match=r"cboe.vix.close at 2024-10-04T00:00:00Z \(16.64, 99\)"
        ):
            batches.write(db, Batch(obs, file="VIX_History.csv"), live=False)
        assert db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 0
        # the same time twice with one value is fine
        w = batches.write(db, Batch((*obs[:2], obs[0]), file="VIX_History.csv"), live=False)
        assert w.observations.new == 2
    finally:
        db.close()
