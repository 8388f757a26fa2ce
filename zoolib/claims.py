"""The paper's claims and what this build's numbers say about them.

A verdict is decided from numbers and their 95 % intervals only, never from what the paper reports:
- `greater(a, b)`: "holds" when a's interval lies wholly above b's (or above b, a number), "does not
  hold" when wholly below, "cannot tell at this size" when the intervals overlap or a number is NaN;
- `above(a, level)`: the same against a fixed level (e.g. tau above 0: better than chance);
- `nonzero(a)`: "holds" when a's interval excludes 0, in either direction (a correlation of either sign).
Disjoint intervals are a conservative test (two overlapping intervals can still differ), so "cannot
tell" says that this zoo is too small to decide, not that the claim fails.

`CLAIMS` lists the claims the introduction's table shows, with the page that tests each and the
paper's number. A page decides its claims and calls `record(key, ours, verdict)`, which glues two
strings (myst-nb) that the introduction's table (`intro_table`) pastes: claim_<key>_ours and
claim_<key>_verdict. Every page glues its claims on every build (NOT_RUN where it cannot run them),
so a missing key fails the build (-W) instead of leaving a hole in the table.

A synthetic zoo (benchmarks/released_like.py) measures time and memory, never findings: once a page has
opened one (`zoolib.book_zoos.open_collection` calls `note_synthetic`), `record` glues SYNTHETIC_VERDICT
in place of any verdict and `glue_verdict` says so before the page's verdict sentences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HOLDS, FAILS, UNDECIDED = "holds", "does not hold", "cannot tell at this size"
NOT_RUN = "not run on this build"
SYNTHETIC_VERDICT = "no verdict: synthetic zoo (timing only)"
_synthetic_zoos: list[str] = []  # the data of the synthetic zoos this page (kernel) has opened, e.g. "MNIST"


@dataclass(frozen=True)
class Estimate:
    """A number with its 95 % interval (low, high); NaN where undefined."""

    value: float
    low: float = math.nan
    high: float = math.nan

    @classmethod
    def from_row(cls, row, metric: str = "r2") -> "Estimate":
        """From a row of `zoolib.metrics.score` (r2 with r2_ci_low/high, kendall_tau with tau_ci_low/high)."""
        prefix = "r2" if metric == "r2" else "tau"
        return cls(float(row[metric]), float(row[f"{prefix}_ci_low"]), float(row[f"{prefix}_ci_high"]))

    @property
    def defined(self) -> bool:
        return not any(math.isnan(v) for v in (self.value, self.low, self.high))

    def __str__(self) -> str:
        if math.isnan(self.value):
            return "undefined"
        if math.isnan(self.low) or math.isnan(self.high):
            return f"{self.value:.3f}"
        digits = 2 if round(self.low, 2) != round(self.high, 2) else 3  # not "[1.00, 1.00]" on a big zoo
        return f"{self.value:.3f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def greater(a: Estimate, b: Estimate | float) -> str:
    """Is a greater than b? Decided from the intervals (see the module docstring)."""
    b = b if isinstance(b, Estimate) else Estimate(float(b), float(b), float(b))
    if not (a.defined and b.defined):
        return UNDECIDED
    if a.low > b.high:
        return HOLDS
    if a.high < b.low:
        return FAILS
    return UNDECIDED


def above(a: Estimate, level: float) -> str:
    """Is a above a fixed level (e.g. 0 for a Kendall tau better than chance)?"""
    return greater(a, level)


def nonzero(a: Estimate) -> str:
    """Is a different from 0, in either direction (e.g. a correlation)? 'holds' when the interval
    excludes 0; an interval that includes 0 cannot tell (it cannot show that a is 0)."""
    if not a.defined:
        return UNDECIDED
    return HOLDS if a.low > 0 or a.high < 0 else UNDECIDED


def combine(verdicts: list[str]) -> str:
    """One verdict for a claim made of several comparisons: holds if all hold, fails if any fails."""
    if not verdicts:
        return UNDECIDED
    if any(v == FAILS for v in verdicts):
        return FAILS
    return HOLDS if all(v == HOLDS for v in verdicts) else UNDECIDED


# key -> (the claim in words, the page that tests it, the paper's number). The paper's numbers are
# from its Table 2 (v1 zoo, Fashion-MNIST, 15,000 training nets) and figures, not from any zoo here.
CLAIMS: dict[str, dict[str, str]] = {
    "stats_vs_hyper": {
        "claim": "A GBM on the 56 weight statistics predicts accuracy better than one on the hyperparameters",
        "page": "table2", "paper": "R² 0.993 vs 0.924 (Fashion-MNIST)"},
    "stats_vs_lr": {
        "claim": "The learning rate alone explains little of the accuracy",
        "page": "table2", "paper": "R² 0.035 vs 0.993 from the statistics (Fashion-MNIST)"},
    "gbm_vs_linear": {
        "claim": "On the statistics, the GBM beats the logit-linear model",
        "page": "table2", "paper": "R² 0.993 vs 0.804 (Fashion-MNIST)"},
    "more_nets": {
        "claim": "More training nets give a better predictor",
        "page": "learning_curve", "paper": "GBM R² 0.993 with 15,000 training nets (Fashion-MNIST)"},
    "bias_ranges": {
        "claim": "The bias ranges of the first and last layer rank nets by accuracy",
        "page": "weight_statistics", "paper": "Figure 4 (CIFAR10-GS): accuracy varies across the plane of the two ranges"},
    "transfer": {
        "claim": "A GBM trained on one dataset's nets ranks another dataset's nets",
        "page": "transfer_across", "paper": "Figure 5: positive τ off the diagonal"},
    "early": {
        "claim": "Weights after one epoch predict the final accuracy better than the initialization",
        "page": "early_checkpoints", "paper": "Figure 6: early checkpoints already predict the final accuracy"},
    "architectures": {
        "claim": "A GBM on wstats-arch ranks nets of architectures it never saw",
        "page": "architectures", "paper": "Figure 7 (v3+): positive τ off the diagonal"},
}


def note_synthetic(dataset_name: str) -> None:
    """Say that this page shows a synthetic zoo (of `dataset_name`): from now on its claims get no verdict."""
    if dataset_name not in _synthetic_zoos:
        _synthetic_zoos.append(dataset_name)


def record(key: str, ours: str, verdict: str) -> None:
    """Glue this build's numbers for a claim and its verdict, for the introduction's table."""
    from myst_nb import glue  # the book's dependency: imported only when a page records a claim

    if key not in CLAIMS:
        raise KeyError(f"unknown claim {key!r}; the claims are {sorted(CLAIMS)}")
    if verdict not in (HOLDS, FAILS, UNDECIDED, NOT_RUN):
        raise ValueError(f"verdict must be one of {HOLDS!r}, {FAILS!r}, {UNDECIDED!r}, {NOT_RUN!r}; got {verdict!r}")
    glue(f"claim_{key}_ours", ours, display=False)
    glue(f"claim_{key}_verdict", SYNTHETIC_VERDICT if _synthetic_zoos and verdict != NOT_RUN else verdict,
         display=False)


def glue_verdict(text: str) -> None:
    """Glue a page's verdict sentences (`verdict`, Markdown: pages paste it with {glue:md}), after a warning
    when the page showed a synthetic zoo."""
    from IPython.display import Markdown
    from myst_nb import glue

    if _synthetic_zoos:
        text = (f"**Not findings:** this page ran on synthetic released-size zoos ({', '.join(_synthetic_zoos)}), "
                f"made to measure time and memory; the sentences below show the computation only. {text}")
    glue("verdict", Markdown(text), display=False)


def intro_table() -> str:
    """The Markdown table of book/intro.md: one row per claim, pasting this build's numbers from its page."""
    lines = ["| claim | paper | this build | verdict |", "|---|---|---|---|"]
    for key, claim in CLAIMS.items():
        ours, verdict = (f"{{glue:text}}`{claim['page']}.py::claim_{key}_{part}:s`" for part in ("ours", "verdict"))
        lines.append(f"| {claim['claim']} ([page]({claim['page']})) | {claim['paper']} | {ours} | {verdict} |")
    return "\n".join(lines)
