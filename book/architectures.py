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
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from zoolib import analyses, book_zoos, claims, plots, profiles
from zoolib.claims import Estimate
from zoolib.experiments import transfer_architectures

profile = profiles.current_profile()
settings = profiles.settings(profile)
collections, missing = book_zoos.open_collections(profile)
variants = {n: c for n, c in collections.items() if n.endswith("_archs")}
glue("zoos", book_zoos.labels(variants), display=False)

# %% tags=["remove-input"]
display(Markdown(book_zoos.missing_note(missing, [n for n in missing if n.endswith("_archs")])
                 or "Every collection this page uses is present in this build."))
display(Markdown(book_zoos.predictor_settings_note(settings)))
if not variants:
    display(Markdown(f"**This build has no architecture collection** (profile `{profile}`), so this page "
                     "has nothing to show. Build the book on the `tiny` or `mini` profile, or generate a "
                     "`<dataset>_archs` collection with `zoolib.generate.generate_collection`."))

# %% [markdown]
# The zoos of each architecture collection, with the paper's CNN of the same dataset, and which of
# them the fixed-size input can read (`zoolib.analyses.readable_zoos`):

# %% tags=["remove-input"]
experiments = {}  # collection -> (zoos, scores, predictions)
for name, variant in variants.items():
    base = collections.get(variant.dataset)
    zoos = {**({"cnn (paper's)": base.zoo} if base is not None else {}), **variant.zoos}
    zoos, unreadable = analyses.readable_zoos(zoos, "wstats-arch")
    train_nets = analyses.training_runs(zoos)
    display(Markdown(f"**{variant.label()}**" + (f", with the paper's CNN from {base.label()}" if base else "")))
    display(pd.DataFrame([{"architecture": a, "layers": int(z.layout["varname"].str.contains("kernel").sum()),
                           "parameters": z.weights.shape[1], "nets": z.metrics["modeldir"].nunique(),
                           "training nets": train_nets[a], "epochs": int(z.metrics["step"].max())}
                          for a, z in zoos.items()]))
    if unreadable:
        display(Markdown("Left out (`wstats-arch` needs the first layer and the top three):\n\n"
                         + "\n".join(f"- **{a}**: {why}" for a, why in unreadable.items())))
    experiments[name] = (zoos, *transfer_architectures(zoos, predictor="gbm", inputs="wstats-arch",
                                                        preset=settings["preset"], n_bootstrap=settings["n_bootstrap"]))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Transfer across architectures (the paper's Figure 7, in its later versions): test Kendall τ of a GBM on `wstats-arch` trained on a row's architecture (or all of them) and tested on a column's test runs; off the diagonal and outside \"all\", the architecture is one the predictor never saw. This build: {glue:text}`zoos`.", "name": "fig-architectures"}}
if experiments:
    name, (zoos, scores, _) = next(iter(experiments.items()))
    figure = plots.metric_matrix(scores, "kendall_tau", label="test Kendall τ",
                                 title=f"GBM on wstats-arch: trained on a row, tested on a column\n{variants[name].label()}")
figure if experiments else None

# %% tags=["remove-input"]
for name, (zoos, scores, _) in experiments.items():
    table = scores[["train_on", "test_on", "seen", "n_test"]].copy()
    table["Kendall τ [95 % CI]"] = [str(Estimate.from_row(r, "kendall_tau")) for _, r in scores.iterrows()]
    table["τ ceiling"] = scores["tau_ceiling"].map("{:.3f}".format)
    table["R² [95 % CI]"] = [str(Estimate.from_row(r)) for _, r in scores.iterrows()]
    display(Markdown(f"**{{numref}}`fig-architectures` in numbers, {variants[name].label()}.**"))
    display(table.set_index(["train_on", "test_on"]))

# %% tags=["remove-cell"]
parts, verdicts = [], []
for name, (zoos, scores, _) in experiments.items():
    unseen = scores[(~scores["seen"]) & (scores["train_on"] != "all")]
    pairs = [claims.above(Estimate.from_row(r, "kendall_tau"), 0.0) for _, r in unseen.iterrows()]
    verdicts += pairs
    undefined = int(unseen["kendall_tau"].isna().sum())
    parts.append(f"{variants[name].dataset_name}: of {len(unseen)} pairs of a training architecture and one it never "
                 f"saw, τ is above 0 in {pairs.count(claims.HOLDS)}, below in {pairs.count(claims.FAILS)}, "
                 f"undecided in {pairs.count(claims.UNDECIDED)}"
                 + (f" ({undefined} undefined: constant predictions)" if undefined else "")
                 + f"; median τ {unseen['kendall_tau'].median():.3f}")
if experiments:
    claims.record("architectures", "; ".join(parts), claims.combine(verdicts))
    claims.glue_verdict("; ".join(parts) + ". A GBM on wstats-arch ranks nets of every architecture it never saw better "
                        f"than chance: {claims.combine(verdicts)}.")
else:
    claims.record("architectures", "no architecture collection in this build", claims.NOT_RUN)
    claims.glue_verdict("This build has no architecture collection, so there is nothing to decide here.")

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# Where the cells off the diagonal stay close to the diagonal ones, the weight statistics mean the
# same thing across architectures; where they drop, the predictor has learned something specific
# to one architecture (batch normalization, for one, changes the scale the weights need). Read the
# intervals in the table before the colours: the variants have few nets each on a small zoo. Where
# the paper's CNN has many more nets than each variant, the "all" mix is mostly the paper's CNN.
