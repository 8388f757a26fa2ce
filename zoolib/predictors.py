"""Regressors of a network's test accuracy from its inputs (weight statistics, raw weights, hyperparameters).

Three predictors, as in the paper, all scikit-learn estimators whose `fit(X, y, X_val=None, y_val=None)`
early-stops on the validation rows when they are given (and never looks at any other held-out rows):
- `LogitLinearRegressor` ("linear"): sigmoid(X w + b) on standardized inputs, MSE loss;
- `DNNRegressor` ("dnn"): a ReLU MLP with a sigmoid output on standardized inputs, MSE loss (Keras 3);
- `GBMRegressor` ("gbm"): LightGBM regression; pandas categorical columns are used as categories.
Predictions are clipped to [0, 1]. `make_predictor` builds one from named settings (`PRESETS`), and
`random_search` picks settings on the validation split.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from zoolib.metrics import kendall_tau, r2

PREDICTORS = ("linear", "gbm", "dnn")
PRESET_NAMES = ("sized", "fast", "paper")  # a search sized to a small zoo, quick fixed settings, the paper's


def _as_matrix(X) -> np.ndarray:
    """Float64 matrix from an array or DataFrame, with a clear error for non-numeric columns."""
    if isinstance(X, pd.DataFrame):
        bad = [c for c, dtype in X.dtypes.items()
               if isinstance(dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(dtype)]
        if bad:
            raise ValueError(
                f"columns {bad[:5]} are not numeric; the linear and dnn predictors need numbers "
                "(compute the features with categorical='onehot')"
            )
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-D feature matrix (rows, features), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("the feature matrix holds NaN or Inf; drop non-finite rows first (zoolib.zoo.drop_nonfinite)")
    return X


def _as_target(y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64).ravel()
    if not np.isfinite(y).all():
        raise ValueError("the target (test accuracy) holds NaN or Inf; drop those rows first")
    return y


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class LogitLinearRegressor(RegressorMixin, BaseEstimator):
    """The paper's logit-linear model: y ~ sigmoid(x . w + b) on standardized x, trained on MSE.

    Full-batch Adam in numpy; with validation rows, keeps the weights of the best validation MSE and
    stops after `patience` iterations without improvement (checked every `eval_every` iterations).
    `alpha` is an L2 penalty on w.
    """

    input_encoding = "onehot"  # categorical hyperparameters as one-hot columns

    def __init__(self, learning_rate: float = 0.02, max_iter: int = 3000, patience: int = 200,
                 eval_every: int = 10, alpha: float = 0.0):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.patience = patience
        self.eval_every = eval_every
        self.alpha = alpha

    def fit(self, X, y, X_val=None, y_val=None) -> "LogitLinearRegressor":
        X, y = _as_matrix(X), _as_target(y)
        self.scaler_ = StandardScaler().fit(X)
        Z = self.scaler_.transform(X)
        Z_val = None if X_val is None else self.scaler_.transform(_as_matrix(X_val))
        y_val = None if y_val is None else _as_target(y_val)
        mean = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
        params = np.zeros(Z.shape[1] + 1)
        params[-1] = np.log(mean / (1 - mean))
        m, v = np.zeros_like(params), np.zeros_like(params)
        best, best_loss, since_best = params.copy(), np.inf, 0
        self.n_iter_ = self.max_iter
        for it in range(1, self.max_iter + 1):
            p = _sigmoid(Z @ params[:-1] + params[-1])
            dz = 2.0 * (p - y) * p * (1.0 - p) / len(y)
            grad = np.append(Z.T @ dz + 2.0 * self.alpha * params[:-1], dz.sum())
            m = 0.9 * m + 0.1 * grad
            v = 0.999 * v + 0.001 * grad**2
            params -= self.learning_rate * (m / (1 - 0.9**it)) / (np.sqrt(v / (1 - 0.999**it)) + 1e-8)
            if Z_val is not None and it % self.eval_every == 0:
                loss = float(np.mean((_sigmoid(Z_val @ params[:-1] + params[-1]) - y_val) ** 2))
                if loss < best_loss:
                    best, best_loss, since_best = params.copy(), loss, 0
                else:
                    since_best += self.eval_every
                    if since_best >= self.patience:
                        self.n_iter_ = it
                        break
        final = best if Z_val is not None else params
        self.coef_, self.intercept_ = final[:-1], float(final[-1])
        self.best_val_mse_ = best_loss if Z_val is not None else None
        return self

    def predict(self, X) -> np.ndarray:
        Z = self.scaler_.transform(_as_matrix(X))
        return np.clip(_sigmoid(Z @ self.coef_ + self.intercept_), 0.0, 1.0)


class DNNRegressor(RegressorMixin, BaseEstimator):
    """A ReLU MLP with a sigmoid output on standardized inputs, MSE loss, Adam (Keras 3).

    `num_layers` hidden layers of `num_units` units. The paper's best configs had 3-9 layers of
    256-512 units; the defaults here are smaller (3 x 128) to be quick on a CPU. With validation rows,
    training stops after `patience` epochs without a better validation MSE and keeps the best weights.
    `fit` seeds Python, NumPy and TensorFlow globally with `seed` (keras.utils.set_random_seed).
    """

    input_encoding = "onehot"

    def __init__(self, num_layers: int = 3, num_units: int = 128, learning_rate: float = 1e-3,
                 epochs: int = 200, batch_size: int = 256, patience: int = 20, seed: int = 0):
        self.num_layers = num_layers
        self.num_units = num_units
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.seed = seed

    def fit(self, X, y, X_val=None, y_val=None) -> "DNNRegressor":
        import keras  # imported here: TensorFlow takes seconds to load and only this predictor needs it
        import tensorflow as tf

        X, y = _as_matrix(X), _as_target(y)
        self.scaler_ = StandardScaler().fit(X)
        keras.utils.set_random_seed(self.seed)
        layers = [keras.Input(shape=(X.shape[1],))]
        layers += [keras.layers.Dense(self.num_units, activation="relu") for _ in range(self.num_layers)]
        layers += [keras.layers.Dense(1, activation="sigmoid")]
        self.model_ = keras.Sequential(layers)
        self.model_.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="mse")
        # Repeated tf.data pipelines and steps per epoch: Keras then keeps one iterator per fit instead of making
        # two per epoch, which took half of a small fit's time (15 ms each, measured 2026-12-06)
        train = (tf.data.Dataset.from_tensor_slices((self.scaler_.transform(X).astype(np.float32), y.astype(np.float32)))
                 .shuffle(len(y), seed=self.seed, reshuffle_each_iteration=True).batch(self.batch_size).repeat())
        fit_args = {"steps_per_epoch": -(-len(y) // self.batch_size), "shuffle": False}  # the pipeline shuffles
        if X_val is not None:
            validation = (self.scaler_.transform(_as_matrix(X_val)).astype(np.float32),
                          _as_target(y_val).astype(np.float32))
            fit_args.update(validation_data=tf.data.Dataset.from_tensor_slices(validation).batch(self.batch_size).repeat(),
                            validation_steps=-(-len(validation[1]) // self.batch_size),
                            callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=self.patience,
                                                                     restore_best_weights=True)])
        history = self.model_.fit(train, epochs=self.epochs, verbose=0, **fit_args)
        self.n_epochs_ = len(history.history["loss"])
        return self

    def predict(self, X) -> np.ndarray:
        Z = self.scaler_.transform(_as_matrix(X)).astype(np.float32)
        out = self.model_.predict(Z, batch_size=4096, verbose=0).ravel().astype(np.float64)
        return np.clip(out, 0.0, 1.0)


GBM_HISTOGRAM_POOL_MB = 2048
"""Default cap (MiB) on LightGBM's histogram cache (its `histogram_pool_size`), a memory setting, not a
model one: the trees are those of the paper's settings. Uncapped, LightGBM keeps a histogram per
leaf and feature: with the paper's num_leaves (up to 7975) on the 4,970 raw weights that is tens of
GiB (the Table 2 GBM on `weights` of a released-size zoo was killed at 24.3 GiB on a 24 GiB machine).
Capped, a leaf whose parent's histogram was evicted is built from its rows instead of by subtraction:
slower, same splits up to float rounding. -1 (GBMRegressor(histogram_pool_size=-1)) lifts the cap."""


class GBMRegressor(RegressorMixin, BaseEstimator):
    """LightGBM regression (lightgbm.LGBMRegressor), early-stopped on the validation rows.

    Pandas categorical columns are treated as categories by LightGBM. `n_estimators` is the most
    trees; with validation rows, training stops after `early_stopping_rounds` rounds without a better
    validation L2 and the best iteration is used for prediction. `n_jobs` is 1 by default: on a busy
    2-core machine LightGBM's OpenMP threads wait on each other (measured: 74 s with every core vs
    12 s with one, 1,200 training rows); pass None to use every core of an idle machine.
    `histogram_pool_size` (MiB) caps LightGBM's cache of per-leaf histograms (`GBM_HISTOGRAM_POOL_MB`
    by default; -1: LightGBM's default, no cap, for a machine with the memory; see that constant).
    """

    input_encoding = "category"  # LightGBM splits on pandas categorical columns

    def __init__(self, n_estimators: int = 4000, learning_rate: float = 0.03, num_leaves: int = 31,
                 max_depth: int = -1, max_bin: int = 255, min_child_weight: float = 1e-3,
                 min_child_samples: int = 20, subsample: float = 1.0, subsample_freq: int = 0,
                 colsample_bytree: float = 1.0, reg_lambda: float = 0.0, reg_alpha: float = 0.0,
                 early_stopping_rounds: int = 100, seed: int = 0, n_jobs: int | None = 1,
                 histogram_pool_size: float | None = None):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.max_bin = max_bin
        self.min_child_weight = min_child_weight
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.subsample_freq = subsample_freq
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed
        self.n_jobs = n_jobs
        self.histogram_pool_size = histogram_pool_size

    def fit(self, X, y, X_val=None, y_val=None) -> "GBMRegressor":
        import lightgbm

        params = self.get_params()
        rounds, seed = params.pop("early_stopping_rounds"), params.pop("seed")
        if params["histogram_pool_size"] is None:
            params["histogram_pool_size"] = GBM_HISTOGRAM_POOL_MB
        self.model_ = lightgbm.LGBMRegressor(objective="regression", random_state=seed, verbose=-1, **params)
        fit_args = {}
        if X_val is not None:
            fit_args = {"eval_X": (X_val,), "eval_y": (_as_target(y_val),),
                        "callbacks": [lightgbm.early_stopping(rounds, first_metric_only=True, verbose=False)]}
        self.model_.fit(X, _as_target(y), **fit_args)
        self.best_iteration_ = self.model_.best_iteration_ or self.n_estimators
        gain = self.model_.booster_.feature_importance("gain", iteration=self.best_iteration_)
        self.feature_importances_ = gain / gain.sum() if gain.sum() > 0 else gain  # share of the total gain
        return self

    def predict(self, X) -> np.ndarray:
        return np.clip(self.model_.predict(X, num_iteration=self.best_iteration_), 0.0, 1.0)


def _gbm_paper(num_leaves, max_depth, learning_rate, max_bin, min_child_weight, subsample,
               colsample_bytree, reg_lambda, reg_alpha) -> dict:
    return dict(num_leaves=num_leaves, max_depth=max_depth, learning_rate=learning_rate, max_bin=max_bin,
                min_child_weight=min_child_weight, subsample=subsample, subsample_freq=1,
                colsample_bytree=colsample_bytree, reg_lambda=reg_lambda, reg_alpha=reg_alpha,
                n_estimators=4000, early_stopping_rounds=100)


# Named settings: PRESETS[predictor][dataset] for preset "paper", PRESETS[predictor]["fast"] for "fast".
# "default" is used for a dataset without its own entry.
# GBM: the paper's best LightGBM settings on wstats-layers:0,1,2,3 per dataset (v1 zoo, best_configs.json),
# num_leaves 7975 with max_depth 12 included as the paper set it (max_depth bounds the leaves to 4096).
# "default" for the GBM is the Fashion-MNIST setting. DNN "paper": 3 x 512, inside the range of the
# paper's best configs (3-9 layers of 256-512 units); its exact per-dataset configs are not recorded here.
PRESETS: dict[str, dict[str, dict]] = {
    "gbm": {
        "fashion_mnist": _gbm_paper(7975, 12, 0.0302, 255, 4, 0.5, 0.704, 31.7, 0.0279),
        "mnist": _gbm_paper(3387, 10, 0.0264, 127, 3, 0.9, 0.718, 27.3, 0.0236),
        "cifar10": _gbm_paper(6209, 12, 0.0231, 127, 3, 0.6, 0.894, 25.0, 0.0081),
        "svhn_cropped": _gbm_paper(876, 10, 0.0187, 127, 4, 0.7, 0.743, 66.7, 0.0722),
        "default": _gbm_paper(7975, 12, 0.0302, 255, 4, 0.5, 0.704, 31.7, 0.0279),
        "fast": dict(n_estimators=400, learning_rate=0.1, num_leaves=31, early_stopping_rounds=30),
    },
    "dnn": {
        "default": dict(num_layers=3, num_units=512, learning_rate=1e-3, epochs=500, batch_size=256, patience=30),
        "fast": dict(num_layers=2, num_units=64, learning_rate=3e-3, epochs=150, batch_size=128, patience=15),
    },
    "linear": {
        "default": dict(learning_rate=0.02, max_iter=5000, patience=300),
        "fast": dict(learning_rate=0.05, max_iter=1500, patience=100),
    },
}
CLASSES = {"linear": LogitLinearRegressor, "dnn": DNNRegressor, "gbm": GBMRegressor}


def check_preset(preset: str) -> str:
    """`preset` if it names a preset, else a ValueError naming the choices (and $ZOOLIB_PRESET, which sets it)."""
    if preset not in PRESET_NAMES:
        raise ValueError(f"unknown predictor preset {preset!r} (a profile's, or $ZOOLIB_PRESET); "
                         f"expected one of {', '.join(PRESET_NAMES)}")
    return preset


def preset_params(name: str, dataset: str | None = None, preset: str = "paper") -> dict:
    """The named settings of a predictor: preset 'paper' (per dataset where known) or 'fast'."""
    if name not in PRESETS:
        raise ValueError(f"unknown predictor {name!r}; expected one of {PREDICTORS}")
    if preset == "fast":
        return dict(PRESETS[name]["fast"])
    if preset != "paper":
        raise ValueError(f"unknown preset {preset!r}; expected 'paper', 'fast' or 'sized' (a search: make_predictor)")
    return dict(PRESETS[name].get(dataset or "default", PRESETS[name]["default"]))


def make_predictor(predictor: str | BaseEstimator, dataset: str | None = None, preset: str = "paper",
                   seed: int = 0, n_search: int = 0, **overrides) -> BaseEstimator:
    """An unfitted predictor: a name ('linear', 'gbm', 'dnn') with preset settings (keyword overrides win),
    with n_search > 0 a `RandomSearch` of n_search settings around `preset`, with preset 'sized' a
    `GridSearch` of `SIZED_GRIDS` around the 'fast' settings; an estimator is returned as is."""
    if not isinstance(predictor, str):
        return predictor
    if preset == "sized":
        return GridSearch(predictor, SIZED_GRIDS[predictor], "fast", seed)
    if n_search:
        return RandomSearch(predictor, n_search, seed, preset)
    params = {**preset_params(predictor, dataset, preset), **overrides}
    if predictor != "linear":
        params["seed"] = seed
    return CLASSES[predictor](**params)


def input_encoding(estimator: BaseEstimator) -> str:
    """How the estimator wants categorical inputs: 'category' (pandas categories) or 'onehot' (the default)."""
    return getattr(estimator, "input_encoding", "onehot")


def _sample(name: str, rng: np.random.Generator) -> dict:
    """One random setting from the search space of a predictor (log-uniform where scale matters)."""
    def log_uniform(low, high):
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))

    if name == "gbm":
        # min_child_samples down to 5, so that a zoo of a few dozen training nets can split (LightGBM's 20 cannot)
        return dict(num_leaves=int(round(log_uniform(8, 8192))), max_depth=int(rng.choice([6, 8, 10, 12, -1])),
                    min_child_samples=int(rng.choice([5, 10, 20])),
                    learning_rate=log_uniform(0.01, 0.1), max_bin=int(rng.choice([63, 127, 255])),
                    min_child_weight=float(rng.integers(1, 6)), subsample=float(rng.uniform(0.5, 1.0)),
                    subsample_freq=1, colsample_bytree=float(rng.uniform(0.5, 1.0)),
                    reg_lambda=log_uniform(0.1, 100), reg_alpha=log_uniform(1e-3, 1))
    if name == "dnn":
        return dict(num_layers=int(rng.integers(3, 10)), num_units=int(rng.choice([256, 512])),
                    learning_rate=log_uniform(1e-4, 3e-3), batch_size=int(rng.choice([128, 256, 512])))
    return dict(learning_rate=log_uniform(1e-3, 0.1), alpha=log_uniform(1e-6, 1e-1))


def random_search(name: str, X_train, y_train, X_val, y_val, n_iter: int = 10, seed: int = 0,
                  preset: str = "fast", metric: str = "r2") -> tuple[BaseEstimator, pd.DataFrame]:
    """Seeded random search over a predictor's settings, each fitted on train and scored on val only.

    `metric` is 'r2' or 'kendall_tau' on the validation rows. Returns the best fitted estimator and
    one row per trial (the settings, val_r2, val_kendall_tau).
    """
    if metric not in ("r2", "kendall_tau"):
        raise ValueError(f"metric must be 'r2' or 'kendall_tau', got {metric!r}")
    rng = np.random.default_rng(seed)
    y_val = _as_target(y_val)
    trials, best, best_score = [], None, -np.inf
    for trial in tqdm(range(n_iter), desc=f"random search {name}", leave=False):
        params = _sample(name, rng)
        model = make_predictor(name, preset=preset, seed=seed + trial, **params)
        pred = model.fit(X_train, y_train, X_val=X_val, y_val=y_val).predict(X_val)
        scores = {"val_r2": r2(y_val, pred), "val_kendall_tau": kendall_tau(y_val, pred)}
        trials.append({"trial": trial, **params, **scores})
        score = np.nan_to_num(scores[f"val_{metric}"], nan=-np.inf)  # NaN (constant predictions) never wins
        if best is None or score > best_score:
            best, best_score = model, score
    return best, pd.DataFrame(trials)


class RandomSearch(RegressorMixin, BaseEstimator):
    """`random_search` as an estimator: fit searches on (X, y) and the validation rows, predict uses the best."""

    def __init__(self, name: str = "gbm", n_iter: int = 10, seed: int = 0, preset: str = "fast", metric: str = "r2"):
        self.name = name
        self.n_iter = n_iter
        self.seed = seed
        self.preset = preset
        self.metric = metric

    def fit(self, X, y, X_val=None, y_val=None) -> "RandomSearch":
        if X_val is None:
            raise ValueError("a random search chooses on validation rows: pass X_val and y_val to fit")
        self.best_estimator_, self.trials_ = random_search(
            self.name, X, y, X_val, y_val, self.n_iter, self.seed, self.preset, self.metric
        )
        return self

    @property
    def input_encoding(self) -> str:
        return CLASSES[self.name].input_encoding

    def predict(self, X) -> np.ndarray:
        return self.best_estimator_.predict(X)


# Preset "sized", for zoos of tens to hundreds of training nets (the tiny and mini profiles): every
# combination below, on top of the "fast" settings, is fitted on the training runs and the best
# validation R^2 wins. The paper's settings suit 15,000 training nets; with 64, LightGBM's default
# min_child_samples=20 leaves about 3 leaves per tree, and an unpenalized linear model on 4,970 raw
# weights overfits.
SIZED_GRIDS: dict[str, dict[str, tuple]] = {
    "gbm": {"num_leaves": (4, 8, 16), "min_child_samples": (3, 6, 12)},
    "linear": {"alpha": (1e-3, 0.1, 10.0)},
    "dnn": {"num_units": (16, 64)},
}


class GridSearch(RegressorMixin, BaseEstimator):
    """Every setting of a small grid (`grid`: parameter -> values) on top of `preset`, each fitted on
    the training rows and scored on the validation rows; the best validation R^2 predicts. Without
    validation rows (a zoo too small to have any) nothing can be chosen: the grid's first setting
    (its smallest model in `SIZED_GRIDS`) is fitted, and trials_ is empty. GBM settings whose
    min_child_samples leaves no room for a split of the training rows are not tried.

    Attributes: best_estimator_, best_params_, trials_ (one row per setting with val_r2).
    """

    def __init__(self, name: str = "gbm", grid: dict | None = None, preset: str = "fast", seed: int = 0):
        self.name = name
        self.grid = grid
        self.preset = preset
        self.seed = seed

    def fit(self, X, y, X_val=None, y_val=None) -> "GridSearch":
        grid = self.grid if self.grid is not None else SIZED_GRIDS[self.name]
        if X_val is None:
            self.best_params_ = {k: values[0] for k, values in grid.items()}
            self.best_estimator_ = make_predictor(self.name, preset=self.preset, seed=self.seed, **self.best_params_)
            self.best_estimator_.fit(X, y)
            self.trials_ = pd.DataFrame(columns=[*grid, "val_r2"])
            return self
        trials, best_score = [], -np.inf
        self.best_estimator_, self.best_params_ = None, None
        settings = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
        # a tree needs two leaves of min_child_samples rows: a setting that cannot split predicts a constant
        settings = [p for p in settings if 2 * p.get("min_child_samples", 0) <= len(X)] or settings[:1]
        for params in settings:
            model = make_predictor(self.name, preset=self.preset, seed=self.seed, **params)
            val_r2 = r2(_as_target(y_val), model.fit(X, y, X_val=X_val, y_val=y_val).predict(X_val))
            trials.append({**params, "val_r2": val_r2})
            if self.best_estimator_ is None or val_r2 > best_score:  # NaN (constant val targets) never wins
                self.best_estimator_, self.best_params_, best_score = model, params, val_r2
        self.trials_ = pd.DataFrame(trials)
        return self

    @property
    def input_encoding(self) -> str:
        return CLASSES[self.name].input_encoding

    @property
    def feature_importances_(self) -> np.ndarray:
        return self.best_estimator_.feature_importances_

    def predict(self, X) -> np.ndarray:
        return self.best_estimator_.predict(X)
