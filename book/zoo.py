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
# ## Table 1: the hyperparameter space
#
# Every run draws its hyperparameters independently from this space (`zoolib.hparams.SPACE`). The
# paper gives the names and values; the ranges of the continuous ones are reconstructed (inferred
# from the released zoo), not quoted from the paper.

# %%
# %matplotlib inline
import pandas as pd
from IPython.display import Markdown, display

from zoolib import book_zoos, hparams, plots, profiles
from zoolib.zoo import select_rows

pd.set_option("display.max_colwidth", None)
hparams.space_table().set_index("hyperparameter")

# %% [markdown]
# ## The sampled hyperparameters
#
# The distributions the collections of this build actually drew (one count per run), per main
# collection. A `tiny` or `mini` zoo trains on fewer images than the paper, so train fractions that
# would leave less than one batch of 512 images are left out of its space (see the zoo's
# `generation.json`).

# %%
profile = profiles.current_profile()
collections, missing = book_zoos.open_collections(profile)
main = book_zoos.main_collections(collections)
display(Markdown(book_zoos.missing_note(missing) or "All collections of this profile are present."))
for name, collection in main.items():
    zoo = collection.zoo
    runs = zoo.metrics.iloc[select_rows(zoo.metrics, "final")]
    display(plots.hyperparameter_distributions(runs, hparams.SPACE, title=f"Sampled hyperparameters: {collection.label()}"))

# %% [markdown]
# ## Figure: accuracy of the nets
#
# Top: histogram of the final test accuracy (15 bins on [0, 1]). Bottom: test (x) against train (y)
# accuracy of up to 1,000 random nets, with the dashed line y = x. One column per collection.

# %%
finals = {}
for name, collection in main.items():
    zoo = collection.zoo
    finals[f"{collection.dataset_name}\n{profile} zoo, {collection.epochs()} epochs"] = zoo.metrics.iloc[select_rows(zoo.metrics, "final")]
fig = plots.accuracy_distributions(finals, n_scatter=1000, title=f"Final checkpoints of the {profile} zoos")
fig

# %%
rows = []
for label, frame in finals.items():
    acc = frame["test_accuracy"]
    rows.append({
        "collection": label.replace("\n", ", "),
        "nets": len(frame),
        "median test accuracy": round(float(acc.median()), 3),
        "nets at or below 20 % (near chance)": f"{(acc <= 0.2).mean():.0%}",
        "median train - test gap": round(float((frame["train_accuracy"] - acc).median()), 3),
    })
pd.DataFrame(rows)

# %% [markdown]
# **What this shows.** Random hyperparameters give a wide spread of accuracies, from nets stuck at
# chance level (about 0.1: training diverged or never got going) to nets close to the best this
# small CNN reaches. This spread is what makes predicting
# accuracy from weights a meaningful task: a predictor must tell apart failed, mediocre and good nets.
# Points near the dashed line have little overfitting; the table's median train - test gap says how
# much there is in this build. On a `tiny` or `mini` zoo the nets were trained for far fewer epochs
# than the paper's 86 (and a `tiny` zoo on a few thousand images), so expect lower accuracies than in
# the paper's figure.
