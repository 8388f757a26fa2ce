"""zoolib.profiles: a profile is one object, resolved once with the environment's switches applied."""

import ast
from pathlib import Path

import pandas as pd
import pytest

from zoolib import profiles

REPO = Path(__file__).resolve().parents[1]


def test_resolve_applies_the_preset_switch_and_leaves_the_table_alone(monkeypatch):
    monkeypatch.delenv(profiles.PRESET_ENV, raising=False)
    table = profiles.PROFILES["released"].preset
    assert profiles.resolve("released").preset == table
    monkeypatch.setenv(profiles.PRESET_ENV, "some-preset")
    assert profiles.resolve("released").preset == "some-preset"
    assert profiles.PROFILES["released"].preset == table  # the table itself is untouched


def test_an_unknown_preset_is_refused_by_name_before_any_work(monkeypatch):
    from zoolib.predictors import check_preset

    monkeypatch.setenv(profiles.PRESET_ENV, "papr")
    with pytest.raises(ValueError, match="'papr'.*ZOOLIB_PRESET.*sized, fast, paper"):
        check_preset(profiles.resolve("released").preset)


def test_the_default_profile_and_the_environment_name_it(monkeypatch):
    monkeypatch.delenv(profiles.PROFILE_ENV, raising=False)
    assert profiles.resolve().name == profiles.DEFAULT_PROFILE
    monkeypatch.setenv(profiles.PROFILE_ENV, "tiny")
    assert profiles.resolve().name == "tiny" and profiles.resolve("mini").name == "mini"  # a name given wins
    monkeypatch.setenv(profiles.PROFILE_ENV, "huge")
    with pytest.raises(ValueError, match="ZOOLIB_PROFILE='huge'.*expected one of"):
        profiles.resolve()
    with pytest.raises(ValueError, match="'released' is not a profile that zoolib generates"):
        profiles.resolve("released", generated=True)


def test_full_mnist_switch_turns_off_every_mnist_subset(monkeypatch):
    monkeypatch.delenv(profiles.FULL_MNIST_ENV, raising=False)
    uses_subset = [p for p in profiles.PROFILES.values() if any(s.mnist_subset for s in p.schedules.values())]
    assert uses_subset  # else this test tests nothing
    monkeypatch.setenv(profiles.FULL_MNIST_ENV, "1")
    for profile in uses_subset:
        assert not any(s.mnist_subset for s in profiles.resolve(profile.name).schedules.values())


def test_schedule_of_a_collection_and_of_an_unnamed_archs_collection():
    profile = profiles.resolve("mini")
    assert profile.schedule("mnist_archs") == profile.schedule("mnist")  # an unnamed _archs: its dataset's
    with pytest.raises(ValueError, match="no collection 'cifar10'"):
        profile.schedule("cifar10")
    with pytest.raises(ValueError, match="downloaded, not generated"):
        profiles.downloaded().schedule("mnist")


def test_where_zoos_come_from_decides_the_label_and_the_command():
    downloaded, cluster = profiles.downloaded(), profiles.paper_protocol()
    generated = next(p for p in profiles.PROFILES.values() if p.source == profiles.GENERATED)
    assert not downloaded.generated and cluster.generated and generated.generated
    assert "download" in downloaded.how_to_get("mnist") and "released" in downloaded.zoo_name
    assert "make zoo" in cluster.how_to_get("mnist")
    assert f"PROFILE={generated.name}" in generated.how_to_get("mnist") and generated.name in generated.zoo_name
    assert generated.zoo_dir("mnist").parts[-3:] == ("zoos", generated.name, "mnist")


def test_the_verdict_experiments_cross_fit_only_on_small_generated_zoos():
    for profile in profiles.PROFILES.values():
        assert profile.folds is None or (profile.source == profiles.GENERATED and profile.folds >= 2)


def _profile_name_comparisons(path: Path, names: set[str]) -> list[str]:
    """`profile == "mini"`, `ctx.profile.name != 'released'`, `profile in ("paper", ...)`: a comparison of a
    profile with one of its names (a preset's name, e.g. `profile.preset == "paper"`, is not one)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Compare):
            continue
        text = ast.unparse(node).lower()
        for part in [node.left, *node.comparators]:
            values = part.elts if isinstance(part, (ast.Tuple, ast.List, ast.Set)) else [part]
            if any(isinstance(v, ast.Constant) and v.value in names for v in values) and "profile" in text \
                    and "preset" not in text:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_nothing_outside_profiles_compares_a_profile_name():
    files = [p for folder in ("zoolib", "book", "benchmarks") for p in (REPO / folder).glob("*.py")]
    found = [hit for path in files if path.name != "profiles.py" 
             for hit in _profile_name_comparisons(path, set(profiles.PROFILES))]
    assert not found, f"profile names compared outside zoolib/profiles.py: {found}"


def test_standard_learning_curve_reaches_700_training_nets_on_fashion_mnist():
    """Every cross-fitting split of the standard Fashion-MNIST zoo leaves at least 700 training nets, the
    size the learning curve's last point needs (issue 23)."""
    from zoolib.evaluation import run_splits

    standard = profiles.resolve("standard")
    runs = [f"run{i}" for i in range(standard.schedule("fashion_mnist").nets)]
    splits = run_splits(pd.DataFrame({"modeldir": runs}), standard.folds)
    assert len(splits) == standard.folds and min((s == "train").sum() for s in splits) >= 700


def test_every_generated_profile_is_a_choice_of_make_book_and_make_zoos(monkeypatch):
    """`make book PROFILE=X` runs book/build.py --profile X, `make zoos PROFILE=X` runs zoolib zoo generate
    --profile X: both parsers take every generated profile, standard included (--help exits 0 after the
    choice is checked; a refused choice exits 2)."""
    from zoolib.cli import build_parser

    monkeypatch.syspath_prepend(str(REPO / "book"))
    import build  # book/build.py

    assert "standard" in profiles.GENERATED_PROFILES
    for name in profiles.GENERATED_PROFILES:
        assert build_parser().parse_args(["zoo", "generate", "--profile", name]).profile == name
        with pytest.raises(SystemExit) as done:
            build.main(["--profile", name, "--help"])
        assert done.value.code == 0, name
