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
# stopped early, the motivation the paper gives.
#
# `zoolib.experiments.early_checkpoints`: the same train / validation / test runs at every epoch
# (runs that diverged before an epoch have no checkpoint there and drop out of it).

# %%
# %matplotlib inline
import pandas as pd
from IPython.display import Markdown, display

from zoolib import book_zoos, experiments, plots, profiles

profile = profiles.current_profile()
settings = profiles.settings(profile)
collections, missing = book_zoos.open_collections(profile)
main = book_zoos.main_collections(collections)
display(Markdown(book_zoos.missing_note(missing, [n for n in missing if not n.endswith("_archs")]) or "Every collection this page uses is present in this build."))
display(Markdown(book_zoos.paper_datasets_note(collections) or "This build covers all four datasets of the paper."))

# %%
results = pd.concat([
    experiments.early_checkpoints(c.zoo, predictor="gbm", inputs="wstats-layers:0,1,2,3",
                                  preset=settings["preset"], n_bootstrap=settings["n_bootstrap"]).assign(collection=c.dataset_name)
    for c in main.values()
], ignore_index=True)
zoo_names = "; ".join(c.label() for c in main.values())
plots.early_checkpoint_curve(results, group="collection",
                             title=f"GBM on wstats-layers:0,1,2,3: final test accuracy from the weights at each epoch\n{zoo_names}")

# %%
table = results[["collection", "epoch", "n_train", "n_test", "r2", "kendall_tau", "tau_ci_low", "tau_ci_high", "tau_ceiling", "dropped_nonfinite"]]
table.round(3)

# %% [markdown]
# **What this shows.** Epoch 0 is the initialization: its weights carry only what the
# hyperparameters put there (initializer and its scale), so its score says how much the
# initialization alone predicts. The later points show how quickly the weights come to reveal where
# a run will end up; where the curve is flat, stopping a run that looks bad at that epoch loses
# little. On a `tiny` or `mini` zoo the "final" epoch is itself early (see the titles), so this page
# shows how quickly the ranking settles within that short schedule, not over the paper's 86 epochs.
