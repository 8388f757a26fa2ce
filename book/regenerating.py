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
# **Question.** What does it take to train a zoo like the Small CNN Zoo again, and how long would it
# take on this machine?
#
# `zoolib.generate` samples each run's hyperparameters from Table 1 (a pure function of the seed),
# trains the nets with the paper's protocol (`zoolib.train`: Keras semantics
# {cite:p}`chollet2015keras`, batches of the size below, the last partial batch dropped) in shards of
# consecutive runs, each a [Dask](https://docs.dask.org) task {cite:p}`rocklin2015dask`, and writes
# every finished shard to disk at once, so a run that is killed resumes where it stopped. By default
# it starts a local cluster with one single-threaded worker process per core; given a scheduler
# address it uses a real cluster. When every shard is there, they are merged into a zoo in the
# released format, with a `generation.json` that records how it was made.
#
# From a copy of the project:
#
# ```sh
# make zoo                   # the paper's protocol: 30,000 nets x 86 epochs per dataset (meant for a cluster)
# make zoos PROFILE=mini     # the mini zoos this book uses by default
# make book PROFILE=mini     # the mini zoos when missing, then this book
# ```

# %% tags=["remove-cell"]
# %matplotlib inline
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from zoolib import book_zoos, claims, plots, profiles
from zoolib.generate import trained_images
from zoolib.train import BATCH_SIZE
from zoolib.zoo import GENERATION_FILE

profile = profiles.current_profile()
collections, missing = book_zoos.open_collections(profile)
glue("zoos", book_zoos.labels(collections), display=False)
glue("batch_size", BATCH_SIZE, display=False)

# %% [markdown]
# ## How this build's zoos were made
#
# Read from each zoo's `generation.json`. The throughput is what this machine reached while
# generating: trained image-epochs (each run's training subset in whole batches of
# {glue:text}`batch_size` images, times its epochs; `zoolib.generate.trained_images`) per second of
# wall-clock time of the last generation session, all workers together. A session that resumed
# from shards made earlier counts only its own time, so its rate reads high.

# %% tags=["remove-input"]
rows = []
for name, collection in collections.items():
    for arch, zoo in collection.zoos.items():
        info = book_zoos.recorded_generation(zoo)
        if "spec" not in info:  # downloaded, or a synthetic zoo of benchmarks/released_like.py: not trained here
            continue
        images = trained_images(info, zoo.metrics.drop_duplicates("modeldir"))
        seconds = float(info["seconds_last_session"])
        rows.append({
            "collection": name, "architecture": info["spec"]["arch_name"] if len(collection.zoos) > 1 else "paper's CNN",
            "nets": info["runs"], "epochs": int(info["spec"]["checkpoints"][-1]), "train images": info["train_images"],
            "seconds": round(seconds), "image-epochs per second": round(images / seconds) if seconds > 0 else None,
        })
made = pd.DataFrame(rows)
if made.empty:
    display(Markdown(f"No zoo of this build (profile `{profile}`) has a `{GENERATION_FILE}`: "
                     + ("the released zoo was downloaded, not generated here." if profile == "released"
                        else "none was generated on this machine.")))
else:
    display(made.set_index(["collection", "architecture"]))
rates = made.dropna(subset=["image-epochs per second"]) if not made.empty else made

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Generation throughput of this build's zoos on this machine: trained image-epochs per second of the last generation session, all workers together. Zoos: {glue:text}`zoos`.", "name": "fig-throughput"}}
plots.throughput_bars(rates.set_index(rates["collection"] + " / " + rates["architecture"]), "image-epochs per second",
                      "trained image-epochs per second (all workers)",
                      title=f"Generation throughput of this build's {profile} zoos") if not rates.empty else None

# %% tags=["remove-cell"]
if rates.empty:
    claims.glue_verdict("This build generated no zoo on this machine, so it has no throughput to extrapolate from.")
else:
    rate = float(rates["image-epochs per second"].median())
    paper_net = 86 * 60_000 * sum((0.1, 0.25, 0.5, 1.0)) / 4  # 86 epochs, the mean train fraction of Table 1
    claims.glue_verdict(f"At this build's median rate of {rate:,.0f} image-epochs per second, one net of the paper's protocol "
                        f"(86 epochs on a 60,000-image dataset, on average {sum((0.1, 0.25, 0.5, 1.0)) / 4:.1%} of it given the "
                        f"train fractions of Table 1: about {paper_net:,.0f} image-epochs) takes about {paper_net / rate / 60:,.1f} "
                        f"minutes of this machine, and a 30,000-net collection about {30_000 * paper_net / rate / 86_400:,.0f} days: "
                        "a job for a cluster, which `make zoo SCHEDULER=tcp://host:8786` uses.")

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# The cost of a zoo is nets x epochs x training images per net, and the throughput figure above (on
# a build that generated its zoos here) gives the rate this machine delivers; together they say how
# long a zoo of another size would take here.
# `make bench` times the trainer against the paper's method (Keras `model.fit` on a `tf.data`
# pipeline, one net at a time) on the machine it runs on.
