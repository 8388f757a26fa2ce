"""The paper's claims and what this build's numbers say about them.

A verdict is decided from numbers and their 95 % bootstrap intervals only, never from what the paper
reports. The rules, fixed by the calibration of benchmarks/bench_verdicts.py and then applied:
- one comparison of two numbers measured on the same nets (two predictors, two inputs, two checkpoints,
  two training sizes) is decided from the interval of their DIFFERENCE on the same bootstrap resamples
  of the test nets (`zoolib.metrics.paired_difference`): `above(difference)` says "holds" when the
  interval lies above 0, "does not hold" when below, else "cannot tell at this size";
- a number against a fixed level (tau above 0: better than chance) is `above(estimate, level)` on its
  one-sample interval; `nonzero(a)`: "holds" when a's interval excludes 0, in either direction;
- a claim tested on several datasets (`combine`) holds when it holds on every one (an
  intersection-union test: its rate of a false "holds" is at most that of one comparison) and does not
  hold when it fails on any one;
- a claim made of many comparisons of one kind (the pairs of a transfer grid) is decided on the median
  over the pairs, with the interval of that median from the same bootstrap resamples
  (`zoolib.metrics.median_over_pairs`); how many pairs hold on their own after Holm's correction
  (`holm`, familywise 5 %) is reported beside it, never used to decide.
"Cannot tell" says that this zoo is too small to decide, not that the claim fails; `nets_to_decide` says
roughly how many test nets would (interval width shrinking as 1/sqrt(n)).

`CLAIMS` lists the claims the introduction's table shows, with the page that tests each and the
paper's number. An experiment's result returns a `Finding` (its claims with their verdicts and the
page's verdict sentences); `Finding.conclude()` calls `record(key, ours, verdict)` for each claim, which
glues two strings (myst-nb) that the introduction's table (`intro_table`) pastes: claim_<key>_ours and
claim_<key>_verdict, then glues the sentences. Every page records its claims on every build (NOT_RUN
where it cannot run them), so a missing key fails the build (-W) instead of leaving a hole.

A synthetic zoo (benchmarks/released_like.py) measures time and memory, never findings: once a page has
opened one (`zoolib.book_zoos.open_collection` calls `note_synthetic`), `record` glues SYNTHETIC_VERDICT
in place of any verdict and `glue_verdict` says so before the page's verdict sentences.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    def of(cls, value_low_high: tuple[float, float, float]) -> "Estimate":
        """From (value, low, high), e.g. `zoolib.metrics.paired_difference`."""
        return cls(*(float(v) for v in value_low_high))

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

    def signed(self) -> str:
        """As str, with the sign of the value (a difference): '+0.240 [0.09, 0.41]'."""
        text = str(self)
        return text if math.isnan(self.value) or self.value < 0 else "+" + text


def interval_table(scores: pd.DataFrame, index: list[str], extra: Sequence[str] = ("n_test",)) -> pd.DataFrame:
    """Scores as a reader sees them: R² and Kendall τ with their intervals, the τ ceiling, indexed by `index`."""
    table = scores[[*index, *extra]].copy()
    table["R² [95 % CI]"] = [str(Estimate.from_row(r)) for _, r in scores.iterrows()]
    table["Kendall τ [95 % CI]"] = [str(Estimate.from_row(r, "kendall_tau")) for _, r in scores.iterrows()]
    table["τ ceiling"] = scores["tau_ceiling"].map("{:.3f}".format)
    return table.set_index(index)


def above(a: Estimate, level: float = 0.0) -> str:
    """Is a above `level`? A paired difference against 0, or one number against a fixed level (e.g. 0 for a
    Kendall tau better than chance): 'holds' when a's interval lies above, 'does not hold' when below."""
    if not a.defined:
        return UNDECIDED
    if a.low > level:
        return HOLDS
    if a.high < level:
        return FAILS
    return UNDECIDED


def nonzero(a: Estimate) -> str:
    """Is a different from 0, in either direction (e.g. a correlation)? 'holds' when the interval
    excludes 0; an interval that includes 0 cannot tell (it cannot show that a is 0)."""
    if not a.defined:
        return UNDECIDED
    return HOLDS if a.low > 0 or a.high < 0 else UNDECIDED


def combine(verdicts: list[str]) -> str:
    """One verdict for a claim tested on several datasets: holds if it holds on all, fails if it fails on any."""
    if not verdicts:
        return UNDECIDED
    if any(v == FAILS for v in verdicts):
        return FAILS
    return HOLDS if all(v == HOLDS for v in verdicts) else UNDECIDED


def holm(p_values, alpha: float = 0.05) -> np.ndarray:
    """Which hypotheses Holm's step-down procedure rejects at familywise level `alpha` (NaN: never)."""
    p = np.asarray(p_values, float)
    rejected = np.zeros(len(p), bool)
    for rank, i in enumerate(np.argsort(np.where(np.isnan(p), np.inf, p))):
        if not p[i] <= alpha / (len(p) - rank):
            break
        rejected[i] = True
    return rejected


def nets_to_decide(difference: Estimate, n: int) -> int | None:
    """Roughly how many test nets would give an interval of `difference` (measured on n nets) that excludes 0,
    if its width shrank as 1/sqrt(n) around the same value; None when undefined or the value is 0."""
    if not difference.defined or difference.value == 0:
        return None
    half_width = (difference.high - difference.low) / 2
    return max(n, math.ceil(n * (half_width / abs(difference.value)) ** 2))


def compared(difference: Estimate, n: int, what: str = "difference") -> str:
    """'<what> +0.24 [0.09, 0.41] (holds)', with, for 'cannot tell', the interval's width and the nets that
    would decide it."""
    verdict = above(difference)
    text = f"{what} {difference.signed()} ({verdict}"
    needed = nets_to_decide(difference, n) if verdict == UNDECIDED else None
    if needed is not None:
        text += (f": the interval is {difference.high - difference.low:.2f} wide on {n} test nets; about "
                 f"{needed:,} would separate a difference of this size from 0")
    return text + ")"


@dataclass(frozen=True)
class Claim:
    """One claim of `CLAIMS` as this build decides it: its key, this build's numbers, the verdict."""

    key: str
    ours: str
    verdict: str


@dataclass(frozen=True)
class Finding:
    """What a page concludes: its claims and its verdict sentences (Markdown)."""

    claims: tuple[Claim, ...]
    text: str

    def conclude(self) -> None:
        """Record every claim for the introduction's table and glue the verdict sentences."""
        for claim in self.claims:
            record(claim.key, claim.ours, claim.verdict)
        glue_verdict(self.text)

    @classmethod
    def not_run(cls, keys: list[str], why: str) -> "Finding":
        """A page that could not test its claims on this build: NOT_RUN, and why."""
        return cls(tuple(Claim(key, why, NOT_RUN) for key in keys), why)


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
