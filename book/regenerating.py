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

from zoolib import book_zoos, claims, obtain, plots, profiles
from zoolib.generate import trained_images
from zoolib.hparams import BATCH_SIZE
from zoolib.zoo import GENERATION_FILE

ctx = book_zoos.page(label="all")
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
for name, collection in ctx.collections.items():
    for arch, zoo in collection.zoos.items():
        info = book_zoos.recorded_generation(zoo)
        if info is None or not info.trained:  # downloaded, or a synthetic zoo of benchmarks/released_like.py
            continue
        images = trained_images(info, zoo.metrics.drop_duplicates("modeldir"))
        rows.append({
            "collection": name, "architecture": info.arch_name if len(collection.zoos) > 1 else "paper's CNN",
            "nets": info.runs, "epochs": info.epochs, "train images": info.train_images, "seconds": round(info.seconds),
            "image-epochs per second": round(images / info.seconds) if info.seconds > 0 else None,
        })
made = pd.DataFrame(rows)
if made.empty:
    display(Markdown(f"No zoo of this build (profile `{ctx.profile.name}`) has a `{GENERATION_FILE}`: "
                     + ("the released zoo was downloaded, not generated here." if not ctx.profile.generated
                        else "none was generated on this machine.")))
else:
    display(made.set_index(["collection", "architecture"]))
rates = made.dropna(subset=["image-epochs per second"]) if not made.empty else made

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Generation throughput of this build's zoos on this machine: trained image-epochs per second of the last generation session, all workers together. Zoos: {glue:text}`zoos`.", "name": "fig-throughput"}}
plots.throughput_bars(rates.set_index(rates["collection"] + " / " + rates["architecture"]), "image-epochs per second",
                      "trained image-epochs per second (all workers)",
                      title=f"Generation throughput of this build's {ctx.profile.name} zoos") if not rates.empty else None

# %% tags=["remove-cell"]
if rates.empty:
    claims.glue_verdict("This build generated no zoo on this machine, so it has no throughput to extrapolate from.")
else:
    rate = float(rates["image-epochs per second"].median())
    plan = obtain.plan(profiles.paper_protocol(), rate=(rate, "this build's median rate"))  # zoolib.obtain.plan
    first = plan.iloc[0]
    per_net = first["image-epochs"] / first["nets"]
    claims.glue_verdict(f"At this build's median rate of {rate:,.0f} image-epochs per second, one net of the paper's protocol "
                        f"on {book_zoos.DATASET_NAMES[first['collection']]} ({first['epochs']} epochs on the share of its training "
                        f"set that Table 1's train fractions give on average: about {per_net:,.0f} image-epochs) takes about {per_net / rate / 60:,.1f} minutes of this machine, a "
                        f"{first['nets']:,}-net collection about {first['projected hours'] / 24:,.0f} days, and the paper's "
                        f"{len(plan)} collections (32x32 images cost more) about {plan['projected hours'].sum() / 24:,.0f} days: "
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
