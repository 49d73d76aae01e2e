"""yamllint (pinned in the test extras) finds nothing in manifests/: the generated file and the base."""

from __future__ import annotations

from pathlib import Path

from yamllint import linter
from yamllint.config import YamlLintConfig

from manifests.generate import BASE, OUTPUT

CONFIG = Path(__file__).with_name("yamllint.yml")


def test_the_manifests_are_lint_free():
    config = YamlLintConfig(file=str(CONFIG))
    files = [OUTPUT, *sorted(BASE.glob("*.yml"))]
    assert len(files) > 1
    problems = [
        f"{path.relative_to(OUTPUT.parent.parent)}:{problem.line}:{problem.column} {problem.message}"
        for path in files
        for problem in linter.run(path.read_text(), config, str(path))
    ]
    assert problems == []


def test_the_linter_does_report_problems():
    config = YamlLintConfig(file=str(CONFIG))
    problems = list(linter.run("---\nkey: value   \nkey: again\n", config))
    assert {problem.rule for problem in problems} >= {"trailing-spaces", "key-duplicates"}
