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
# # Transfer to other architectures
#
# **Question.** Does a predictor trained on one architecture's nets work on another's? The later
# versions of {cite:t}`unterthiner2020predicting` add other architectures (e.g. an MLP). The raw
# weights of different architectures do not even have the same length, but statistics of the first
# layer and of the top three layers (`wstats-arch`) do, whatever the depth, so one predictor can
# read them all.
#
# The nets: the paper's CNN (the main collection) and the variants of the architecture collection
# (`zoolib.generate.ARCHITECTURES`), all trained with hyperparameters from the same space. A GBM
# is trained on each architecture alone and on all of them together ("all") and tested on every
# architecture's test runs (`zoolib.experiments.transfer_architectures`).

# %% tags=["remove-cell"]
# %matplotlib inline
from IPython.display import Markdown, display

from zoolib import analyses, book_zoos, experiments, plots

ctx = book_zoos.page(label="variants")
variants = book_zoos.variant_collections(ctx.collections)

# %% tags=["remove-input"]
display(Markdown(book_zoos.missing_note(ctx.missing, [n for n in ctx.missing if n.endswith("_archs")])
                 or "Every collection this page uses is present in this build."))
display(Markdown(book_zoos.predictor_settings_note(ctx.profile)))
if not variants:
    display(Markdown(f"**This build has no architecture collection** (profile `{ctx.profile.name}`), so this page "
                     "has nothing to show. Build the book on the `tiny`, `mini` or `standard` profile, or generate a "
                     "`<dataset>_archs` collection with `zoolib.generate.generate_collection`."))

# %% [markdown]
# The zoos of each architecture collection, with the paper's CNN of the same dataset, and which of
# them the fixed-size input can read (`zoolib.analyses.readable_zoos`):

# %% tags=["remove-input"]
readable = {name: analyses.readable_zoos(book_zoos.with_paper_cnn(v, ctx.collections), "wstats-arch")
            for name, v in variants.items()}
for name, (zoos, unreadable) in readable.items():
    display(Markdown(f"**{variants[name].label()}**"), analyses.architecture_table(zoos, ctx.profile.folds))
    display(Markdown("Left out (`wstats-arch` needs the first layer and the top three):\n\n"
                     + "\n".join(f"- **{a}**: {why}" for a, why in unreadable.items())) if unreadable else None)

# %%
results = {variants[name].dataset_name: experiments.transfer_architectures(
               zoos, predictor="gbm", inputs="wstats-arch", preset=ctx.profile.preset,
               n_bootstrap=ctx.profile.n_bootstrap, folds=ctx.profile.folds)
           for name, (zoos, _) in readable.items()}

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Transfer across architectures (the paper's Figure 7, in its later versions): test Kendall τ of a GBM on `wstats-arch` trained on a row's architecture (or all of them) and tested on a column's test runs; off the diagonal and outside \"all\", the architecture is one the predictor never saw. This build: {glue:text}`zoos`.", "name": "fig-architectures"}}
first = next(iter(results), None)
plots.metric_matrix(results[first].scores, "kendall_tau", label="test Kendall τ",
                    title=f"GBM on wstats-arch: trained on a row, tested on a column\n{first}") if first else None

# %% [markdown]
# {numref}`fig-architectures` in numbers:

# %% tags=["remove-input"]
display(*(result.readable() for result in results.values()))

# %% tags=["remove-cell"]
experiments.architectures_finding(results).conclude()

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# The claim is made of many comparisons, one per pair of a training architecture and one it never
# saw, so it is decided on their typical value: the median τ over those pairs, with its 95 %
# interval from the same bootstrap resamples of the test nets; how many pairs hold on their own
# (Holm's correction, 5 % overall) is reported beside it (`zoolib.claims`). Where the cells off the
# diagonal stay close to the diagonal ones, the weight statistics mean the same thing across
# architectures; where they drop, the predictor has learned something specific to one architecture
# (batch normalization, for one, changes the scale the weights need). Read the intervals in the table
# before the colours: the variants have few nets each on a small zoo. Where the paper's CNN has many
# more nets than each variant, the "all" mix is mostly the paper's CNN.
