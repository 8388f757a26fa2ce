# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Weight statistics
#
# **Question.** Which simple statistics of the weights carry the information about accuracy?
# {cite:t}`unterthiner2020predicting` plot two of them against each other: the range (max - min)
# of the first layer's biases and the range of the final layer's biases, on log-log axes, each net
# coloured by its test accuracy (their figure uses CIFAR10-GS). Then: which of the 56 per-layer
# statistics does a gradient-boosted tree rely on most?

# %% tags=["remove-cell"]
# %matplotlib inline
from IPython.display import Markdown, display

from zoolib import analyses, book_zoos, plots
from zoolib.features import STATS

ctx = book_zoos.page()

# %% tags=["remove-input"]
display(Markdown(
    f"**Zoos:** {book_zoos.labels(ctx.main)}."
    + ("" if "cifar10" in ctx.main else
       " The paper's figure uses CIFAR10-GS, which is not in this build; the figures show the collections it has.")
))

# %% [markdown]
# ## First-layer against final-layer bias range
#
# Statistics of the final checkpoints (`zoolib.analyses.bias_ranges`: percentiles 0 and 100 of each
# bias are its min and max), {numref}`fig-bias-ranges`.

# %%
ranges = {name: analyses.bias_ranges(zoo) for name, zoo in ctx.named_zoos.items()}

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The paper's Figure 4 on this build: range of the first layer's biases (x) against the range of the final layer's biases (y), log-log, one point per net coloured by its test accuracy, one panel per collection (the paper's figure shows CIFAR10-GS). This build: {glue:text}`zoos`.", "name": "fig-bias-ranges"}}
plots.bias_range_scatter(
    {name + (f"\n{dropped} non-finite nets left out" if dropped else ""): frame for name, (frame, dropped) in ranges.items()},
    "first-layer bias range", "final-layer bias range", title="Bias ranges at the final checkpoint",
    xlabel="first-layer bias range (max - min)", ylabel="final-layer bias range (max - min)",
)

# %% [markdown]
# How strongly each range alone ranks the nets: Kendall τ-b between the range and the test
# accuracy, with a 95 % bootstrap interval over nets (`zoolib.analyses.bias_range_correlations`).

# %% tags=["remove-input"]
correlations = analyses.bias_range_correlations({name: frame for name, (frame, _) in ranges.items()},
                                                ctx.profile.n_bootstrap)
correlations.readable()

# %% [markdown]
# ## Which statistics does the GBM use?
#
# A GBM fitted to the 56 statistics of `wstats-layers:0,1,2,3` on the training runs (early stopping
# and settings on the validation runs, the single split of Table 2); importance = total gain of the
# splits on each statistic (LightGBM's gain importance), as a share of the total
# (`zoolib.analyses.gbm_importance`). Column names: `layer{i}.{bias|kernel}.{p0|p25|p50|p75|p100|std|mean}`.

# %%
importance = {name: analyses.gbm_importance(zoo, STATS, ctx.profile.preset) for name, zoo in ctx.named_zoos.items()}
split = {name: share for name, share in importance.items() if share.sum() > 0}

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The 15 statistics with the largest share of the GBM's total split gain, one panel per collection. This build: {glue:text}`zoos`.", "name": "fig-importance"}}
plots.feature_importance(split, top=15, xlabel="share of the total gain",
                         title=f"GBM on {STATS}, top 15 statistics") if split else None

# %% tags=["remove-input"]
display(Markdown("" if len(split) == len(importance) else f"The GBM made no split on "
                 f"{', '.join(sorted(set(importance) - set(split)))} (too few training runs), so it has no importance to show."))

# %% tags=["remove-cell"]
correlations.finding(importance).conclude()

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# "Holds" needs both intervals of τ to exclude 0. Where the colour in {numref}`fig-bias-ranges` is
# far from random, good and bad nets occupy different regions of this plane, and a handful of
# per-layer statistics can predict accuracy; {numref}`fig-importance` shows which of them the tree
# ensemble leans on. With a small zoo, the order of the statistics beyond the first few is noisy.
