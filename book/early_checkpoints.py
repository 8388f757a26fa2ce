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
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from zoolib import book_zoos, claims, experiments, plots, profiles
from zoolib.claims import Estimate

profile = profiles.current_profile()
settings = profiles.settings(profile)
collections, missing = book_zoos.open_collections(profile)
main = book_zoos.main_collections(collections)
glue("zoos", book_zoos.labels(main), display=False)

# %% tags=["remove-input"]
display(Markdown(f"**Zoos:** {book_zoos.labels(main)}. " + book_zoos.predictor_settings_note(settings)))
display(Markdown(book_zoos.paper_datasets_note(collections) or "This build covers all four datasets of the paper."))

# %%
results = pd.concat([
    experiments.early_checkpoints(c.zoo, predictor="gbm", inputs="wstats-layers:0,1,2,3",
                                  preset=settings["preset"], n_bootstrap=settings["n_bootstrap"]).assign(collection=c.dataset_name)
    for c in main.values()
], ignore_index=True)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The paper's Figure 6 on this build: test R² (left) and Kendall τ (right) of a GBM predicting each run's final test accuracy from the per-layer statistics of its weights at one checkpoint epoch (x; 0 is the initialization), with 95 % bootstrap bands; dotted: the τ ceiling from ties. This build: {glue:text}`zoos`.", "name": "fig-early"}}
plots.early_checkpoint_curve(results, group="collection",
                             title=f"GBM on wstats-layers:0,1,2,3: final test accuracy from the weights at each epoch\n{book_zoos.labels(main)}")

# %% tags=["remove-input"]
table = results[["collection", "epoch", "n_train", "n_test"]].copy()
table["R² [95 % CI]"] = [str(Estimate.from_row(r)) for _, r in results.iterrows()]
table["Kendall τ [95 % CI]"] = [str(Estimate.from_row(r, "kendall_tau")) for _, r in results.iterrows()]
table["τ ceiling"] = results["tau_ceiling"].map("{:.3f}".format)
table["non-finite left out"] = results["dropped_nonfinite"]
display(Markdown("**The points of {numref}`fig-early`.**"))
table.set_index(["collection", "epoch"])

# %% tags=["remove-cell"]
parts, verdicts = [], []
for name, part in results.groupby("collection", sort=False):
    part = part.set_index("epoch")
    if 0 not in part.index or 1 not in part.index:
        continue
    at_init, after_one = Estimate.from_row(part.loc[0], "kendall_tau"), Estimate.from_row(part.loc[1], "kendall_tau")
    verdicts.append(claims.greater(after_one, at_init))
    final_epoch = part.index.max()
    parts.append(f"{name}: τ {after_one} from the weights after one epoch against {at_init} at initialization "
                 f"({verdicts[-1]}), {Estimate.from_row(part.loc[final_epoch], 'kendall_tau')} at the final epoch {final_epoch}")
if parts:
    claims.record("early", "; ".join(parts), claims.combine(verdicts))
    claims.glue_verdict("; ".join(parts) + ". The weights after one epoch rank the runs by their final accuracy better "
                        f"than the initialization does: {claims.combine(verdicts)}.")
else:
    claims.record("early", "no checkpoints at epochs 0 and 1", claims.NOT_RUN)
    claims.glue_verdict("This build's zoos have no checkpoints at epochs 0 and 1 to compare.")

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# Epoch 0 is the initialization: its weights carry only what the hyperparameters put there
# (initializer and its scale), so its score says how much the initialization alone predicts. The
# later points show how quickly the weights come to reveal where a run will end up; where the curve
# is flat, stopping a run that looks bad at that epoch loses little. On a `tiny` or `mini` zoo the
# "final" epoch is itself early, so this page shows how quickly the ranking settles within that
# short schedule, not over the paper's 86 epochs.
