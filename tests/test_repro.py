"""Reproduction bundles: a failed run packed with its inputs replays to the same failure and digest."""

from __future__ import annotations

import json
import tarfile

import pytest

from bench.cli import main


def test_failed_run_bundle_replays_bit_for_bit(tmp_path, platform, capsys):
    failed = tmp_path / "failed.json"
    assert main(["run", "boot", "--platform", platform, "--expect", "never printed", "--timeout", "0.05",
                 "--artifacts", str(tmp_path / "run"), "--json", str(failed)]) == 3
    original = json.loads(failed.read_text())
    bundle = tmp_path / "repro.tar.gz"
    assert main(["repro", str(failed), "--out", str(bundle)]) == 0
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
    assert "bundle/bundle.json" in names and any(n.endswith("vmlinux") for n in names)
    capsys.readouterr()
    assert main(["replay", str(bundle), "--out", str(tmp_path / "replay")]) == 3  # the same failure's exit code
    out = capsys.readouterr().out
    assert f"trace digest {original['trace_digest']}" in out and "reproduced bit for bit" in out


def test_a_damaged_bundle_or_a_passed_run_is_refused(tmp_path, platform):
    passed = tmp_path / "passed.json"
    assert main(["run", "ipi", "--platform", platform, "--rounds", "5", "--artifacts", str(tmp_path / "a"),
                 "--json", str(passed)]) == 0
    assert main(["repro", str(passed), "--out", str(tmp_path / "b.tar.gz")]) == 2
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tarball")
    assert main(["replay", str(tmp_path / "junk.tar.gz"), "--out", str(tmp_path / "r")]) == 2


@pytest.mark.parametrize("argv", [["repro", "missing.json"], ["replay", "missing.tar.gz"]])
def test_missing_files_are_clear_errors(tmp_path, argv, capsys):
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    assert "not found" in capsys.readouterr().err
