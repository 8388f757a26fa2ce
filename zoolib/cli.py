"""The `zoolib` command line: one small function per command, each calling the module that does the work."""

from __future__ import annotations

import argparse
import json
import sys

from zoolib.zoo import ZooFormatError


def _cmd_layout(args: argparse.Namespace) -> int:
    from zoolib.cnn import Architecture, parameter_layout

    arch = Architecture.from_string(args.arch)
    if args.input_size is not None:
        arch = Architecture(**{**arch.__dict__, "input_size": args.input_size})
    parameter_layout(arch).to_csv(sys.stdout, index=False)
    return 0


def _cmd_zoo_info(args: argparse.Namespace) -> int:
    from zoolib.zoo import describe, read_zoo

    info = describe(read_zoo(args.dir))
    if args.json:
        print(json.dumps(info, indent=2))
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoolib", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    layout = commands.add_parser("layout", help="print the flat parameter layout (layout.csv) as CSV")
    layout.add_argument(
        "--arch",
        default="cnn",
        help="architecture as kind[:field=value,...], e.g. cnn, mlp:num_layers=2, "
        "cnn:num_layers=5,padding=same (default: the paper's CNN)",
    )
    layout.add_argument("--input-size", type=int, help="image side (28 for MNIST, 32 for CIFAR-10/SVHN)")
    layout.set_defaults(func=_cmd_layout)

    zoo = commands.add_parser("zoo", help="work with zoo directories").add_subparsers(
        dest="zoo_command", required=True
    )
    info = zoo.add_parser("info", help="summarize a zoo directory")
    info.add_argument("dir", help="zoo directory (weights.npy, metrics.csv.gz, layout.csv)")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(func=_cmd_zoo_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ZooFormatError, ValueError, FileNotFoundError) as err:
        print(f"zoolib: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
