"""bench.importer on a small file: one ``import.rss`` metric, the big import checked complete."""

from __future__ import annotations

from pathlib import Path

from bench import importer


def test_import_rss_is_measured_on_a_complete_import() -> None:
    (m,) = list(importer.run(big_mib=3))
    assert m.metric == "import.rss" and m.unit == "MiB" and m.goal == "<= 1.5x"
    assert m.value > 20 and m.limit is not None and m.limit > 20  # two real interpreters' peaks
    assert "rows" in m.note and "3 MiB file" in m.note


def test_the_generated_file_is_what_import_accepts(tmp_path: Path) -> None:
    rows = importer.write_csv(tmp_path / "v.csv", 0.5)
    text = (tmp_path / "v.csv").read_text().splitlines()
    assert text[0] == "ts,value" and len(text) == rows + 1 and rows >= 25_000
    assert (tmp_path / "v.csv").stat().st_size >= 0.5 * 1024 * 1024
