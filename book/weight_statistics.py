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
# **Question.** Which simple statistics of the weights carry the information about accuracy? The
# paper plots two of them against each other: the range (max - min) of the first layer's biases and
# the range of the final layer's biases, on log-log axes, each net coloured by its test accuracy
# (its figure uses CIFAR10-GS). Then: which of the 56 per-layer statistics does a gradient-boosted
# tree rely on most?

# %%
# %matplotlib inline
import pandas as pd
from IPython.display import Markdown, display

from zoolib import book_zoos, plots, profiles
from zoolib.evaluation import checkpoint_rows, fit_on_split, run_split, zoo_features
from zoolib.predictors import make_predictor

profile = profiles.current_profile()
settings = profiles.settings(profile)
collections, missing = book_zoos.open_collections(profile)
main = book_zoos.main_collections(collections)
if "cifar10" not in main:
    display(Markdown("The paper's figure uses CIFAR10-GS, which is not in this build"
                     + (f" ({missing['cifar10']})" if "cifar10" in missing else "")
                     + "; the figures below show the collections this build has."))

# %% [markdown]
# ## First-layer vs final-layer bias range
#
# Statistics of the final checkpoints (`zoolib.features.compute_features`, input
# `wstats-layers:0,3`: percentiles 0 and 100 of each bias are its min and max).

# %%
correlations = []
for name, collection in main.items():
    final, dropped = checkpoint_rows(collection.zoo, "final")
    stats = zoo_features(final, "wstats-layers:0,3")
    frame = pd.DataFrame({
        "first-layer bias range": (stats["layer0.bias.p100"] - stats["layer0.bias.p0"]).to_numpy(),
        "final-layer bias range": (stats["layer3.bias.p100"] - stats["layer3.bias.p0"]).to_numpy(),
        "test_accuracy": final.metrics["test_accuracy"].to_numpy(),
    })
    display(plots.bias_range_scatter(
        frame, "first-layer bias range", "final-layer bias range",
        title=f"Bias ranges at the final checkpoint\n{collection.label()}"
              + (f" ({dropped} non-finite nets left out)" if dropped else ""),
        xlabel="first-layer bias range (max - min)", ylabel="final-layer bias range (max - min)",
    ))
    rank = frame.corr(method="spearman")["test_accuracy"]
    correlations.append({"collection": collection.label(), "nets": len(frame),
                         "Spearman corr. with test accuracy: first-layer range": round(rank.iloc[0], 3),
                         "final-layer range": round(rank.iloc[1], 3)})
pd.DataFrame(correlations)

# %% [markdown]
# ## Which statistics does the GBM use?
#
# A GBM fitted to the 56 statistics of `wstats-layers:0,1,2,3` on the training runs (early stopping
# on the validation runs, same split as Table 2); importance = total gain of the splits on each
# statistic (LightGBM's `importance_type="gain"`), as a share of the total. Column names:
# `layer{i}.{bias|kernel}.{p0|p25|p50|p75|p100|std|mean}`.

# %%
importance_rows = []
for name, collection in main.items():
    final, _ = checkpoint_rows(collection.zoo, "final")
    X = zoo_features(final, "wstats-layers:0,1,2,3", "category")
    labels = run_split(collection.zoo.metrics).loc[X.index].to_numpy()
    gbm = make_predictor("gbm", collection.dataset, settings["preset"], seed=0)
    fit_on_split(gbm, X, final.metrics["test_accuracy"].to_numpy(float), labels)
    gain = pd.Series(gbm.model_.booster_.feature_importance("gain"), index=X.columns)
    if gain.sum() > 0:
        share = gain / gain.sum()
        display(plots.feature_importance(share, top=15, xlabel="share of the total gain",
                                         title=f"GBM on wstats-layers:0,1,2,3, top 15 statistics\n{collection.label()}"))
        importance_rows += [{"collection": name, "statistic": k, "share of gain": round(v, 3)} for k, v in share.nlargest(5).items()]
    else:
        display(Markdown(f"{collection.label()}: the GBM made no split (too few training runs in this "
                         "zoo), so it has no feature importance to show."))
pd.DataFrame(importance_rows)

# %% [markdown]
# **What this shows.** Two numbers per net, both cheap to read off the weights. Where the colour
# (the net's accuracy) is far from random in this plane, good and bad nets occupy different regions,
# and a handful of per-layer statistics can predict accuracy. The Spearman correlations say how
# strongly each range alone ranks the nets of this build; the importance plot shows which
# statistics the tree ensemble leans on. With a small zoo, the ranking of statistics beyond the first
# few is noisy.
