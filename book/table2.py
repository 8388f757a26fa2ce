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
# # Table 2: predicting accuracy from weights
#
# **Question.** How well do three predictors, a logit-linear model, gradient-boosted trees
# (LightGBM, {cite:p}`ke2017lightgbm`) and a DNN (Keras, {cite:p}`chollet2015keras`), predict a net's
# test accuracy from different views of the net: its raw weights, per-layer statistics or norms of
# the weights, or its hyperparameters? This is Table 2 of {cite:t}`unterthiner2020predicting`.
#
# **Protocol** (`zoolib.evaluation.evaluate_predictor`): final checkpoint of every run; runs split
# by run into train / validation / test, either once as in the paper (50 % of the runs test, 10 %
# validation) or by cross-fitting (every run predicted once by a model fitted on the other folds; the
# profile decides, and the note below says which); early stopping and any choice of settings on the
# validation runs only; each test run is predicted once. The paper's
# released notebook early-stopped on the test split; we do not. Metrics: R² = 1 - MSE / Var(y) and
# Kendall τ-b {cite:p}`kendall1938new` on the test runs, with 95 % bootstrap intervals over test
# nets, and the highest τ-b a ranker can reach given the ties among the true accuracies (the *τ
# ceiling*).

# %% tags=["remove-cell"]
# %matplotlib inline
import tensorflow as tf
from IPython.display import Markdown, display

from zoolib import book_zoos, experiments, plots
from zoolib.features import INPUTS

tf.get_logger().setLevel("ERROR")  # no retracing notices from the DNN predictor in the page

ctx = book_zoos.page()

# %% tags=["remove-input"]
display(Markdown(
    f"**Zoos:** {book_zoos.labels(ctx.main)}.\n\n" + book_zoos.predictor_settings_note(ctx.profile)
    + ("" if not ctx.profile.table2_inputs else " " + book_zoos.table2_inputs_note(ctx.profile))
))
display(Markdown(book_zoos.missing_note(ctx.missing, [n for n in ctx.missing if not n.endswith("_archs")])
                 or "Every collection this page uses is present in this build."))
display(Markdown(book_zoos.paper_datasets_note(ctx.collections) or "This build covers all four datasets of the paper."))
display(Markdown(experiments.protocol_note(ctx.profile.folds)))

# %% [markdown]
# Every cell of the table is one call of `evaluate_predictor`; `experiments.table2` runs them all:

# %%
result = experiments.table2(ctx.named_zoos, inputs=book_zoos.table2_inputs(ctx.profile),
                            preset=ctx.profile.preset, n_bootstrap=ctx.profile.n_bootstrap,
                            folds=ctx.profile.folds)

# %% [markdown]
# ## Test R²: this build beside the paper
#
# "this build" is computed on this build's zoo, with its 95 % bootstrap interval over the test nets.
# "paper" is the number the paper's authors published for their **v1 zoo** (18 epochs, about 20,000
# nets per dataset, 15,000 of them for training; full MNIST, where this build may use a 5k subset); it
# is not a number of this build's zoo. "-": not run on this build (see above); "undefined": run, but
# the metric has no value (τ of constant predictions).

# %% tags=["remove-input"]
result.readable("r2")

# %% [markdown]
# The same cells' Kendall τ-b (this build only; the paper's τ is not listed here):

# %% tags=["remove-input"]
result.readable("kendall_tau")

# %% [markdown]
# ## Our R² against the paper's
#
# One point per (collection, predictor, input) that has both numbers ({numref}`fig-r2-vs-paper`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Test R² of this build (x) against the paper's v1 zoo (y), one point per collection, predictor and input; on the red dashed line they agree. This build: {glue:text}`zoos`.", "name": "fig-r2-vs-paper"}}
plots.r2_vs_paper(result.scores, title=f"Test R², {ctx.profile.name} zoos (x) vs the paper's v1 zoo (y)")

# %% [markdown]
# ## What was chosen on the validation runs
#
# The setting each cell's search kept (empty: fixed settings; with cross-fitting, one per fold).

# %% tags=["remove-input"]
chosen = result.scores.pivot_table(index="inputs", columns=["collection", "predictor"], values="chosen", aggfunc="first")
chosen.reindex(INPUTS).fillna("-") if chosen.size else Markdown("No search on this profile: fixed settings.")

# %% tags=["remove-cell"]
result.finding().conclude()

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# Each claim compares two cells measured on the same test nets, so it is decided from the 95 %
# interval of their *difference* over the same bootstrap resamples of those nets: "holds" when it
# lies above 0, "does not hold" when below, "cannot tell at this size" when it contains 0; a claim
# holds when it holds on every dataset (`zoolib.claims`). In the paper the GBM and the DNN reach R²
# 0.98-0.99 from the 56 per-layer statistics, the learning rate alone explains almost nothing and
# the linear model lags far behind; a zoo with far fewer training nets gives lower R² and wider
# intervals.
