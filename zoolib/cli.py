"""The `zoolib` command line: one small function per command, each calling the module that does the work.

A user error (a bad flag, a damaged zoo, a folder that is not zoolib's, a failed download) prints one or
two lines naming the file, field or flag, what was expected and what to do, and exits with code 2;
`--debug` (anywhere on the line) shows the traceback too. A check that fails or cannot tell (`zoo verify`)
exits with 1. Ctrl-C ends a command with one line and exit code 130 (docs/refusals.md lists every refusal).
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import re
import sys
import traceback

from zoolib.generate import ZooLocked
from zoolib.release import DownloadError


# ----------------------------------------------------------------------------- flag values, checked by argparse


def _number(kind, test, expected: str):
    """An argparse type: `kind(text)` if it passes `test`, else an error saying what was `expected`."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not test(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


positive_int = _number(int, lambda v: v >= 1, "a positive integer")
non_negative_int = _number(int, lambda v: v >= 0, "an integer >= 0")
non_negative_float = _number(float, lambda v: math.isfinite(v) and v >= 0, "a number >= 0")
fraction = _number(float, lambda v: 0 < v < 1, "a fraction strictly between 0 and 1")
fraction_or_zero = _number(float, lambda v: 0 <= v < 1, "a fraction in [0, 1)")


def _checkpoint(*words: str):
    expected = " or ".join([repr(w) for w in words] + ["an epoch number"])
    return _number(lambda t: t if t in words else int(t), lambda v: v in words or v >= 0, expected)


def sha256_hex(text: str) -> str:
    """An argparse type: 64 hexadecimal digits, lower-cased."""
    if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
        raise argparse.ArgumentTypeError(f"expected a sha256 of 64 hexadecimal digits, got {text!r}")
    return text.lower()


def _strict_json(value):
    """`value` with NaN and infinities as None and NumPy scalars as Python ones, for strict JSON."""
    if isinstance(value, dict):
        return {str(k): _strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_json(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # NumPy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _print_json(value) -> None:
    print(json.dumps(_strict_json(value), indent=2, allow_nan=False))


def _cmd_layout(args: argparse.Namespace) -> int:
    from zoolib.cnn import Architecture, parameter_layout

    arch = Architecture.from_string(args.arch)
    if args.input_size is not None:
        arch = Architecture(**{**arch.__dict__, "input_size": args.input_size})
    parameter_layout(arch).to_csv(sys.stdout, index=False)
    return 0


def _cmd_zoo_info(args: argparse.Namespace) -> int:
    from zoolib.zoo import describe, read_zoo

    from zoolib.nfn import final_epoch_warning

    info = describe(read_zoo(args.dir))
    _warn(final_epoch_warning(max(info["steps"])))
    if args.json:
        _print_json(info)
        return 0
    acc = info["final_test_accuracy"]
    print(f"zoo:        {info['path']}")
    print(f"datasets:   {', '.join(info['datasets']) or '(no config.dataset column)'}")
    print(f"rows:       {info['rows']} x {info['parameters']} parameters")
    print(f"runs:       {info['runs']}")
    print(f"steps:      {info['steps']} (epochs of the checkpoints)")
    per_run = ", ".join(f"{n} checkpoints: {runs} runs" for n, runs in info["checkpoints_per_run"].items())
    print(f"per run:    {per_run}")
    print(
        "final test accuracy: "
        + "  ".join(f"{k} {acc[k]:.4f}" for k in ("mean", "std", "min", "25%", "50%", "75%", "max"))
    )
    print(f"non-finite rows: {info['nonfinite_rows']}")
    return 0


def _cmd_zoo_download(args: argparse.Namespace) -> int:
    from zoolib.release import archive_url, download_split_file, download_zoo
    from zoolib.zoo import MANIFEST_FILE, read_zoo

    if args.dest and len(args.datasets) > 1:
        raise ValueError("--dest names one zoo folder; give a single dataset with it")
    if args.archive and len(args.datasets) > 1:
        raise ValueError("--archive is one dataset's archive; give a single dataset with it")
    if args.split_file and len(args.datasets) > 1:
        raise ValueError("--split-file is one dataset's NFN split file; give a single dataset with it")
    if args.sha256 and len(args.datasets) > 1:
        raise ValueError("--sha256 is the hash of one dataset's archive; give a single dataset with it")
    for dataset in args.datasets:
        source = args.archive or archive_url(dataset, args.base_url)
        print(f"{dataset}: installing the released zoo from {source}", flush=True)
        path = download_zoo(dataset, args.dest, base_url=args.base_url, archive=args.archive, force=args.force,
                            sha256=args.sha256)
        zoo = read_zoo(path)
        print(
            f"{dataset}: {path}: {len(zoo)} rows x {zoo.weights.shape[1]} parameters, "
            f"{zoo.runs.nunique()} runs; checked: files, dtype, layout, published row count, checkpoints, "
            f"weights not constant{', archive sha256' if args.sha256 else ''}; sizes and sha256 in {MANIFEST_FILE}"
        )
        split = download_split_file(dataset, path, base_url=args.split_base_url, local=args.split_file)
        print(f"{dataset}: {split}: the NFN benchmark's split file; checked: size, sha256")
    return 0


def _verify_init(zoo) -> int:
    from zoolib.verify import initial_structure

    report = initial_structure(zoo)
    print(f"zoo: {zoo.path}; epoch-0 rows grouped by initializer (RandomNormal/TruncatedNormal divided by init_std)")
    print(report.to_string(index=False))
    shared = bool(report["shared"].all())
    print("shared initial draws per initializer (one seed for the zoo, as the paper's script): "
          + ("yes" if shared else f"no ({int(report['starts'].sum())} distinct starts in {int(report['runs'].sum())} runs)"))
    return 0


def _verify_integrity(folder: str) -> int:
    from zoolib.zoo import MANIFEST_FILE, check_manifest

    report = check_manifest(folder)
    width = max(len(name) for name, _ in report)
    print(f"zoo: {folder}; files re-hashed against {MANIFEST_FILE}")
    print("\n".join(f"  {name:<{width}}  {status}" for name, status in report))
    bad = [name for name, status in report if status != "ok"]
    if bad:
        print(f"zoolib: error: {', '.join(bad)} in {folder} changed since zoolib wrote the zoo; download or "
              "generate it again", file=sys.stderr)
        return 1
    print(f"OK: all {len(report)} files match {MANIFEST_FILE}")
    return 0


def _cmd_zoo_verify(args: argparse.Namespace) -> int:
    from zoolib.verify import failures, load_test_set, verify_zoo
    from zoolib.zoo import read_zoo

    if args.integrity:
        return _verify_integrity(args.dir)
    zoo = read_zoo(args.dir)
    if args.init:
        return _verify_init(zoo)
    data, warning = load_test_set(zoo, args.allow_mnist_subset, args.test_images)
    print(f"zoo:       {zoo.path} ({len(zoo)} rows, {zoo.runs.nunique()} runs)")
    print(f"test set:  {data.name}, {len(data.y_test)} images, from {data.source}")
    if warning:
        print(f"warning:   {warning}")
    print(f"tolerance: {args.tolerance:g} test image(s) = {args.tolerance / len(data.y_test):.2e} accuracy")
    report = verify_zoo(zoo, data, n=args.n, seed=args.seed, tolerance_images=args.tolerance)
    if report.empty:
        print(f"zoolib: error: no net was checked: every sampled checkpoint of {zoo.path} holds NaN/Inf weights",
              file=sys.stderr)
        return 1
    print(report.to_string(index=False, float_format=lambda v: f"{v:.4f}", formatters={"images": "{:+.1f}".format}))
    bad = failures(report)
    if bad:
        print(f"zoolib: error: {len(bad)} of {len(report)} nets disagree with metrics.csv.gz:", file=sys.stderr)
        print("\n".join(f"  {line}" for line in bad), file=sys.stderr)
        return 1
    decisive = int(report["can_fail"].sum())
    if decisive == 0:
        print(f"zoolib: error: cannot tell: on {len(data.y_test)} test image(s) no measured accuracy of these "
              f"{len(report)} nets could be more than {args.tolerance:g} image(s) from the recorded one, so a wrong "
              "accuracy would pass; use more test images or a smaller --tolerance", file=sys.stderr)
        return 1
    which = f"all {decisive}" if decisive == len(report) else f"{decisive} of {len(report)}"
    untold = f"; {len(report) - decisive} could not have failed (cannot tell)" if decisive < len(report) else ""
    print(f"OK: {which} nets reproduce their recorded test accuracy within {args.tolerance:g} test image(s){untold}")
    return 0


def _cmd_zoo_export(args: argparse.Namespace) -> int:
    from zoolib.export import export_net
    from zoolib.zoo import read_zoo, run_row

    if args.step is not None and args.run is None:
        raise ValueError("--step picks a checkpoint of --run; with --row the row is the checkpoint")
    zoo = read_zoo(args.dir)
    row = args.row if args.run is None else run_row(zoo, args.run, args.step)
    out, sidecar = export_net(zoo, row, args.out, args.format, args.force)
    meta = zoo.metrics.iloc[row]
    print(f"{out}: row {row} of {zoo.path} (run {meta['modeldir']}, epoch {meta['step']}, recorded test accuracy "
          f"{meta['test_accuracy']:.4f}) as {args.format}; hyperparameters and recorded accuracies in {sidecar}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from zoolib.evaluation import evaluate_predictor
    from zoolib.zoo import read_zoo

    if args.val_fraction + args.test_fraction >= 1:
        raise ValueError(f"--val-fraction {args.val_fraction} + --test-fraction {args.test_fraction} leave no runs "
                         "to train on; keep their sum below 1")
    row = evaluate_predictor(
        read_zoo(args.dir), args.predictor, args.inputs, seed=args.seed, step=args.step, preset=args.preset,
        val_fraction=args.val_fraction, test_fraction=args.test_fraction, n_bootstrap=args.bootstrap,
        n_search=args.search,
    )
    if args.json:
        _print_json(row)
    else:
        width = max(map(len, row))
        print("\n".join(f"{k:<{width}}  {v:.4f}" if isinstance(v, float) else f"{k:<{width}}  {v}" for k, v in row.items()))
    return 0


def _predictor_spec(flag: str, text: str) -> tuple[str, str]:
    """PREDICTOR:INPUTS, e.g. gbm:wstats-layers:0,1,2,3 -> ('gbm', 'wstats-layers:0,1,2,3'); ValueError naming `flag`."""
    from zoolib.predictors import PREDICTORS

    predictor, _, inputs = text.partition(":")
    if predictor not in PREDICTORS or not inputs:
        raise ValueError(f"{flag} {text}: expected PREDICTOR:INPUTS with PREDICTOR one of {', '.join(PREDICTORS)}, "
                         "e.g. gbm:wstats-layers:0,1,2,3 or gbm:hyper")
    return predictor, inputs


def _cmd_compare(args: argparse.Namespace) -> int:
    from zoolib.claims import Estimate, above, compared
    from zoolib.evaluation import paired, predict_runs
    from zoolib.features import feature_names
    from zoolib.metrics import score
    from zoolib.zoo import read_zoo

    specs = {"a": _predictor_spec("--a", args.a), "b": _predictor_spec("--b", args.b)}
    zoo = read_zoo(args.dir)
    for side, (predictor, inputs) in specs.items():  # a bad input fails now, not after fitting the other side
        try:
            feature_names(zoo, inputs)
        except ValueError as err:
            raise ValueError(f"--{side} {predictor}:{inputs}: {err}") from None
    predictions = {side: predict_runs(zoo, predictor, inputs, seed=args.seed, step=args.step, folds=args.folds,
                                      preset=args.preset)[1] for side, (predictor, inputs) in specs.items()}
    common = predictions["a"].index.intersection(predictions["b"].index)  # the same split: the same runs
    y = predictions["a"].loc[common, "y_true"].to_numpy()
    pred = {side: p.loc[common, "y_pred"].to_numpy() for side, p in predictions.items()}
    result = {"zoo": str(zoo.path), "step": args.step, "seed": args.seed, "preset": args.preset,
              "split": f"{args.folds}-fold cross-fitting" if args.folds else "single split, half of the runs test",
              "n": len(common), "bootstrap": args.bootstrap}
    for side, (predictor, inputs) in specs.items():
        result[side] = {"predictor": predictor, "inputs": inputs, **score(y, pred[side], args.bootstrap, args.seed)}
    for metric, key, name in (("r2", "r2_difference", "R²"), ("kendall_tau", "tau_difference", "Kendall τ")):
        difference, _ = paired(predictions["a"], predictions["b"], metric, args.bootstrap, args.seed)
        result[key] = {"value": difference.value, "low": difference.low, "high": difference.high,
                       "verdict": above(difference), "text": compared(difference, len(common), f"{name} A - B")}
    result["verdict"] = result["r2_difference"]["verdict"]
    if args.json:
        _print_json(result)
        return 0
    print(f"zoo:   {result['zoo']}, step {args.step}, seed {args.seed}, preset {args.preset}; {result['split']}; "
          f"{len(common)} nets scored, {args.bootstrap} bootstrap resamples (the same for A and B)")
    for side in specs:
        row = result[side]
        print(f"{side.upper()}:     {row['predictor']} on {row['inputs']}: R² {Estimate.from_row(row)}, "
              f"Kendall τ {Estimate.from_row(row, 'kendall_tau')}")
    print(f"paired: {result['r2_difference']['text']}\n        {result['tau_difference']['text']}")
    print(f"verdict: A predicts accuracy better than B (R² difference above 0): {result['verdict']}")
    return 0


def _cmd_features(args: argparse.Namespace) -> int:
    import importlib.util
    import os

    from zoolib.features import compute_features
    from zoolib.files import atomic_write, check_output_file
    from zoolib.zoo import read_zoo, select_rows

    out = check_output_file(args.out, args.force, inputs=(args.dir,))
    if not out.name.endswith((".csv", ".csv.gz", ".parquet")):
        raise ValueError(f"--out {out}: expected a .csv, .csv.gz or .parquet file name")
    folder = next(p for p in out.absolute().parents if p.exists())  # checked now, before hours of work
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: cannot write there ({folder} is {'not a folder' if not folder.is_dir() else 'not writable'})")
    if out.name.endswith(".parquet") and importlib.util.find_spec("pyarrow") is None:
        raise ValueError(f"--out {out}: writing parquet needs pyarrow (pip install pyarrow); or write .csv.gz")
    zoo = read_zoo(args.dir)
    if args.step != "all":
        zoo = zoo.take(select_rows(zoo.metrics, args.step))
    frame = compute_features(zoo, args.inputs, args.categorical, args.chunk_rows, log_scale=args.log_scale)
    frame.insert(0, "modeldir", zoo.metrics["modeldir"].to_numpy())
    frame.insert(1, "step", zoo.metrics["step"].to_numpy())
    with atomic_write(out, exclusive=not args.force) as tmp:
        if out.name.endswith(".parquet"):
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, compression="gzip" if out.name.endswith(".gz") else None)
    print(f"{out}: {len(frame)} rows x {frame.shape[1] - 2} features ({args.inputs}) + modeldir, step")
    return 0


def _nfn_split(args: argparse.Namespace):
    from zoolib.files import check_output_file
    from zoolib.nfn import final_epoch_warning, nfn_split
    from zoolib.zoo import read_zoo

    if (args.activation is None) != (args.subset_rule is None):
        raise ValueError("--activation and --subset-rule go together: split-then-filter (ScaleGMN) or "
                         "filter-then-split (Monomial-NFN)")
    check_output_file(args.out, args.force, inputs=(args.dir,))
    zoo = read_zoo(args.dir)
    _warn(final_epoch_warning(max(zoo.steps)))
    split = nfn_split(zoo, args.split_file, args.activation, args.subset_rule or "split-then-filter")
    print(f"{split.label()}: train / val / test {' / '.join(map(str, split.sizes))}")
    return zoo, split


def _cmd_nfn_split(args: argparse.Namespace) -> int:
    from zoolib.files import atomic_write

    if not args.out.endswith(".csv"):
        raise ValueError(f"--out {args.out}: expected a .csv file name")
    zoo, split = _nfn_split(args)
    frame = split.frame()
    frame["modeldir"] = zoo.metrics["modeldir"].to_numpy()[frame["row"]]
    frame["test_accuracy"] = zoo.metrics["test_accuracy"].to_numpy()[frame["row"]]
    with atomic_write(args.out, exclusive=not args.force) as tmp:
        frame.to_csv(tmp, index=False)
    print(f"{args.out}: {len(frame)} members (part, row of weights.npy, modeldir, test_accuracy) in the protocol's order")
    return 0


def _cmd_nfn_export(args: argparse.Namespace) -> int:
    from zoolib.nfn import save_npz, torch_layout

    if not args.out.endswith(".npz"):
        raise ValueError(f"--out {args.out}: expected a .npz file name")
    zoo, split = _nfn_split(args)
    data = torch_layout(zoo, split.parts[args.part])
    save_npz(data, args.out, exclusive=not args.force)
    shapes = ", ".join(str(w.shape[1:]) for w in data.weights)
    print(f"{args.out}: {args.part} part, {len(data.rows)} nets in PyTorch layout: weight_i {shapes}, bias_i, "
          "test_accuracy, row")
    return 0


def _cmd_zoo_generate(args: argparse.Namespace) -> int:
    from zoolib.generate import collection_specs, generate_collection
    from zoolib.hparams import DEFAULT_SEED_POLICY
    from zoolib.nfn import final_epoch_warning
    from zoolib.obtain import obtain, report
    from zoolib.profiles import resolve
    from zoolib.zoo import read_collection

    profile = resolve(args.profile, generated=True)
    cluster = dict(scheduler=args.scheduler, workers=args.workers, force=args.force)
    if args.dataset is None:
        if args.out or args.nets or args.shard_size or args.seeds or args.stack:
            raise ValueError("--out, --nets, --shard-size, --seeds and --stack need --dataset (one collection)")
        print(report(obtain(profile, without_cluster=True, **cluster)))
        return 0
    specs = collection_specs(profile, args.dataset, nets=args.nets, shard_size=args.shard_size,
                             seeds=args.seeds or DEFAULT_SEED_POLICY, stack=args.stack)
    path = generate_collection(specs, out=args.out, **cluster)
    print(f"{args.dataset}: {path}")
    _warn(final_epoch_warning(max(max(zoo.steps) for zoo in read_collection(path).values())))
    return 0


def _cmd_data_download(args: argparse.Namespace) -> int:
    from zoolib.data import download_dataset

    for name in args.datasets:
        print(f"{name}: files in {download_dataset(name)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoolib", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (allowed anywhere on the line)")
    commands = parser.add_subparsers(dest="command", required=True)

    layout = commands.add_parser("layout", help="print the flat parameter layout (layout.csv) as CSV")
    layout.add_argument(
        "--arch",
        default="cnn",
        help="architecture as kind[:field=value,...], e.g. cnn, mlp:num_layers=2, "
        "cnn:num_layers=5,padding=same (default: the paper's CNN)",
    )
    layout.add_argument("--input-size", type=positive_int, help="image side (28 for MNIST, 32 for CIFAR-10/SVHN)")
    layout.set_defaults(func=_cmd_layout)

    from zoolib.data import DATASETS

    data = commands.add_parser("data", help="image datasets").add_subparsers(dest="data_command", required=True)
    data_download = data.add_parser(
        "download", help="download a dataset's official files into data/datasets/NAME (MD5-checked; the only "
        "way zoolib fetches images: loading never touches the network)")
    data_download.add_argument("datasets", nargs="+", metavar="NAME", choices=DATASETS,
                               help="mnist, fashion_mnist, cifar10 and/or svhn_cropped")
    data_download.set_defaults(func=_cmd_data_download)

    zoo = commands.add_parser("zoo", help="work with zoo directories").add_subparsers(
        dest="zoo_command", required=True
    )
    info = zoo.add_parser("info", help="summarize a zoo directory")
    info.add_argument("dir", help="zoo directory (weights.npy, metrics.csv.gz, layout.csv)")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(func=_cmd_zoo_info)

    from zoolib.profiles import DEFAULT_PROFILE, GENERATED_PROFILES
    from zoolib.release import BASE_URL, SPLIT_BASE_URL

    download = zoo.add_parser(
        "download", help="download, check and install the released Small CNN Zoo (resumes; or from a local archive)"
    )
    download.add_argument(
        "datasets", nargs="+", metavar="DATASET", choices=DATASETS,
        help="mnist, fashion_mnist, cifar10 and/or svhn_cropped",
    )
    download.add_argument("--dest", help="zoo folder (default: data/zoos/released/DATASET)")
    download.add_argument(
        "--base-url", default=BASE_URL,
        help="where DATASET.tar.xz is fetched from (default: the paper's Google Cloud Storage bucket)",
    )
    download.add_argument("--archive", help="install from this local DATASET.tar.xz instead of downloading")
    download.add_argument("--force", action="store_true",
                          help="reinstall even if a checked zoo is in place; replace whatever --dest holds")
    download.add_argument("--sha256", type=sha256_hex, metavar="HEX",
                          help="refuse the archive unless its sha256 is HEX (recorded in the zoo's manifest.json)")
    download.add_argument("--split-file", metavar="FILE",
                          help="use this local copy of the dataset's NFN split file (e.g. cifar10_split.csv)")
    download.add_argument("--split-base-url", default=SPLIT_BASE_URL,
                          help="where the NFN split files are fetched from (default: the NFN repository, pinned commit)")
    download.set_defaults(func=_cmd_zoo_download)

    verify = zoo.add_parser(
        "verify", help="re-evaluate sampled nets on the test set and compare with metrics.csv.gz"
    )
    verify.add_argument("dir", help="zoo directory")
    verify.add_argument(
        "--init", action="store_true",
        help="instead: report whether runs with the same initializer start from the same epoch-0 "
        "weights (equal, or proportional to init_std for RandomNormal/TruncatedNormal)",
    )
    verify.add_argument(
        "--integrity", action="store_true",
        help="instead: re-hash the zoo's files and name any that changed since zoolib wrote them (manifest.json)",
    )
    verify.add_argument("--n", type=positive_int, default=20, help="number of nets (checkpoints) to re-evaluate (default 20)")
    verify.add_argument("--seed", type=non_negative_int, default=0, help="seed of the sample of runs")
    verify.add_argument(
        "--tolerance", type=non_negative_float, default=1.0, help="allowed difference in test images (default 1)"
    )
    verify.add_argument(
        "--allow-mnist-subset", action="store_true",
        help="use the 5k MNIST subset when full MNIST is absent (only meaningful for zoos trained on it)",
    )
    verify.add_argument(
        "--test-images", type=positive_int, metavar="N",
        help="evaluate on the first N test images, those the accuracies were recorded on (default: all, or what "
        "the zoo's generation.json says; another N than it says is refused)",
    )
    verify.set_defaults(func=_cmd_zoo_verify)

    from zoolib.export import FORMATS, TORCH_RECIPE

    export = zoo.add_parser(
        "export", help="write one net as a Keras 3 model (.keras) or PyTorch-layout tensors (.npz), with a sidecar "
        "JSON of its hyperparameters and recorded accuracies", epilog=TORCH_RECIPE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("dir", help="zoo directory (weights.npy, metrics.csv.gz, layout.csv)")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--row", type=non_negative_int, help="row of weights.npy (a net at one checkpoint)")
    which.add_argument("--run", metavar="MODELDIR", help="run, as the modeldir column of metrics.csv.gz names it")
    export.add_argument("--step", type=non_negative_int, help="with --run: the checkpoint's epoch (default: the run's last)")
    export.add_argument("--out", required=True, help="output file: NET.keras, or NET.npz for --format torch; "
                        "the sidecar NET.keras.json (NET.npz.json) goes beside it")
    export.add_argument("--format", default="keras", choices=FORMATS, help="keras (default) or torch")
    export.add_argument("--force", action="store_true", help="replace --out and its sidecar if they exist")
    export.set_defaults(func=_cmd_zoo_export)

    generate = zoo.add_parser(
        "generate", help="train a zoo (or every collection of a profile) on Dask; resumes after a crash"
    )
    generate.add_argument(
        "--dataset", metavar="COLLECTION",
        help="mnist, fashion_mnist, cifar10, svhn_cropped, or DATASET_archs (architecture variants); "
        "default: every collection of the profile",
    )
    generate.add_argument("--profile", default=DEFAULT_PROFILE, choices=GENERATED_PROFILES,
                          help=f"schedule and size: tiny (seconds), mini (~32 min on 2 cores), standard (~2 h on 2 "
                          f"cores), paper (30k nets, 86 epochs); default {DEFAULT_PROFILE}")
    generate.add_argument("--nets", type=positive_int, help="number of nets (per architecture for DATASET_archs)")
    generate.add_argument("--out", help="zoo folder (default: data/zoos/PROFILE/COLLECTION)")
    generate.add_argument("--shard-size", type=positive_int, help="nets per Dask task and per resumable shard")
    generate.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786 "
                          "(default: a local cluster of single-threaded worker processes)")
    generate.add_argument("--workers", type=positive_int, help="local worker processes (default: one per core)")
    generate.add_argument("--force", action="store_true",
                          help="replace what --out holds even if zoolib did not generate it (a downloaded zoo, your files)")
    generate.add_argument(
        "--stack", type=int, metavar="K",
        help="nets trained together in one graph (default: zoolib.train.STACK, for a CPU worker; "
        "on a GPU use hundreds, with --shard-size at least K)",
    )
    generate.add_argument(
        "--seeds", choices=("shared", "per-run"),
        help="seed policy: 'shared' (default, the paper's: one seed for the zoo, so runs share initial "
        "draws per initializer and batches per train fraction) or 'per-run' (every run its own seed)",
    )
    generate.set_defaults(func=_cmd_zoo_generate)

    from zoolib.predictors import PREDICTORS

    predict = commands.add_parser(
        "predict", help="train a predictor of test accuracy on a zoo's train runs, score it on its test runs"
    )
    predict.add_argument("dir", help="zoo directory (weights.npy, metrics.csv.gz, layout.csv)")
    predict.add_argument("--predictor", default="gbm", choices=PREDICTORS)
    predict.add_argument("--inputs", default="wstats-layers:0,1,2,3", help="input type, e.g. wstats-layers:0,1,2,3, hyper")
    predict.add_argument("--step", default="final", type=_checkpoint("final"),
                         help="checkpoint: 'final' or an epoch number (default: final)")
    predict.add_argument("--seed", type=non_negative_int, default=0, help="seed of the run split, bootstrap and predictor")
    predict.add_argument("--preset", default="paper", choices=("paper", "fast"), help="predictor settings")
    predict.add_argument("--val-fraction", type=fraction_or_zero, default=0.1, help="share of runs for validation")
    predict.add_argument("--test-fraction", type=fraction, default=0.5, help="share of runs for test")
    predict.add_argument("--bootstrap", type=non_negative_int, default=200, help="bootstrap resamples for the CIs (0: none)")
    predict.add_argument("--search", type=non_negative_int, default=0, help="random search of N settings around --preset, chosen on val")
    predict.add_argument("--json", action="store_true", help="print the row as JSON")
    predict.set_defaults(func=_cmd_predict)

    compare = commands.add_parser(
        "compare", help="two predictors on the same runs: both scores, the paired differences of R² and τ, a verdict"
    )
    compare.add_argument("dir", help="zoo directory (weights.npy, metrics.csv.gz, layout.csv)")
    for side, example in (("a", "gbm:wstats-layers:0,1,2,3"), ("b", "gbm:hyper")):
        compare.add_argument(f"--{side}", required=True, metavar="PREDICTOR:INPUTS",
                             help=f"predictor {side.upper()}, e.g. {example} (PREDICTOR one of {', '.join(PREDICTORS)})")
    compare.add_argument("--folds", type=_number(int, lambda v: v >= 2, "an integer >= 2"), metavar="K",
                         help="cross-fitting: every run predicted once by a model fitted on the other K-1 folds "
                         "(default: the paper's single split, half of the runs test)")
    compare.add_argument("--step", default="final", type=_checkpoint("final"),
                         help="checkpoint: 'final' or an epoch number (default: final)")
    compare.add_argument("--preset", default="paper", choices=("paper", "fast"), help="predictor settings")
    compare.add_argument("--bootstrap", type=positive_int, default=200,
                         help="bootstrap resamples of the scored runs, shared by A, B and their differences (default 200)")
    compare.add_argument("--seed", type=non_negative_int, default=0, help="seed of the split(s), predictors and bootstrap")
    compare.add_argument("--json", action="store_true", help="print the result as strict JSON (null for undefined)")
    compare.set_defaults(func=_cmd_compare)

    features = commands.add_parser(
        "features", help="compute a predictor input (weight statistics, norms, weights, hyper) to a file"
    )
    features.add_argument("dir", help="zoo directory (weights.npy, metrics.csv.gz, layout.csv)")
    features.add_argument(
        "--inputs", default="wstats-layers:0,1,2,3",
        help="input type as in the paper's Table 2, e.g. wstats-layers:0,1,2,3, wstats-glob, "
        "wnorm-layers:0,1,2,3-l2, weights.0, hyper, hyper+weights, wstats-arch",
    )
    features.add_argument("--step", default="final", type=_checkpoint("final", "all"),
                          help="checkpoints: 'final', 'all' or an epoch number")
    features.add_argument("--out", required=True, help="output file: .csv, .csv.gz or .parquet (needs pyarrow)")
    features.add_argument("--force", action="store_true", help="replace --out if it exists")
    features.add_argument(
        "--categorical", default="onehot", choices=("onehot", "category"), help="how w_init, activation, optimizer are coded"
    )
    features.add_argument("--log-scale", action="store_true", help="log10 of learning_rate, l2reg, init_std")
    features.add_argument("--chunk-rows", type=positive_int, default=1024, help="rows per chunk (default 1024)")
    features.set_defaults(func=_cmd_features)

    from zoolib.nfn import PARTS, SUBSET_RULES

    nfn = commands.add_parser("nfn", help="the NFN benchmark split and PyTorch-layout weights for other frameworks")
    nfn_commands = nfn.add_subparsers(dest="nfn_command", required=True)
    for name, helptext in (("split", "write the members of the NFN protocol's train, val and test parts (CSV)"),
                           ("export", "write one part's weights and biases in PyTorch layout with accuracies (.npz)")):
        command = nfn_commands.add_parser(name, help=helptext)
        command.add_argument("dir", help="zoo directory (weights.npy, metrics.csv.gz, layout.csv)")
        if name == "export":
            command.add_argument("--part", required=True, choices=PARTS)
        command.add_argument("--split-file", metavar="FILE", help="NFN split file (default: the one `zoolib zoo "
                             "download` put beside the zoo; without one, a seeded order that is NOT the benchmark)")
        command.add_argument("--activation", choices=("relu", "tanh"), help="keep only nets of this activation")
        command.add_argument("--subset-rule", choices=SUBSET_RULES,
                             help="with --activation: split then filter each part (ScaleGMN) or filter then split "
                             "(Monomial-NFN)")
        command.add_argument("--out", required=True, help=f"output file ({'.csv' if name == 'split' else '.npz'})")
        command.add_argument("--force", action="store_true", help="replace --out if it exists")
        command.set_defaults(func=_cmd_nfn_split if name == "split" else _cmd_nfn_export)
    return parser


USER_ERRORS = (ValueError, OSError, DownloadError, ZooLocked)  # ZooFormatError and DatasetNotFoundError included


def _message(err: BaseException) -> str:
    if isinstance(err, OSError) and err.filename and err.strerror and str(err).startswith("["):  # a bare OS error
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"{err.filename}: {err.strerror}; free space on that disk (or write elsewhere) and run the command again"
        return f"{err.filename}: {err.strerror}; check the path, its permissions and the free disk space"
    return str(err)


def _warn(warning: str | None) -> None:
    if warning:
        print(f"warning: {warning}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 done, 1 a check failed, 2 a user error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args([a for a in argv if a != "--debug"])
    except SystemExit as exit:  # argparse printed the usage and the bad flag
        return exit.code if isinstance(exit.code, int) else 2
    try:
        return args.func(args)
    except USER_ERRORS as err:
        if debug:
            traceback.print_exc()
        print(f"zoolib: error: {_message(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: what was written is complete or removed, a download resumes
        if debug:
            traceback.print_exc()
        print("zoolib: interrupted; nothing half-written is left: run the same command again to resume or redo it",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
