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
# # Early checkpoints
#
# **Question.** How early in training can the weights tell how good the net will be at the end? For
# each checkpoint epoch, a GBM sees the statistics (`wstats-layers:0,1,2,3`) of the weights at that
# epoch and predicts the run's **final** test accuracy. If early weights suffice, bad runs could be
# stopped early, the motivation {cite:t}`unterthiner2020predicting` give, after
# {cite:t}`domhan2015speeding`, who extrapolate learning curves to the same end.
#
# `zoolib.experiments.early_checkpoints`: the same train / validation / test runs at every epoch
# (runs that diverged before an epoch have no checkpoint there and drop out of it).

# %% tags=["remove-cell"]
# %matplotlib inline
from IPython.display import Markdown, display

from zoolib import book_zoos, experiments, plots
from zoolib.features import STATS

ctx = book_zoos.page()

# %% tags=["remove-input"]
display(Markdown(f"**Zoos:** {book_zoos.labels(ctx.main)}. " + book_zoos.predictor_settings_note(ctx.profile)))
display(Markdown(book_zoos.paper_datasets_note(ctx.collections) or "This build covers all four datasets of the paper."))
display(Markdown(experiments.protocol_note(ctx.profile.folds)))

# %%
early = experiments.early_checkpoints(ctx.named_zoos, predictor="gbm", inputs=STATS, preset=ctx.profile.preset,
                                      n_bootstrap=ctx.profile.n_bootstrap, folds=ctx.profile.folds)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The paper's Figure 6 on this build: test R² (left) and Kendall τ (right) of a GBM predicting each run's final test accuracy from the per-layer statistics of its weights at one checkpoint epoch (x; 0 is the initialization), with 95 % bootstrap bands; dotted: the τ ceiling from ties. This build: {glue:text}`zoos`.", "name": "fig-early"}}
plots.early_checkpoint_curve(early.scores, group="collection",
                             title=f"GBM on {STATS}: final test accuracy from the weights at each epoch\n{book_zoos.labels(ctx.main)}")

# %% [markdown]
# The points of {numref}`fig-early`:

# %% tags=["remove-input"]
early.readable()

# %% tags=["remove-cell"]
early.finding().conclude()

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# Epochs 1 and 0 are compared on the same test runs, through the interval of the difference of
# their τ (`zoolib.claims`). Epoch 0 is the initialization: its weights carry only what the
# hyperparameters put there (initializer and its scale), so its score says how much the
# initialization alone predicts. The later points show how quickly the weights come to reveal where
# a run will end up; where the curve is flat, stopping a run that looks bad at that epoch loses
# little. On a `tiny`, `mini` or `standard` zoo the "final" epoch may itself be early, so this page shows how
# quickly the ranking settles within that schedule, not over the paper's 86 epochs.
