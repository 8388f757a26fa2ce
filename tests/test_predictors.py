"""Predictors learn a known function of their inputs, early-stop on validation rows, follow presets."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from zoolib.predictors import (
    PRESETS,
    RandomSearch,
    DNNRegressor,
    GBMRegressor,
    GridSearch,
    LogitLinearRegressor,
    input_encoding,
    make_predictor,
    random_search,
)


def known_task(n=500, d=8, seed=0):
    """y = sigmoid(linear function of a few columns) + small noise, clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, size=d) + rng.normal(size=d) * 5
    Z = (X - X.mean(0)) / X.std(0)
    y = 1 / (1 + np.exp(-(1.5 * Z[:, 0] - Z[:, 1] + 0.5 * Z[:, 2]))) + rng.normal(0, 0.02, n)
    return X, np.clip(y, 0, 1)


def r2(y, p):
    return 1 - np.mean((p - y) ** 2) / np.var(y)


@pytest.fixture(scope="module")
def task():
    X, y = known_task()
    return (X[:300], y[:300]), (X[300:380], y[300:380]), (X[380:], y[380:])


@pytest.mark.parametrize("name", ["linear", "gbm", "dnn"])
def test_each_predictor_beats_the_train_mean_by_a_clear_margin(task, name):
    (Xtr, ytr), (Xva, yva), (Xte, yte) = task
    model = make_predictor(name, preset="fast", seed=0).fit(Xtr, ytr, X_val=Xva, y_val=yva)
    pred = model.predict(Xte)
    baseline = r2(yte, np.full_like(yte, ytr.mean()))
    assert baseline < 0.02
    assert r2(yte, pred) > {"linear": 0.95, "gbm": 0.8, "dnn": 0.9}[name]
    assert pred.min() >= 0 and pred.max() <= 1


def test_logit_linear_recovers_the_logit_linear_function():
    X, y = known_task(n=2000, seed=1)
    y = 1 / (1 + np.exp(-(X[:, 0] - X[:, 0].mean()) / X[:, 0].std()))  # exact, no noise
    model = LogitLinearRegressor(learning_rate=0.05, max_iter=4000).fit(X, y)
    assert r2(y, model.predict(X)) > 0.999
    assert np.argmax(np.abs(model.coef_)) == 0


def test_predictions_are_clipped_to_the_unit_interval():
    X, y = known_task(n=200)
    model = GBMRegressor(n_estimators=20, learning_rate=1.0, min_child_samples=2).fit(X, np.where(y > 0.5, 1.5, -0.5))
    pred = model.predict(X)
    assert pred.min() == 0.0 and pred.max() == 1.0


def test_gbm_early_stops_on_the_validation_rows_only(task):
    (Xtr, ytr), (Xva, yva), _ = task
    noisy = GBMRegressor(n_estimators=2000, learning_rate=0.3, early_stopping_rounds=10)
    noisy.fit(Xtr, ytr, X_val=Xva, y_val=np.random.default_rng(0).uniform(size=len(yva)))
    assert noisy.best_iteration_ < 100  # validation targets are noise: stop almost at once
    assert GBMRegressor(n_estimators=50, early_stopping_rounds=10).fit(Xtr, ytr).best_iteration_ == 50


def test_linear_early_stopping_keeps_the_best_validation_weights(task):
    (Xtr, ytr), (Xva, yva), _ = task
    model = LogitLinearRegressor(max_iter=5000, patience=50).fit(Xtr, ytr, X_val=Xva, y_val=yva)
    assert model.n_iter_ < 5000
    assert model.best_val_mse_ == pytest.approx(np.mean((model.predict(Xva) - yva) ** 2))


def test_gbm_uses_pandas_categories():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"opt": pd.Categorical(rng.choice(["adam", "sgd", "rmsprop"], 400)),
                      "lr": rng.uniform(size=400)})
    y = X["opt"].map({"adam": 0.9, "sgd": 0.2, "rmsprop": 0.6}).to_numpy(float) + 0.1 * X["lr"].to_numpy()
    model = GBMRegressor(n_estimators=200, learning_rate=0.1).fit(X[:300], y[:300], X_val=X[300:350], y_val=y[300:350])
    assert r2(y[350:], model.predict(X[350:])) > 0.95


def test_linear_and_dnn_reject_categorical_columns_with_advice():
    X = pd.DataFrame({"opt": pd.Categorical(["adam", "sgd"] * 10)})
    with pytest.raises(ValueError, match="onehot"):
        LogitLinearRegressor().fit(X, np.linspace(0, 1, 20))


def test_non_finite_inputs_are_refused():
    X, y = known_task(n=50)
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LogitLinearRegressor().fit(X, y)


def test_dnn_is_reproducible_with_a_seed(task):
    (Xtr, ytr), (Xva, yva), (Xte, _) = task
    params = dict(num_layers=1, num_units=8, epochs=5, batch_size=64)
    a = DNNRegressor(seed=3, **params).fit(Xtr, ytr, X_val=Xva, y_val=yva).predict(Xte)
    b = DNNRegressor(seed=3, **params).fit(Xtr, ytr, X_val=Xva, y_val=yva).predict(Xte)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_presets_reach_lightgbm_per_dataset(task):
    (Xtr, ytr), (Xva, yva), _ = task
    for dataset in ("mnist", "svhn_cropped"):
        model = make_predictor("gbm", dataset=dataset, seed=5, n_estimators=3).fit(Xtr, ytr, X_val=Xva, y_val=yva)
        used = model.model_.get_params()
        for key in ("num_leaves", "max_depth", "learning_rate", "max_bin", "subsample", "reg_lambda"):
            assert used[key] == PRESETS["gbm"][dataset][key], (dataset, key)
        assert used["random_state"] == 5
    assert make_predictor("gbm", dataset="my_own_zoo").get_params() == make_predictor("gbm").get_params()
    assert make_predictor("dnn", preset="fast", num_units=7).num_units == 7


def test_make_predictor_passes_an_estimator_through_and_searches_on_request():
    given = GBMRegressor(num_leaves=5)
    assert make_predictor(given) is given
    search = make_predictor("gbm", n_search=3, seed=2)
    assert isinstance(search, RandomSearch) and search.n_iter == 3 and search.input_encoding == "category"
    assert input_encoding(make_predictor("linear")) == "onehot"


def test_early_stopping_through_a_pipeline_with_routed_validation_rows(task):
    (Xtr, ytr), (Xva, yva), _ = task
    pipe = Pipeline([("model", GBMRegressor(n_estimators=2000, learning_rate=0.3, early_stopping_rounds=5))])
    pipe.fit(Xtr, ytr, model__X_val=Xva, model__y_val=yva)
    assert pipe.named_steps["model"].best_iteration_ < 2000


def test_make_predictor_rejects_unknown_names():
    with pytest.raises(ValueError, match="linear"):
        make_predictor("svm")
    with pytest.raises(ValueError, match="fast"):
        make_predictor("gbm", preset="slow")


def test_estimators_are_sklearn_compatible(task):
    (Xtr, ytr), _, (Xte, yte) = task
    model = clone(make_predictor("linear", preset="fast"))
    assert model.get_params()["max_iter"] == PRESETS["linear"]["fast"]["max_iter"]
    pipe = Pipeline([("model", model)]).fit(Xtr, ytr)
    assert pipe.score(Xte, yte) > 0.9  # RegressorMixin.score is R^2


def test_random_search_chooses_on_validation_and_is_seeded(task):
    (Xtr, ytr), (Xva, yva), _ = task
    best, trials = random_search("linear", Xtr, ytr, Xva, yva, n_iter=4, seed=1)
    again = random_search("linear", Xtr, ytr, Xva, yva, n_iter=4, seed=1)[1]
    assert len(trials) == 4 and {"learning_rate", "alpha", "val_r2", "val_kendall_tau"} <= set(trials.columns)
    pd.testing.assert_frame_equal(trials, again)
    best_pred = best.predict(Xva)
    assert r2(yva, best_pred) == pytest.approx(trials["val_r2"].max())


def test_random_search_estimator_needs_validation_rows(task):
    (Xtr, ytr), (Xva, yva), (Xte, _) = task
    with pytest.raises(ValueError, match="X_val"):
        RandomSearch("linear", n_iter=2).fit(Xtr, ytr)
    search = RandomSearch("linear", n_iter=2, seed=3).fit(Xtr, ytr, X_val=Xva, y_val=yva)
    np.testing.assert_allclose(search.predict(Xte), search.best_estimator_.predict(Xte))
    assert len(search.trials_) == 2


def test_sized_preset_searches_its_grid_and_keeps_the_best_on_validation(task):
    from zoolib.predictors import SIZED_GRIDS, GridSearch

    (Xtr, ytr), (Xva, yva), (Xte, _) = task
    search = make_predictor("gbm", preset="sized", seed=2)
    assert isinstance(search, GridSearch) and search.grid == SIZED_GRIDS["gbm"] and input_encoding(search) == "category"
    search.fit(Xtr[:40], ytr[:40], X_val=Xva, y_val=yva)
    n_settings = np.prod([len(v) for v in SIZED_GRIDS["gbm"].values()])
    assert len(search.trials_) == n_settings
    best = search.trials_.loc[search.trials_["val_r2"].idxmax()]
    assert search.best_params_ == {k: best[k] for k in SIZED_GRIDS["gbm"]}
    assert search.best_estimator_.min_child_samples == best["min_child_samples"]
    assert r2(yva, search.predict(Xva)) == pytest.approx(best["val_r2"])
    np.testing.assert_allclose(search.feature_importances_, search.best_estimator_.feature_importances_)
    alone = GridSearch("gbm", seed=2).fit(Xtr[:40], ytr[:40])  # no validation rows: the grid's first setting
    assert alone.best_params_ == {k: v[0] for k, v in SIZED_GRIDS["gbm"].items()} and alone.trials_.empty
    assert alone.best_estimator_.num_leaves == SIZED_GRIDS["gbm"]["num_leaves"][0]


def test_gbm_feature_importances_are_gain_shares_on_the_informative_columns(task):
    (Xtr, ytr), (Xva, yva), _ = task
    gbm = make_predictor("gbm", preset="fast").fit(Xtr, ytr, X_val=Xva, y_val=yva)
    assert gbm.feature_importances_.sum() == pytest.approx(1.0)
    assert set(np.argsort(gbm.feature_importances_)[-3:]) == {0, 1, 2}  # y depends on columns 0, 1, 2


def test_gbm_caps_lightgbm_histogram_memory_unless_told_not_to():
    from zoolib.predictors import GBM_HISTOGRAM_POOL_MB, GBMRegressor

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 5)), rng.uniform(size=200)
    capped = GBMRegressor(n_estimators=3).fit(X, y)
    assert capped.model_.get_params()["histogram_pool_size"] == GBM_HISTOGRAM_POOL_MB
    uncapped = GBMRegressor(n_estimators=3, histogram_pool_size=-1).fit(X, y)
    assert uncapped.model_.get_params()["histogram_pool_size"] == -1
    assert np.array_equal(capped.predict(X), uncapped.predict(X))  # a memory setting: the same trees


def test_the_sized_grid_never_tries_a_gbm_that_cannot_split(task):
    (Xtr, ytr), (Xva, yva), _ = task
    search = GridSearch("gbm").fit(Xtr[:10], ytr[:10], X_val=Xva[:2], y_val=yva[:2])
    assert search.trials_["min_child_samples"].max() <= 5  # 12 would leave one leaf: a constant prediction
    assert len(np.unique(search.predict(Xva))) > 1


def test_the_gbm_random_search_can_split_a_few_dozen_training_nets(task):
    (Xtr, ytr), (Xva, yva), _ = task
    best, trials = random_search("gbm", Xtr[:38], ytr[:38], Xva[:10], yva[:10], n_iter=8, seed=0, metric="kendall_tau")
    assert trials["min_child_samples"].min() <= 10  # LightGBM's default 20 leaves one leaf on 38 rows
    assert trials["val_kendall_tau"].notna().any() and len(np.unique(best.predict(Xva))) > 1
