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
# **Question.** Does a predictor trained on the nets of one dataset rank the nets of another? The
# paper trains a GBM on the all-layer statistics (`wstats-layers:0,1,2,3`) of collection *i* and
# evaluates it on the test runs of collection *j*: a grid of predicted-vs-true scatters with
# Kendall τ in each panel (4 x 4 over MNIST, Fashion-MNIST, CIFAR10-GS and SVHN-GS).
#
# `zoolib.experiments.transfer_across`: train runs of *i* (early stopping on *i*'s validation
# runs), test runs of every *j* (the same split of runs as in Table 2), final checkpoints.

# %%
# %matplotlib inline
import pandas as pd
from IPython.display import Markdown, display

from zoolib import book_zoos, experiments, plots, profiles

profile = profiles.current_profile()
settings = profiles.settings(profile)
collections, missing = book_zoos.open_collections(profile)
main = book_zoos.main_collections(collections)
absent = [n for n in missing if not n.endswith("_archs")]
display(Markdown(
    f"This build has {len(main)} collection(s) of the paper's CNN, so the grid is {len(main)} x {len(main)}"
    + (f"; the paper's other collections are not here:\n\n{book_zoos.missing_note(missing, absent)}" if absent else ".")
    + ("" if profile == "released" else
       "\n\nThe paper's grid has MNIST, Fashion-MNIST, CIFAR10-GS and SVHN-GS; CIFAR-10 and SVHN cannot be "
       f"read on a machine without them, and the `{profile}` profile generates only the collections listed "
       "on [This build](this_build).")
))

# %%
scores, predictions = experiments.transfer_across(
    {c.dataset_name: c.zoo for c in main.values()},
    predictor="gbm", inputs="wstats-layers:0,1,2,3", preset=settings["preset"], n_bootstrap=settings["n_bootstrap"],
)
zoo_names = "\n".join(c.label() for c in main.values())
plots.transfer_grid(predictions, scores, title=f"GBM on wstats-layers:0,1,2,3: train on a row, test on a column\n{zoo_names}")

# %%
table = scores.copy()
table["Kendall τ [95 % CI]"] = [f"{t:.3f} [{lo:.2f}, {hi:.2f}]" for t, lo, hi in table[["kendall_tau", "tau_ci_low", "tau_ci_high"]].itertuples(index=False)]
table["R²"] = table["r2"].round(3)
table[["train_on", "test_on", "seen", "n_test", "Kendall τ [95 % CI]", "tau_ceiling", "R²"]]

# %% [markdown]
# **What this shows.** The diagonal panels (shaded) are ordinary test sets; off the diagonal the
# predictor meets nets trained on data it never saw, which tests whether what it learned about
# weights is specific to one dataset. The accuracy *levels* differ between datasets (compare the
# histograms on [The zoo](zoo)), so a predictor can rank the nets of another dataset well (high τ)
# while its R² is poor: its predictions are shifted as a whole. Points in the right order but away
# from the dashed line are that case. Compare the off-diagonal τ with the diagonal one in the table.
