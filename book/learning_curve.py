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
# # How many nets does the method need?
#
# **Question.** The paper's predictors learn from 15,000 training nets per dataset
# {cite:p}`unterthiner2020predicting`; this build's zoos have far fewer. How do the test R² and
# Kendall τ of the GBM and the DNN on the 56 per-layer statistics (`wstats-layers:0,1,2,3`) grow
# with the number of training nets? The curve says how much of the gap to the paper's numbers is
# the size of the zoo.
#
# `zoolib.analyses.learning_curve`: the split of Table 2 (same validation and test runs at every
# size); the predictor sees only the first *n* training runs of one seeded shuffle (nested subsets);
# settings as on [Table 2](table2), chosen on the validation runs.

# %% tags=["remove-cell"]
# %matplotlib inline
import pandas as pd
import tensorflow as tf
from IPython.display import Markdown, display
from myst_nb import glue

from zoolib import analyses, book_zoos, claims, experiments, plots, profiles
from zoolib.claims import Estimate

tf.get_logger().setLevel("ERROR")  # no retracing notices from the DNN predictor in the page
pd.set_option("display.precision", 3)

profile = profiles.current_profile()
settings = profiles.settings(profile)
collections, missing = book_zoos.open_collections(profile)
main = book_zoos.main_collections(collections)
glue("zoos", book_zoos.labels(main), display=False)
INPUTS = "wstats-layers:0,1,2,3"

# %% tags=["remove-input"]
display(Markdown(f"**Zoos:** {book_zoos.labels(main)}. " + book_zoos.predictor_settings_note(settings)))

# %%
curves = pd.concat([
    analyses.learning_curve(c.zoo, predictor, INPUTS, preset=settings["preset"], n_bootstrap=settings["n_bootstrap"])
    .assign(collection=name)
    for name, c in main.items() for predictor in ("gbm", "dnn")
], ignore_index=True)

# %% tags=["remove-cell"]
paper = experiments.paper_table2()
paper = paper[(paper["inputs"] == INPUTS)].set_index(["dataset", "predictor"])["paper_r2"]
figure = plots.learning_curve(
    curves.assign(predictor=curves["collection"].map(lambda n: main[n].dataset_name) + ", " + curves["predictor"]),
    paper={f"{c.dataset_name}, {p}": paper[(c.dataset, p)] for c in main.values() for p in ("gbm", "dnn")},
    title=f"GBM and DNN on {INPUTS} against the number of training nets\n{book_zoos.labels(main)}",
)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Learning curves: test R² (left) and Kendall τ (right) of the GBM and the DNN on the 56 per-layer statistics against the number of training nets (log axis), with 95 % bootstrap intervals over the test nets. Stars: the paper's R² with 15,000 training nets (v1 zoo; the MNIST star is full MNIST). This build: {glue:text}`zoos`.", "name": "fig-learning-curve"}}
figure

# %% tags=["remove-input"]
table = curves[["collection", "predictor", "n_train", "n_test", "r2", "r2_ci_low", "r2_ci_high",
                "kendall_tau", "tau_ci_low", "tau_ci_high"]].copy()
table["R² [95 % CI]"] = [str(Estimate.from_row(r)) for _, r in table.iterrows()]
table["Kendall τ [95 % CI]"] = [str(Estimate.from_row(r, "kendall_tau")) for _, r in table.iterrows()]
display(Markdown("**The points of {numref}`fig-learning-curve`.**"))
table["collection"] = table["collection"].map(lambda n: main[n].dataset_name)
table.set_index(["collection", "predictor", "n_train"])[["n_test", "R² [95 % CI]", "Kendall τ [95 % CI]"]]

# %% tags=["remove-cell"]
parts, verdicts = [], []
for name, collection in main.items():
    gbm = curves[(curves["collection"] == name) & (curves["predictor"] == "gbm")].sort_values("n_train")
    small, large = gbm.iloc[0], gbm.iloc[-1]
    verdict = claims.greater(Estimate.from_row(large), Estimate.from_row(small))
    verdicts.append(verdict)
    parts.append(f"{collection.dataset_name}: GBM R² {Estimate.from_row(large)} with {int(large.n_train)} training "
                 f"nets against {Estimate.from_row(small)} with {int(small.n_train)} ({verdict})")
claims.record("more_nets", "; ".join(parts), claims.combine(verdicts))
claims.glue_verdict("; ".join(parts) + f". More training nets give a better GBM here: {claims.combine(verdicts)}. "
                    "The distance from the last point to the star is what a larger zoo would have to close.")

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# Where the curve still rises at its last point, this build's Table 2 numbers are limited by the
# size of its zoo, not by the method; where it has flattened, more nets of the same kind would
# help little. The comparison with the paper's star mixes two differences: 15,000 training nets
# instead of a few, and nets trained for 18 epochs on full datasets instead of this build's schedule.
