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
# versions of the paper add other architectures (e.g. an MLP). The raw weights of different
# architectures do not even have the same length, but statistics of the first layer and of the top
# three layers (`wstats-arch`) do, whatever the depth, so one predictor can read them all.
#
# The nets: the paper's CNN (the main collection) and the variants of the architecture collection
# (`zoolib.generate.ARCHITECTURES`): a deeper CNN, a wider CNN, a CNN with batch normalization
# and an MLP, all trained with hyperparameters from the same space. A GBM is trained on each
# architecture alone and on all of them together ("all") and tested on every architecture's test
# runs (`zoolib.experiments.transfer_architectures`).

# %%
# %matplotlib inline
import pandas as pd
from IPython.display import Markdown, display

from zoolib import book_zoos, plots, profiles

profile = profiles.current_profile()
settings = profiles.settings(profile)
collections, missing = book_zoos.open_collections(profile)
variants = {n: c for n, c in collections.items() if n.endswith("_archs")}
display(Markdown(book_zoos.missing_note(missing, [n for n in missing if n.endswith("_archs")]) or "Every collection this page uses is present in this build."))
if not variants:
    display(Markdown(f"**This build has no architecture collection** (profile `{profile}`), so this page "
                     "has nothing to show. Build the book on the `tiny` or `mini` profile, or generate a "
                     "`<dataset>_archs` collection with `zoolib.generate.generate_collection`."))

# %%
from zoolib.evaluation import run_split
from zoolib.experiments import transfer_architectures
from zoolib.features import feature_names


def readable_by_wstats_arch(zoo) -> str | None:
    """None when wstats-arch can be computed on the zoo's layout, else the reason it cannot."""
    try:
        feature_names(zoo, "wstats-arch")
    except ValueError as err:
        return str(err)
    return None


for name, variant in variants.items():
    zoos = dict(variant.zoos)
    base = collections.get(variant.dataset)
    if base is not None:
        zoos = {"cnn (paper's)": base.zoo, **zoos}
    unreadable = {a: why for a, z in zoos.items() if (why := readable_by_wstats_arch(z))}
    if unreadable:
        display(Markdown("Left out of this experiment (the fixed-size input needs the first layer and the top "
                         "three, so at least 4 layers):\n\n" + "\n".join(f"- **{a}**: {why}" for a, why in unreadable.items())))
        zoos = {a: z for a, z in zoos.items() if a not in unreadable}
    table = pd.DataFrame([{"architecture": a, "layers": z.layout["varname"].str.contains("kernel").sum(),
                           "parameters": z.weights.shape[1], "nets": z.metrics["modeldir"].nunique(),
                           "epochs": int(z.metrics["step"].max())} for a, z in zoos.items()])
    display(Markdown(f"**{variant.label()}**" + (f", with the paper's CNN from {base.label()}" if base else "")))
    display(table)
    scores, predictions = transfer_architectures(zoos, predictor="gbm", inputs="wstats-arch",
                                                 preset=settings["preset"], n_bootstrap=settings["n_bootstrap"])
    display(plots.metric_matrix(scores, "kendall_tau", label="test Kendall τ",
                                title=f"GBM on wstats-arch: trained on a row, tested on a column\n{variant.label()}"))
    undefined = sorted(set(scores.loc[scores["kendall_tau"].isna(), "train_on"]))
    if undefined:
        train_nets = {a: int((run_split(z.metrics) == "train").sum()) for a, z in zoos.items()}
        display(Markdown(
            "**n/a** marks a τ that is undefined because the predictor's test predictions are all equal. "
            f"That is what the GBM does when trained on {', '.join(f'{a} ({train_nets[a]} training nets)' for a in undefined if a in train_nets) or ', '.join(undefined)}: "
            "LightGBM makes no split with fewer than 20 nets per leaf (`min_child_samples`), so it predicts their mean. "
            "A profile with more nets per architecture fills these rows."))
    scores["Kendall τ [95 % CI]"] = [f"{t:.3f} [{lo:.2f}, {hi:.2f}]" for t, lo, hi in scores[["kendall_tau", "tau_ci_low", "tau_ci_high"]].itertuples(index=False)]
    display(scores[["train_on", "test_on", "seen", "n_test", "Kendall τ [95 % CI]", "tau_ceiling", "r2"]].round(3))

# %% [markdown]
# **What this shows.** Rows are what the GBM was trained on, columns what it was tested on; a cell
# off the diagonal (and outside "all") is an architecture the predictor never saw. Where those
# cells stay close to the diagonal ones, the weight statistics mean the same thing across
# architectures; where they drop, the predictor has learned something specific to one
# architecture (batch normalization, for one, changes the scale the weights need). The variants
# have few nets each on a `tiny` or `mini` zoo, so their test sets are small: read the intervals in
# the table before the colours. Mind the sizes in the first table too: where the paper's CNN has
# many more nets than each variant, the "all" mix is mostly the paper's CNN.
