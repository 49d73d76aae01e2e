"""The committed code generated from `proto/` matches what `proto/generate.py` makes now."""

from pathlib import Path

from proto import generate


def test_committed_generated_code_is_up_to_date(tmp_path: Path):
    fresh = generate.generate(tmp_path)
    committed = generate.generated_files(generate.REPO_ROOT)
    assert fresh, "no .proto file under proto/"
    assert committed == fresh, "generated modules without a .proto, or missing: run python -m proto.generate"
    stale = [
        str(path)
        for path in fresh
        if (tmp_path / path).read_bytes() != (generate.REPO_ROOT / path).read_bytes()
    ]
    assert not stale, f"stale generated code {stale}: run python -m proto.generate"
