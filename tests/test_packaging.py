"""pyproject.toml: TensorFlow comes from the `cpu` or the `gpu` extra, never both builds at once."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
LINUX_X86 = {"platform_machine": "x86_64", "platform_system": "Linux", "sys_platform": "linux"}
LINUX_ARM = {"platform_machine": "aarch64", "platform_system": "Linux", "sys_platform": "linux"}


def _tensorflow(extras: tuple[str, ...], environment: dict) -> set[str]:
    """The TensorFlow distributions (with their extras) that pip installs for zoolib[extras] on `environment`:
    the base requirements, then each extra's (pip installs the base list whatever the extras)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"]) + [r for e in extras for r in project["optional-dependencies"][e]]
    found = set()
    for text in wanted:
        req = Requirement(text)
        if req.name.startswith("tensorflow") and (req.marker is None or req.marker.evaluate(environment)):
            found.add(req.name + "".join(f"[{e}]" for e in sorted(req.extras)))
    return found


@pytest.mark.parametrize("environment", [LINUX_X86, LINUX_ARM], ids=["x86_64", "aarch64"])
def test_the_gpu_extra_installs_the_cuda_build_alone_and_the_cpu_extra_the_cpu_build(environment):
    x86 = environment["platform_machine"] == "x86_64"
    assert _tensorflow(("gpu", "dev", "book"), environment) == ({"tensorflow[and-cuda]"} if x86 else
                                                                {"tensorflow", "tensorflow[and-cuda]"})
    assert _tensorflow(("cpu", "dev", "book"), environment) == ({"tensorflow-cpu"} if x86 else {"tensorflow"})


def test_make_install_and_the_conda_environment_choose_one_tensorflow_extra():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^TF \?= cpu$", makefile, re.M) and "-e '.[$(TF),dev,book]'" in makefile
    assert "-e .[cpu,dev,book]" in (REPO / "environment.yml").read_text()
