"""The distribution of a meeting's move: buckets, their series ids, the expected move."""

from __future__ import annotations

import pytest

from signals.fomc_dist import (
    HOLD,
    Bucket,
    dist_observations,
    expected_move,
    fold_common,
    outcomes,
    parse_suffix,
    venue_bucket,
)


@pytest.mark.parametrize(
    ("bucket", "suffix", "label"),
    [
        (Bucket(-50, True), "cut50plus", "a cut of 50 bp or more"),
        (Bucket(-25), "cut25", "a 25 bp cut"),
        (HOLD, "hold", "no change"),
        (Bucket(75), "hike75", "a 75 bp hike"),
        (Bucket(100), "hike100", "a 100 bp hike"),
    ],
)
def test_suffix_and_label_round_trip(bucket: Bucket, suffix: str, label: str) -> None:
    assert bucket.suffix == suffix and bucket.label == label
    assert parse_suffix(suffix) == bucket


@pytest.mark.parametrize(
    "suffix", ["cut", "hike", "cut0", "cut30", "move_bp", "path_bp", "cutplus", "hike-25"]
)
def test_other_suffixes_are_not_buckets(suffix: str) -> None:
    assert parse_suffix(suffix) is None


def test_venue_buckets() -> None:
    assert venue_bucket("cut", 26) == Bucket(-50, True)  # Kalshi C26: more than 25 bp
    assert venue_bucket("hike", 25) == Bucket(25)
    assert venue_bucket("cut", 0) == HOLD


def test_expected_move_folds_and_outcomes() -> None:
    dist = {Bucket(-75): 0.2, Bucket(-50): 0.5, Bucket(-25): 0.3}
    assert expected_move(dist) == pytest.approx(-75 * 0.2 - 50 * 0.5 - 25 * 0.3)
    assert fold_common(dist) == {
        Bucket(-50, True): pytest.approx(0.7),
        Bucket(-25): 0.3,
        HOLD: 0.0,
        Bucket(25): 0.0,
        Bucket(50, True): 0.0,
    }
    assert outcomes(dist) == {"cut": pytest.approx(1.0), "hold": 0.0, "hike": 0.0}
    # an open bucket counts at its least size: a floor of the mean
    assert expected_move({Bucket(-50, True): 0.25, HOLD: 0.75}) == -12.5


def test_dist_observations_write_every_series() -> None:
    rows = dist_observations("fedwatch", "2019-07-31", 0, {Bucket(-25): 0.7, Bucket(-50): 0.3}, "fedwatch-zq")
    got = {o.series.rsplit(".", 1)[1]: o.value for o in rows}
    assert got == {"cut": 1.0, "hold": 0.0, "hike": 0.0, "cut25": 0.7, "cut50": 0.3, "move_bp": -32.5}
