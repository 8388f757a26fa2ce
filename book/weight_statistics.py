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
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from zoolib import analyses, book_zoos, claims, plots, profiles
from zoolib.claims import Estimate

profile = profiles.current_profile()
settings = profiles.settings(profile)
collections, missing = book_zoos.open_collections(profile)
main = book_zoos.main_collections(collections)
glue("zoos", book_zoos.labels(main), display=False)

# %% tags=["remove-input"]
display(Markdown(
    f"**Zoos:** {book_zoos.labels(main)}."
    + ("" if "cifar10" in main else
       " The paper's figure uses CIFAR10-GS, which is not in this build; the figures show the collections it has.")
))

# %% [markdown]
# ## First-layer against final-layer bias range
#
# Statistics of the final checkpoints (`zoolib.analyses.bias_ranges`: percentiles 0 and 100 of each
# bias are its min and max), {numref}`fig-bias-ranges`.

# %%
ranges = {name: analyses.bias_ranges(c.zoo) for name, c in main.items()}

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The paper's Figure 4 on this build: range of the first layer's biases (x) against the range of the final layer's biases (y), log-log, one point per net coloured by its test accuracy, one panel per collection (the paper's figure shows CIFAR10-GS). This build: {glue:text}`zoos`.", "name": "fig-bias-ranges"}}
plots.bias_range_scatter(
    {main[n].label() + (f"\n{dropped} non-finite nets left out" if dropped else ""): frame for n, (frame, dropped) in ranges.items()},
    "first-layer bias range", "final-layer bias range", title="Bias ranges at the final checkpoint",
    xlabel="first-layer bias range (max - min)", ylabel="final-layer bias range (max - min)",
)

# %% [markdown]
# How strongly each range alone ranks the nets: Kendall τ-b between the range and the test
# accuracy, with a 95 % bootstrap interval over nets (`zoolib.analyses.rank_correlation`).

# %% tags=["remove-input"]
correlations = {}
for name, (frame, _) in ranges.items():
    for column in ("first-layer bias range", "final-layer bias range"):
        correlations[(name, column)] = Estimate(*analyses.rank_correlation(frame[column], frame["test_accuracy"],
                                                                           settings["n_bootstrap"]))
pd.DataFrame([{"collection": main[n].label(), "statistic": column, "nets": len(ranges[n][0]),
               "Kendall τ with test accuracy [95 % CI]": str(e)} for (n, column), e in correlations.items()]
             ).set_index(["collection", "statistic"])

# %% [markdown]
# ## Which statistics does the GBM use?
#
# A GBM fitted to the 56 statistics of `wstats-layers:0,1,2,3` on the training runs (early stopping
# and settings on the validation runs, same split as Table 2); importance = total gain of the splits
# on each statistic (LightGBM's gain importance), as a share of the total
# (`zoolib.analyses.gbm_importance`). Column names: `layer{i}.{bias|kernel}.{p0|p25|p50|p75|p100|std|mean}`.

# %%
importance = {name: analyses.gbm_importance(c.zoo, "wstats-layers:0,1,2,3", settings["preset"]) for name, c in main.items()}
no_split = [main[n].label() for n, share in importance.items() if share.sum() == 0]

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The 15 statistics with the largest share of the GBM's total split gain, one panel per collection. This build: {glue:text}`zoos`.", "name": "fig-importance"}}
split = {main[n].label(): share for n, share in importance.items() if share.sum() > 0}
plots.feature_importance(split, top=15, xlabel="share of the total gain",
                         title="GBM on wstats-layers:0,1,2,3, top 15 statistics") if split else None

# %% tags=["remove-input"]
display(Markdown("" if not no_split else
                 f"The GBM made no split on {', '.join(no_split)} (too few training runs), so it has no importance to show."))

# %% tags=["remove-cell"]
parts, verdicts = [], []
for name, collection in main.items():
    first, last = correlations[(name, "first-layer bias range")], correlations[(name, "final-layer bias range")]
    verdict = claims.combine([claims.nonzero(first), claims.nonzero(last)])
    verdicts.append(verdict)
    top = importance[name].nlargest(3)
    parts.append(f"{collection.dataset_name}: Kendall τ of accuracy with the first-layer range {first}, with the "
                 f"final-layer range {last} ({verdict})"
                 + (f"; the GBM's top three statistics ({', '.join(top.index)}) take {top.sum():.0%} of its gain"
                    if top.sum() > 0 else ""))
claims.record("bias_ranges", "; ".join(p.split(";")[0] for p in parts), claims.combine(verdicts))
claims.glue_verdict("; ".join(parts) + f". Both bias ranges rank the nets by accuracy (in either direction): "
                    f"{claims.combine(verdicts)}.")

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# "Holds" needs both intervals of τ to exclude 0. Where the colour in {numref}`fig-bias-ranges` is
# far from random, good and bad nets occupy different regions of this plane, and a handful of
# per-layer statistics can predict accuracy; {numref}`fig-importance` shows which of them the tree
# ensemble leans on. With a small zoo, the order of the statistics beyond the first few is noisy.
