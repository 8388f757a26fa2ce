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
# # How many nets does the method need?
#
# **Question.** The paper's predictors learn from 15,000 training nets per dataset
# {cite:p}`unterthiner2020predicting`; this build's zoos have far fewer. How do the test R² and
# Kendall τ of the GBM and the DNN on the 56 per-layer statistics (`wstats-layers:0,1,2,3`) grow
# with the number of training nets? The curve says how much of the gap to the paper's numbers is
# the size of the zoo.
#
# `zoolib.analyses.learning_curve`: the split of Table 2 (same validation and test runs at every
# size); the predictor sees only the first *n* training runs of one seeded shuffle (nested subsets),
# up to the most that every fit's training part holds; settings as on [Table 2](table2), chosen on
# the validation runs.

# %% tags=["remove-cell"]
# %matplotlib inline
import tensorflow as tf
from IPython.display import Markdown, display

from zoolib import analyses, book_zoos, experiments, plots
from zoolib.features import STATS

tf.get_logger().setLevel("ERROR")  # no retracing notices from the DNN predictor in the page

ctx = book_zoos.page()

# %% tags=["remove-input"]
display(Markdown(f"**Zoos:** {book_zoos.labels(ctx.main)}. " + book_zoos.predictor_settings_note(ctx.profile)))
display(Markdown(experiments.protocol_note(ctx.profile.folds)))

# %%
curves = analyses.learning_curve(ctx.named_zoos, ("gbm", "dnn"), STATS, preset=ctx.profile.preset,
                                 n_bootstrap=ctx.profile.n_bootstrap, folds=ctx.profile.folds)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Learning curves: test R² (left) and Kendall τ (right) of the GBM and the DNN on the 56 per-layer statistics against the number of training nets (log axis), with 95 % bootstrap intervals over the test nets. Stars: the paper's R² with 15,000 training nets (v1 zoo; the MNIST star is full MNIST). This build: {glue:text}`zoos`.", "name": "fig-learning-curve"}}
plots.learning_curve(curves.scores, paper=experiments.paper_r2(ctx.named_zoos, STATS, ("gbm", "dnn")), by=("collection", "predictor"),
                     title=f"GBM and DNN on {STATS} against the number of training nets\n{book_zoos.labels(ctx.main)}")

# %% [markdown]
# The points of {numref}`fig-learning-curve`:

# %% tags=["remove-input"]
curves.readable()

# %% tags=["remove-cell"]
curves.finding("gbm").conclude()

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# The largest and the smallest training sets are compared on the same test nets, through the
# interval of the difference of their R² (`zoolib.claims`). Where the curve still rises at its last
# point, this build's Table 2 numbers are limited by the size of its zoo, not by the method; where it
# has flattened, more nets of the same kind would help little. The comparison with the paper's star
# mixes two differences: 15,000 training nets instead of a few, and nets trained for 18 epochs on full
# datasets instead of this build's schedule.
