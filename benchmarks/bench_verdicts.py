"""Calibration of the verdict rules (zoolib.claims) on simulated zoos: how often each says "holds".

A simulated zoo is n test nets with true accuracies like a Fashion-MNIST mini zoo: 20 % stuck at chance
(exactly 0.1), the others 0.1 + 0.75 * Beta(2, 1.5), between chance and about 0.85 (with --zoo DIR: the
final test accuracies of that zoo, drawn with replacement). Two predictors of known quality predict the same
nets: prediction = truth + noise, the noise of A and of B correlated (--rho, as two predictors of the same
nets err alike), its level set so that the population R^2 (1 - noise variance / accuracy variance) is
--r2 for B and --r2 + --margin for A. Each simulation draws a zoo and both predictions (seeded), then decides
"A beats B on R^2" with
- the paired rule: claims.above on the interval of metrics.paired_difference (one-sided, so about 2.5 %
  false "holds" when A and B are equally good);
- the disjoint rule used before issue 21: "holds" when A's and B's separate 95 % bootstrap intervals
  (metrics.bootstrap_ci, the same seed: the same resamples, as metrics.score computes them) are disjoint.
It prints the rate of "holds" when A and B are equally good (a false "holds") and when A is better by the
margin (the power). Then the many-pairs rule: 20 pairs (5 architectures, each predicted by a GBM trained on
each of the 4 others; the 4 pairs of one test architecture share its --group-nets nets) with tau = 0 in every
pair, decided by claims.above on the interval of metrics.median_over_pairs; beside it the rate at which
Holm's correction (claims.holm) finds any pair, which the book reports but never decides on.
The last line is `verdict_calibration false_holds_paired=.. false_holds_disjoint=.. power_paired=..
power_disjoint=.. n_test=48 sims=..`.

    python benchmarks/bench_verdicts.py [--sims 1000] [--pair-sims 60] [--resamples 200] [--n-test 48] [--margin 0.1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from zoolib.claims import HOLDS, Estimate, above, holm
from zoolib.metrics import bootstrap_ci, median_over_pairs, paired_difference

CHANCE, STUCK = 0.1, 0.2  # Fashion-MNIST's chance accuracy; share of nets stuck there


def accuracies(rng: np.random.Generator, size, pool: np.ndarray | None = None) -> np.ndarray:
    """True test accuracies: drawn from `pool` (a zoo's), else the stated mini-zoo-like distribution."""
    if pool is not None:
        return rng.choice(pool, size)
    spread = CHANCE + 0.75 * rng.beta(2.0, 1.5, size)
    return np.where(rng.uniform(size=size) < STUCK, CHANCE, spread)


def predictions(rng: np.random.Generator, y: np.ndarray, r2_a: float, r2_b: float, rho: float,
                variance: float) -> tuple[np.ndarray, np.ndarray]:
    """Truth plus noise of population R^2 r2_a and r2_b, the two noises correlated by rho."""
    shared, own_a, own_b = (rng.normal(size=y.shape) for _ in range(3))
    noise = lambda r2, own: np.sqrt((1 - r2) * variance) * (np.sqrt(rho) * shared + np.sqrt(1 - rho) * own)
    return y + noise(r2_a, own_a), y + noise(r2_b, own_b)


def holds_rates(args: argparse.Namespace, margin: float, pool: np.ndarray | None, variance: float) -> tuple[float, float]:
    """Rates of "A beats B on R^2" by the paired and the disjoint rule over args.sims simulated zoos."""
    paired = disjoint = 0
    for sim in range(args.sims):
        rng = np.random.default_rng([args.seed, sim])
        y = accuracies(rng, args.n_test, pool)
        pred_a, pred_b = predictions(rng, y, args.r2 + margin, args.r2, args.rho, variance)
        difference = paired_difference(y, pred_a, pred_b, "r2", args.resamples, seed=sim)
        paired += above(Estimate.of(difference)) == HOLDS
        a_low, _ = bootstrap_ci(y, pred_a, "r2", args.resamples, seed=sim)
        _, b_high = bootstrap_ci(y, pred_b, "r2", args.resamples, seed=sim)
        disjoint += a_low > b_high
    return paired / args.sims, disjoint / args.sims


def many_pairs_rates(args: argparse.Namespace, pool: np.ndarray | None) -> tuple[float, float]:
    """Rates of a false "holds" of the median-over-pairs rule and of any pair found by Holm, tau = 0 in all."""
    median_holds = holm_any = 0
    architectures = 5
    for sim in range(args.pair_sims):
        rng = np.random.default_rng([args.seed, 1, sim])
        pairs = []
        for test in range(architectures):
            y = accuracies(rng, args.group_nets, pool)
            common = rng.normal(size=args.group_nets)  # the predictors of one test group err alike
            for _ in range(architectures - 1):
                pairs.append((f"arch{test}", y, np.sqrt(args.rho) * common + np.sqrt(1 - args.rho) * rng.normal(size=len(y))))
        median, p_values = median_over_pairs(pairs, "kendall_tau", args.resamples, seed=sim)
        median_holds += above(Estimate.of(median)) == HOLDS
        holm_any += holm(p_values).any()
    return median_holds / args.pair_sims, holm_any / args.pair_sims


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=1000, help="simulated zoos per setting (default 1000)")
    parser.add_argument("--pair-sims", type=int, default=60, help="simulated grids of 20 pairs (default 60: a grid costs "
                        "4,000 Kendall taus)")
    parser.add_argument("--resamples", type=int, default=200, help="bootstrap resamples per interval (default 200, as the book)")
    parser.add_argument("--n-test", type=int, default=48, help="test nets per zoo (default 48: Fashion-MNIST mini, single split)")
    parser.add_argument("--group-nets", type=int, default=32, help="test nets per architecture in the pairs check (default 32)")
    parser.add_argument("--r2", type=float, default=0.7, help="population R^2 of B (and of A when equally good)")
    parser.add_argument("--margin", type=float, default=0.1, help="A's R^2 minus B's in the power check (default 0.1)")
    parser.add_argument("--rho", type=float, default=0.5, help="correlation of the two predictors' errors (default 0.5)")
    parser.add_argument("--zoo", help="draw true accuracies from this zoo's final test accuracies")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    pool = None
    if args.zoo:
        from zoolib.zoo import read_metrics, select_rows

        metrics = read_metrics(f"{args.zoo}/metrics.csv.gz")
        pool = metrics["test_accuracy"].to_numpy(float)[select_rows(metrics, "final")]
        print(f"true accuracies: the {len(pool)} final test accuracies of {args.zoo}, drawn with replacement")
    else:
        print(f"true accuracies: {STUCK:.0%} at chance {CHANCE}, the others {CHANCE} + 0.75 * Beta(2, 1.5)")
    variance = float(np.var(accuracies(np.random.default_rng(args.seed), 1_000_000, pool)))
    print(f"{args.n_test} test nets, accuracy sd {np.sqrt(variance):.3f}; predictions = truth + noise, errors of A "
          f"and B correlated {args.rho}; {args.sims} zoos per setting, {args.resamples} bootstrap resamples", flush=True)
    false_paired, false_disjoint = holds_rates(args, 0.0, pool, variance)
    print(f"equally good (R^2 {args.r2:.2f} both): false 'holds' paired {false_paired:.3f}, disjoint "
          f"{false_disjoint:.3f} (one-sided 95 %: about 0.025)", flush=True)
    power_paired, power_disjoint = holds_rates(args, args.margin, pool, variance)
    print(f"A better (R^2 {args.r2 + args.margin:.2f} vs {args.r2:.2f}): 'holds' paired {power_paired:.3f}, disjoint "
          f"{power_disjoint:.3f} (power)", flush=True)
    median_false, holm_false = many_pairs_rates(args, pool)
    print(f"20 pairs with tau = 0 ({args.group_nets} nets per test architecture, {args.pair_sims} grids): false 'holds' of "
          f"the median over pairs {median_false:.3f}; Holm finds some pair {holm_false:.3f} (with {args.resamples} "
          f"resamples the smallest p-value is {1 / (args.resamples + 1):.4f}, Holm's first threshold 0.05/20 = 0.0025)")
    print(f"{time.perf_counter() - start:.0f} s")
    print(f"verdict_calibration false_holds_paired={false_paired:.3f} false_holds_disjoint={false_disjoint:.3f} "
          f"power_paired={power_paired:.3f} power_disjoint={power_disjoint:.3f} n_test={args.n_test} sims={args.sims}")


if __name__ == "__main__":
    main()
