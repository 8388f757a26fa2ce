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
# # A net of the zoo
#
# **Question.** The pages after this one predict accuracy from thousands of nets at once, each a row
# of `weights.npy`. What is one of them?
#
# A row is a whole network: its weights, flat, in the order `layout.csv` gives. `zoolib.zoo.keras_model`
# loads a row into the zoo's architecture, and `zoolib zoo export ZOO --row N --out NET.keras` writes
# that model to a file that plain Keras loads (or, with `--format torch`, PyTorch tensors). Here the
# most and the least accurate net of this build's main zoo are rebuilt from their rows and measured
# again on the test set, beside the accuracy the zoo recorded for them.

# %% tags=["remove-cell"]
# %matplotlib inline
from IPython.display import Markdown, display
from myst_nb import glue

from zoolib import book_zoos, claims, export, plots

ctx = book_zoos.page()
collection = next(iter(ctx.main.values()))  # the build's main zoo
zoo = collection.zoo
glue("net_zoo", collection.label(), display=False)

# %%
rows = export.extreme_rows(zoo)  # final checkpoints with the highest and lowest recorded test accuracy
table, measured_on = export.remeasure(zoo, rows)

# %% tags=["remove-input"]
display(Markdown(f"**{collection.label()}**: recorded test accuracy (`metrics.csv.gz`), "
                 f"{book_zoos.data_relative(measured_on)}."))
table.round(4).fillna("not measured")

# %% [markdown]
# Each net's first layer holds 16 filters of 3x3 pixels, each sliding over the image to make one
# feature map ({numref}`fig-first-filters`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The 16 first-layer 3x3 filters of the most (top) and the least (bottom) accurate net, each net on its own colour scale, symmetric about 0 (red positive, blue negative). Zoo: {glue:text}`net_zoo`.", "name": "fig-first-filters"}}
plots.first_layer_filters(
    {f"{label}: row {row}, recorded test accuracy {table.loc[label, 'recorded test accuracy']:.3f}":
     export.first_layer_kernel(zoo, row) for label, row in rows.items()},
    title=f"First-layer filters: {collection.label()}")

# %% [markdown]
# A filter with a smooth ramp from blue to red responds to edges of one orientation; one of equal
# signs, to brightness. The colour bars give each net's scale: the two nets' weights need not be of
# similar size, and the pages that follow predict accuracy from exactly such statistics of the weights.

# %% tags=["remove-cell"]
claims.glue_verdict(export.remeasure_verdict(table, collection.label()))

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# A zoo is a table of such nets. Each row rebuilds into a working model with its recorded accuracy, so
# what the predictors learn from the rows is learned from the nets themselves.
