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
# # Transfer across collections
#
# **Question.** Does a predictor trained on the nets of one dataset rank the nets of another?
# {cite:t}`unterthiner2020predicting` train a GBM on the all-layer statistics
# (`wstats-layers:0,1,2,3`) of collection *i* and evaluate it on the test runs of collection *j*: a
# grid of predicted-against-true scatters with Kendall τ in each panel (4 x 4 over MNIST,
# Fashion-MNIST, CIFAR10-GS and SVHN-GS).
#
# `zoolib.experiments.transfer_across`: train runs of *i* (early stopping and settings on *i*'s
# validation runs), test runs of every *j* (the split of Table 2), final checkpoints.

# %% tags=["remove-cell"]
# %matplotlib inline
from IPython.display import Markdown, display

from zoolib import book_zoos, experiments, plots
from zoolib.features import STATS

ctx = book_zoos.page()

# %% tags=["remove-input"]
absent = [n for n in ctx.missing if not n.endswith("_archs")]
display(Markdown(
    f"**Zoos:** {book_zoos.labels(ctx.main)}. This build has {len(ctx.main)} collection(s) of the paper's CNN, so the grid "
    f"is {len(ctx.main)} x {len(ctx.main)}. " + book_zoos.predictor_settings_note(ctx.profile)
    + (f"\n\n{book_zoos.missing_note(ctx.missing, absent)}" if absent else "")
    + ("" if not ctx.profile.generated else
       "\n\nThe paper's grid also has CIFAR10-GS and SVHN-GS: their zoos need the released zoo or the "
       f"CIFAR-10 and SVHN images, which the `{ctx.profile.name}` profile does not generate.")
    + "\n\n" + experiments.protocol_note(ctx.profile.folds)
))

# %%
transfer = experiments.transfer_across(ctx.named_zoos, predictor="gbm", inputs=STATS, preset=ctx.profile.preset,
                                       n_bootstrap=ctx.profile.n_bootstrap, folds=ctx.profile.folds)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The paper's Figure 5 on this build, transfer across datasets: predicted (y) against true (x) test accuracy of a GBM on the per-layer statistics trained on a row's collection and tested on a column's test runs, Kendall τ in each panel; diagonal panels (shaded) are ordinary test sets; red dashed: y = x. This build: {glue:text}`zoos`.", "name": "fig-transfer"}}
plots.transfer_grid(transfer.predictions, transfer.scores,
                    title=f"GBM on {STATS}: train on a row, test on a column\n{book_zoos.labels(ctx.main)}")

# %% [markdown]
# The panels of {numref}`fig-transfer` in numbers:

# %% tags=["remove-input"]
transfer.readable()

# %% tags=["remove-cell"]
experiments.transfer_across_finding(transfer).conclude()

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# The claim is made of several comparisons, one per pair of a training and a test dataset, so it is
# decided on their typical value: the median τ over the off-diagonal pairs, with its 95 % interval
# from the same bootstrap resamples of the test nets; how many pairs hold on their own (Holm's
# correction, 5 % overall) is reported beside it (`zoolib.claims`). Off the diagonal the predictor
# meets nets trained on data it never saw, which tests whether what it learned about weights is
# specific to one dataset. The accuracy *levels* differ between datasets (compare the histograms on
# [The zoo](zoo)), so a predictor can rank another dataset's nets well (high τ) while its R² is poor:
# its predictions are shifted as a whole, points in the right order but away from the red dashed line.
