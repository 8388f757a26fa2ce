"""Verdicts follow the intervals, and the introduction's table pastes every claim from its page."""

import math
from pathlib import Path

import numpy as np
import pytest

from zoolib import claims
from zoolib.claims import FAILS, HOLDS, UNDECIDED, Estimate

BOOK = Path(__file__).resolve().parents[1] / "book"


def test_above_and_nonzero_decide_from_the_interval_only():
    assert claims.above(Estimate(0.24, 0.09, 0.41)) == HOLDS  # a paired difference above 0
    assert claims.above(Estimate(-0.2, -0.3, -0.1)) == FAILS
    assert claims.above(Estimate(0.2, -0.05, 0.3)) == UNDECIDED
    assert claims.above(Estimate(0.9, math.nan, math.nan)) == UNDECIDED  # no interval: cannot tell
    assert claims.above(Estimate(0.6, 0.55, 0.7), 0.5) == HOLDS and claims.above(Estimate(0.6, 0.45, 0.7), 0.5) == UNDECIDED
    assert claims.nonzero(Estimate(-0.4, -0.6, -0.2)) == claims.nonzero(Estimate(0.4, 0.2, 0.6)) == HOLDS
    assert claims.nonzero(Estimate(0.1, -0.1, 0.3)) == UNDECIDED


def test_holm_steps_down_until_the_first_p_value_above_its_threshold():
    # sorted 0.005 <= 0.05/4, 0.01 <= 0.05/3, then 0.03 > 0.05/2: stop, 0.04 is not rejected either
    np.testing.assert_array_equal(claims.holm([0.01, 0.04, 0.03, 0.005]), [True, False, False, True])
    np.testing.assert_array_equal(claims.holm([0.001, math.nan, 0.02]), [True, False, True])  # NaN: never
    np.testing.assert_array_equal(claims.holm([0.02, 0.03], alpha=0.05), [True, True])  # 0.02 <= 0.025, 0.03 <= 0.05
    np.testing.assert_array_equal(claims.holm([0.03, 0.04]), [False, False])  # 0.03 > 0.025 though below 0.05
    assert claims.holm([]).shape == (0,)


def test_nets_to_decide_scales_the_width_as_one_over_sqrt_n():
    # half width 0.15 is 1.5 times the value 0.1: (1.5)^2 = 2.25 times the 48 nets
    assert claims.nets_to_decide(Estimate(0.1, -0.05, 0.25), 48) == 108
    assert claims.nets_to_decide(Estimate(0.3, 0.1, 0.5), 48) == 48  # already decided: no more nets needed
    assert claims.nets_to_decide(Estimate(0.0, -0.1, 0.1), 48) is None
    assert claims.nets_to_decide(Estimate(0.1), 48) is None


def test_compared_states_the_difference_its_verdict_and_for_cannot_tell_the_nets_to_decide():
    assert claims.compared(Estimate(0.24, 0.09, 0.41), 48, "R² difference") == "R² difference +0.240 [0.09, 0.41] (holds)"
    assert claims.compared(Estimate(-0.2, -0.3, -0.1), 48) == "difference -0.200 [-0.30, -0.10] (does not hold)"
    assert claims.compared(Estimate(0.1, -0.05, 0.25), 48) == (
        "difference +0.100 [-0.05, 0.25] (cannot tell at this size: the interval is 0.30 wide on 48 test nets; "
        "about 108 would separate a difference of this size from 0)")
    assert claims.compared(Estimate(math.nan), 48) == "difference undefined (cannot tell at this size)"


def test_estimate_of_a_triple_and_its_signed_text():
    difference = Estimate.of((np.float64(0.24), np.float64(0.09), 0.41))
    assert difference == Estimate(0.24, 0.09, 0.41) and type(difference.value) is float
    assert difference.signed() == "+0.240 [0.09, 0.41]"
    assert Estimate(-0.1, -0.2, 0.0).signed() == "-0.100 [-0.20, 0.00]" and Estimate(math.nan).signed() == "undefined"


def test_a_finding_records_its_claims_and_glues_its_sentences(monkeypatch):
    glued = {}
    monkeypatch.setattr("myst_nb.glue", lambda name, value, display=True: glued.__setitem__(name, value))
    monkeypatch.setattr(claims, "_synthetic_zoos", [])
    finding = claims.Finding((claims.Claim("transfer", "τ 0.5 [0.4, 0.6]", HOLDS),
                              claims.Claim("early", "R² difference +0.1 [-0.1, 0.3]", UNDECIDED)), "It holds.")
    finding.conclude()
    assert glued["claim_transfer_ours"] == "τ 0.5 [0.4, 0.6]" and glued["claim_transfer_verdict"] == HOLDS
    assert glued["claim_early_verdict"] == UNDECIDED and glued["verdict"].data == "It holds."
    glued.clear()
    claims.Finding.not_run(["transfer", "early"], "one dataset only").conclude()
    assert glued["claim_transfer_verdict"] == glued["claim_early_verdict"] == claims.NOT_RUN
    assert glued["claim_early_ours"] == "one dataset only" and glued["verdict"].data == "one dataset only"


def test_the_calibration_benchmark_prints_its_line():
    import re
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_verdicts.py"
    out = subprocess.run([sys.executable, str(script), "--sims", "20", "--pair-sims", "2", "--resamples", "50"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    rate = r"(0\.\d{3}|1\.000)"
    assert re.fullmatch(rf"verdict_calibration false_holds_paired={rate} false_holds_disjoint={rate} "
                        rf"power_paired={rate} power_disjoint={rate} n_test=48 sims=20", last), last


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
        assert ".conclude()" in page.read_text(), f"{page.name} never records its findings (claim {key!r})"
    library = "".join(p.read_text() for p in (BOOK.parent / "zoolib").glob("*.py"))
    for key in claims.CLAIMS:  # a finding of the library decides each claim (`Claim("<key>"`, or a table of them)
        assert f'"{key}"' in library.replace(f'"{key}": {{', ""), f"no finding in zoolib decides claim {key!r}"


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
