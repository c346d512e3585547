"""The command line's secondary commands: exit codes and messages."""

from __future__ import annotations

from bench.cli import main


def test_list_names_every_component_kind(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for section in ("data sets:", "degradations:", "restorers:", "spotters:", "image metrics:", "prompt sources:"):
        assert section in out
    assert "realesrgan-ncnn" in out and "level2" in out and "text_psnr" in out


def test_weights_verify_on_empty_dir_lists_missing_files(tmp_path, monkeypatch, capsys):
    """No name means every file of the manifest; missing files make exit status 1."""
    monkeypatch.setenv("TAIR_BENCH_WEIGHTS", str(tmp_path))
    assert main(["weights", "verify"]) == 1
    out = capsys.readouterr().out
    assert "alexnet" in out and "missing" in out and "python -m bench weights fetch alexnet" in out


def test_weights_fetch_offline_refuses_without_network(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TAIR_BENCH_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["weights", "fetch", "alexnet"]) == 2
    assert "offline mode" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
