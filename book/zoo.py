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
# # The zoo
#
# **Question.** What do the nets of the zoo look like: which hyperparameters were they trained with,
# and how accurate did they get?
#
# ## Table 1: the hyperparameter space and the schedule
#
# Every run draws its hyperparameters independently from this space (`zoolib.hparams.SPACE`). The
# paper {cite:p}`unterthiner2020predicting` gives the names and values; the ranges of the continuous
# ones are reconstructed (inferred from the released zoo), not quoted from the paper. The schedule
# rows put this build's beside the paper's: a small zoo trains for fewer epochs, on fewer images, and
# leaves out train fractions that would hold less than one batch.

# %% tags=["remove-cell"]
# %matplotlib inline
from IPython.display import Markdown, display

from zoolib import book_zoos, claims, hparams, plots

ctx = book_zoos.page()

# %% tags=["remove-input"]
display(Markdown(f"**Table 1.** Hyperparameters and schedule: the paper's and this build's ({book_zoos.labels(ctx.main)})."))
book_zoos.table1(ctx.collections)

# %% [markdown]
# ## The sampled hyperparameters
#
# The distributions the collections of this build actually drew, one count per run
# ({numref}`fig-hyperparameters`).

# %% tags=["remove-input"]
display(Markdown(book_zoos.missing_note(ctx.missing) or "All collections of this profile are present."))

# %% tags=["remove-cell"]
finals = book_zoos.final_rows(ctx.main)
runs = book_zoos.pooled_final_rows(ctx.main)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The hyperparameters this build's runs drew from Table 1's space, all main collections together, one count per run. This build: {glue:text}`zoos`.", "name": "fig-hyperparameters"}}
plots.hyperparameter_distributions(runs, hparams.SPACE, title=f"Sampled hyperparameters: {book_zoos.labels(ctx.main)}")

# %% [markdown]
# ## Figure 2: accuracy of the nets
#
# Top: histogram of the final test accuracy (15 bins on [0, 1]). Bottom: test (x) against train (y)
# accuracy of up to 1,000 random nets, with the red dashed line y = x. One column per collection
# ({numref}`fig-accuracy`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The paper's Figure 2 on this build: final test accuracy histograms (top, 15 bins) and test against train accuracy (bottom, red dashed: y = x), one column per collection. This build: {glue:text}`zoos`.", "name": "fig-accuracy"}}
plots.accuracy_distributions({f"{c.dataset_name}\n{ctx.profile.name} zoo, {c.epochs()} epochs": finals[name] for name, c in ctx.main.items()},
                             n_scatter=1000, title=f"Final checkpoints of the {ctx.profile.name} zoos")

# %% tags=["remove-input"]
summary = book_zoos.accuracy_summary(ctx.main)
summary

# %% tags=["remove-cell"]
claims.glue_verdict(book_zoos.accuracy_verdict(summary))

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# Random hyperparameters give a wide spread of accuracies, from nets stuck at chance level (about
# 0.1: training diverged or never got going) to nets close to the best this small CNN reaches. This
# spread is what makes predicting accuracy from weights a meaningful task: a predictor must tell
# apart failed, mediocre and good nets. A zoo where most nets sit at chance gives a predictor little
# to rank, and ties among the true accuracies lower the τ any predictor can reach. On a `tiny`,
# `mini` or `standard` zoo the nets were trained for far fewer epochs than the paper's 86, so expect lower
# accuracies than in the paper's figure.
