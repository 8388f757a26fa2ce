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
# make book PROFILE=standard # 1,008 Fashion-MNIST nets (705 training nets per fit in 5 folds), 80 MNIST
#                            # nets, 20 per variant: 1 h 58 min on 2 cores (zoos 110 min, pages 6.6)
# ```

# %% tags=["remove-cell"]
# %matplotlib inline
from IPython.display import Markdown, display
from myst_nb import glue

from zoolib import book_zoos, claims, obtain, plots
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
made = obtain.throughput(ctx.collections)
if made.empty:
    display(Markdown(f"No zoo of this build (profile `{ctx.profile.name}`) has a `{GENERATION_FILE}`: "
                     + ("the released zoo was downloaded, not generated here." if not ctx.profile.generated
                        else "none was generated on this machine.")))
else:
    display(made.set_index(["collection", "architecture"]))
rates = made.dropna(subset=["image-epochs per second"])

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Generation throughput of this build's zoos on this machine: trained image-epochs per second of the last generation session, all workers together. Zoos: {glue:text}`zoos`.", "name": "fig-throughput"}}
plots.throughput_bars(rates.set_index(rates["collection"] + " / " + rates["architecture"]), "image-epochs per second",
                      "trained image-epochs per second (all workers)",
                      title=f"Generation throughput of this build's {ctx.profile.name} zoos") if not rates.empty else None

# %% tags=["remove-cell"]
claims.glue_verdict(obtain.extrapolation(made))

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
