"""manifests/pyantrea.yml is exactly what the generator makes of manifests/base/ and the code."""

from __future__ import annotations

import yaml

from manifests import generate
from manifests.configmap import config_map
from manifests.generate import CHECKSUM_ANNOTATION, OUTPUT, default_image, render


def test_the_committed_manifest_is_up_to_date():
    assert OUTPUT.read_text() == render(default_image()), (
        "manifests/pyantrea.yml is stale: run .venv/bin/python -m manifests.generate and commit it"
    )


def test_check_mode_reports_a_stale_file(tmp_path, capsys):
    output = tmp_path / "pyantrea.yml"
    assert generate.main(["--output", str(output)]) == 0
    assert generate.main(["--check", "--output", str(output)]) == 0
    output.write_text(output.read_text().replace("priorityClassName", "priorityclassname"))
    assert generate.main(["--check", "--output", str(output)]) == 1
    assert "stale" in capsys.readouterr().err


def test_every_container_runs_the_image_asked_for():
    image = "registry.example.com/pyantrea:9.9"
    objects = list(yaml.safe_load_all(render(image)))
    images = [
        c["image"]
        for obj in objects
        if obj["kind"] in ("Deployment", "DaemonSet")
        for c in [
            *obj["spec"]["template"]["spec"].get("initContainers", []),
            *obj["spec"]["template"]["spec"]["containers"],
        ]
    ]
    assert len(images) == 4
    assert set(images) == {image}


def test_both_pod_templates_carry_the_configuration_checksum(manifest):
    sums = {
        obj["kind"]: obj["spec"]["template"]["metadata"]["annotations"][CHECKSUM_ANNOTATION]
        for obj in manifest
        if obj["kind"] in ("Deployment", "DaemonSet")
    }
    assert len(sums) == 2 and len(set(sums.values())) == 1
    assert next(obj for obj in manifest if obj["kind"] == "ConfigMap") == config_map()


def test_the_configmap_comes_before_the_workloads_that_mount_it(manifest):
    kinds = [obj["kind"] for obj in manifest]
    assert kinds.index("ConfigMap") < kinds.index("Deployment") < kinds.index("DaemonSet")
    assert max(i for i, kind in enumerate(kinds) if kind.endswith("Binding")) < kinds.index("ConfigMap")
