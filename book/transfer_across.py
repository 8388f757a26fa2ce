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
# # Transfer across collections
#
# **Question.** Does a predictor trained on the nets of one dataset rank the nets of another?
# {cite:t}`unterthiner2020predicting` train a GBM on the all-layer statistics
# (`wstats-layers:0,1,2,3`) of collection *i* and evaluate it on the test runs of collection *j*: a
# grid of predicted-against-true scatters with Kendall τ in each panel (4 x 4 over MNIST,
# Fashion-MNIST, CIFAR10-GS and SVHN-GS).
#
# `zoolib.experiments.transfer_across`: train runs of *i* (early stopping and settings on *i*'s
# validation runs), test runs of every *j* (the split of Table 2), final checkpoints.

# %% tags=["remove-cell"]
# %matplotlib inline
from IPython.display import Markdown, display
from myst_nb import glue

from zoolib import book_zoos, claims, experiments, plots, profiles
from zoolib.claims import Estimate

profile = profiles.current_profile()
settings = profiles.settings(profile)
collections, missing = book_zoos.open_collections(profile)
main = book_zoos.main_collections(collections)
glue("zoos", book_zoos.labels(main), display=False)

# %% tags=["remove-input"]
absent = [n for n in missing if not n.endswith("_archs")]
display(Markdown(
    f"**Zoos:** {book_zoos.labels(main)}. This build has {len(main)} collection(s) of the paper's CNN, so the grid "
    f"is {len(main)} x {len(main)}. " + book_zoos.predictor_settings_note(settings)
    + (f"\n\n{book_zoos.missing_note(missing, absent)}" if absent else "")
    + ("" if profile == "released" else
       "\n\nThe paper's grid also has CIFAR10-GS and SVHN-GS: their zoos need the released zoo or the "
       f"CIFAR-10 and SVHN images, which the `{profile}` profile does not generate.")
))

# %%
scores, predictions = experiments.transfer_across(
    {c.dataset_name: c.zoo for c in main.values()},
    predictor="gbm", inputs="wstats-layers:0,1,2,3", preset=settings["preset"], n_bootstrap=settings["n_bootstrap"],
)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The paper's Figure 5 on this build, transfer across datasets: predicted (y) against true (x) test accuracy of a GBM on the per-layer statistics trained on a row's collection and tested on a column's test runs, Kendall τ in each panel; diagonal panels (shaded) are ordinary test sets; red dashed: y = x. This build: {glue:text}`zoos`.", "name": "fig-transfer"}}
plots.transfer_grid(predictions, scores, title=f"GBM on wstats-layers:0,1,2,3: train on a row, test on a column\n{book_zoos.labels(main)}")

# %% tags=["remove-input"]
table = scores[["train_on", "test_on", "seen", "n_test"]].copy()
table["Kendall τ [95 % CI]"] = [str(Estimate.from_row(r, "kendall_tau")) for _, r in scores.iterrows()]
table["τ ceiling"] = scores["tau_ceiling"].map("{:.3f}".format)
table["R² [95 % CI]"] = [str(Estimate.from_row(r)) for _, r in scores.iterrows()]
display(Markdown("**The panels of {numref}`fig-transfer` in numbers.**"))
table.set_index(["train_on", "test_on"])

# %% tags=["remove-cell"]
off = scores[~scores["seen"]]
if off.empty:
    claims.record("transfer", "one collection only: no pair to transfer across", claims.NOT_RUN)
    claims.glue_verdict("This build has one collection of the paper's CNN, so there is no other dataset to transfer to.")
else:
    parts, verdicts = [], []
    for _, r in off.iterrows():
        tau = Estimate.from_row(r, "kendall_tau")
        verdicts.append(claims.above(tau, 0.0))
        parts.append(f"trained on {r.train_on}, tested on {r.test_on}: τ {tau} ({verdicts[-1]})")
    verdict = claims.combine(verdicts)
    claims.record("transfer", "; ".join(parts), verdict)
    claims.glue_verdict("; ".join(parts) + f". A GBM trained on one dataset's nets ranks another's better than chance "
                        f"(τ above 0 in every off-diagonal pair): {verdict}.")

# %% [markdown]
# ## Verdict
#
# {glue:md}`verdict`
#
# Off the diagonal the predictor meets nets trained on data it never saw, which tests whether what it
# learned about weights is specific to one dataset. The accuracy *levels* differ between datasets
# (compare the histograms on [The zoo](zoo)), so a predictor can rank another dataset's nets well
# (high τ) while its R² is poor: its predictions are shifted as a whole, points in the right order
# but away from the red dashed line.
