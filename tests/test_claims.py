"""Verdicts follow the intervals, and the introduction's table pastes every claim from its page."""

import math
from pathlib import Path

import pytest

from zoolib import claims
from zoolib.claims import FAILS, HOLDS, UNDECIDED, Estimate

BOOK = Path(__file__).resolve().parents[1] / "book"


def test_greater_decides_from_disjoint_intervals_only():
    high, low = Estimate(0.9, 0.85, 0.95), Estimate(0.5, 0.4, 0.6)
    assert claims.greater(high, low) == HOLDS
    assert claims.greater(low, high) == FAILS
    assert claims.greater(Estimate(0.7, 0.55, 0.8), low) == UNDECIDED  # overlapping intervals
    assert claims.greater(Estimate(0.9, math.nan, math.nan), low) == UNDECIDED  # no interval: cannot tell
    assert claims.above(Estimate(0.2, 0.05, 0.3), 0.0) == HOLDS
    assert claims.above(Estimate(0.2, -0.05, 0.3), 0.0) == UNDECIDED
    assert claims.nonzero(Estimate(-0.4, -0.6, -0.2)) == claims.nonzero(Estimate(0.4, 0.2, 0.6)) == HOLDS
    assert claims.nonzero(Estimate(0.1, -0.1, 0.3)) == UNDECIDED


def test_combine_holds_only_when_every_part_holds():
    assert claims.combine([HOLDS, HOLDS]) == HOLDS
    assert claims.combine([HOLDS, UNDECIDED]) == UNDECIDED
    assert claims.combine([HOLDS, FAILS, UNDECIDED]) == FAILS
    assert claims.combine([]) == UNDECIDED


def test_estimate_reads_score_rows_and_prints_rounded():
    row = {"r2": 0.91634, "r2_ci_low": 0.871, "r2_ci_high": 0.954, "kendall_tau": 0.8, "tau_ci_low": 0.7, "tau_ci_high": 0.9}
    assert str(Estimate.from_row(row)) == "0.916 [0.87, 0.95]"
    assert Estimate.from_row(row, "kendall_tau") == Estimate(0.8, 0.7, 0.9)
    assert str(Estimate(math.nan)) == "undefined"
    assert str(Estimate(0.9962, 0.9958, 0.9966)) == "0.996 [0.996, 0.997]"  # not "0.996 [1.00, 1.00]"


def test_record_refuses_unknown_claims_and_verdicts():
    with pytest.raises(KeyError, match="unknown claim"):
        claims.record("no_such_claim", "1", HOLDS)
    with pytest.raises(ValueError, match="verdict"):
        claims.record("transfer", "1", "probably")


def test_the_introduction_holds_the_claims_table_of_every_claim():
    intro = (BOOK / "intro.md").read_text()
    assert claims.intro_table() in intro
    for key, claim in claims.CLAIMS.items():
        page = BOOK / f"{claim['page']}.py"
        assert page.is_file(), f"claim {key}: page {page} is missing"
        assert f'"{key}"' in page.read_text(), f"{page.name} never records claim {key!r}"


def test_a_page_that_opened_a_synthetic_zoo_gives_no_verdict(monkeypatch):
    glued = {}
    monkeypatch.setattr("myst_nb.glue", lambda name, value, display=True: glued.__setitem__(name, value))
    monkeypatch.setattr(claims, "_synthetic_zoos", [])
    claims.record("transfer", "0.5 [0.4, 0.6]", HOLDS)
    claims.glue_verdict("It holds.")
    assert glued["claim_transfer_verdict"] == HOLDS and glued["verdict"].data == "It holds."
    claims.note_synthetic("CIFAR10-GS")
    claims.record("transfer", "0.5 [0.4, 0.6]", HOLDS)
    claims.record("early", "no checkpoints", claims.NOT_RUN)
    claims.glue_verdict("It holds.")
    assert glued["claim_transfer_verdict"] == claims.SYNTHETIC_VERDICT
    assert glued["claim_early_verdict"] == claims.NOT_RUN
    assert glued["verdict"].data.startswith("**Not findings:**") and "CIFAR10-GS" in glued["verdict"].data
