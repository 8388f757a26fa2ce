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
# # Regenerating the zoo
#
# **Question.** What does it take to train a zoo like the Small CNN Zoo again, and how fast does
# this package do it?
#
# `zoolib.generate` samples each run's hyperparameters from Table 1 (a pure function of the seed),
# trains the nets with the paper's protocol (`zoolib.train`) in shards of consecutive runs, each a
# [Dask](https://docs.dask.org) task, and writes every finished shard atomically, so a killed run
# resumes where it stopped. By default it starts a local cluster with one single-threaded worker
# process per core; given a scheduler address it uses a real cluster. When every shard is there, they
# are merged into a zoo in the released format, with a `generation.json` that records how it was made.
#
# ```sh
# make zoo                   # the paper's protocol: 30,000 nets x 86 epochs per dataset (a cluster job)
# make book PROFILE=mini     # the mini zoos this book uses by default, then the book
# ```

# %%
# %matplotlib inline
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from zoolib import book_zoos, plots, profiles
from zoolib.generate import generation_info

profile = profiles.current_profile()
collections, missing = book_zoos.open_collections(profile)

# %% [markdown]
# ## How this build's zoos were made
#
# Read from each zoo's `generation.json`. The throughput is what this machine reached while
# generating: trained image-epochs (each run's training subset, in whole batches of 512, times its
# epochs) per second of wall-clock time of the last generation session, all workers together.
# A session that resumed from shards made earlier counts only its own time, so its rate reads high.

# %%
rows = []
for name, collection in collections.items():
    for arch, zoo in collection.zoos.items():
        if zoo.path is None or not (zoo.path / "generation.json").is_file():
            continue
        info = generation_info(zoo.path)
        runs = zoo.metrics.drop_duplicates("modeldir")
        epochs = int(info["spec"]["checkpoints"][-1])
        images = ((runs["config.train_fraction"] * info["train_images"]).astype(int) // 512 * 512).sum() * epochs
        seconds = float(info["seconds_last_session"])
        rows.append({
            "collection": name, "architecture": info["spec"]["arch_name"] if len(collection.zoos) > 1 else "paper's CNN",
            "nets": info["runs"], "epochs": epochs, "train images": info["train_images"], "data": info["data_source"],
            "seconds (last session)": seconds, "image-epochs per second": round(images / seconds) if seconds > 0 else None,
            "created": info["created"],
        })
made = pd.DataFrame(rows)
if made.empty:
    display(Markdown(f"No zoo of this build (profile `{profile}`) has a `generation.json`: "
                     + ("the released zoo was downloaded, not generated here." if profile == "released"
                        else "none was generated on this machine.")))
else:
    display(made.set_index(["collection", "architecture"]))
    rates = made.dropna(subset=["image-epochs per second"])
    rates = rates.set_index(rates["collection"] + " / " + rates["architecture"])
    display(plots.throughput_bars(rates, "image-epochs per second", "trained image-epochs per second (all workers)",
                                  title=f"Generation throughput of this build's {profile} zoos on this machine"))

# %% [markdown]
# **What this shows.** The cost of a zoo is nets x epochs x training images per net, and the rate
# above is what this machine delivers; together they say how long a zoo of another size would take
# here. For example, at this rate one net of the paper's protocol (86 epochs on the full training
# set, on average about half of it given the train fractions of Table 1) costs the image-epochs
# computed below.

# %%
if made.get("image-epochs per second", pd.Series(dtype=float)).notna().any():
    paper_images = 86 * 60_000 * sum((0.1, 0.25, 0.5, 1.0)) / 4
    rate = made["image-epochs per second"].dropna()
    display(Markdown(
        f"One paper-protocol net on a 60,000-image dataset: about {paper_images:,.0f} image-epochs; at this "
        f"build's median rate of {rate.median():,.0f} image-epochs per second that is about "
        f"{paper_images / rate.median() / 60:,.1f} minutes of this machine per net, "
        f"{30_000 * paper_images / rate.median() / 86_400:,.0f} days for a 30,000-net collection."
    ))


# %% [markdown]
# ## The trainer's benchmark
#
# `make bench` times the trainer against the paper's method (Keras `model.fit` on a `tf.data`
# pipeline, one net at a time) and the feature extraction against the released notebook's. Its
# figures, as recorded in the README with where and how they were measured (read from `README.md`
# when this page ran, not measured by this page):

# %%
readme = (Path.cwd().parent / "README.md").read_text() if (Path.cwd().parent / "README.md").is_file() else ""
section = readme.split("\n## Benchmarks", 1)[1].split("\n## ", 1)[0] if "\n## Benchmarks" in readme else ""
display(Markdown(section.strip() or "The README has no Benchmarks section yet: run `make bench` for the figures."))
