from __future__ import annotations

import subprocess
import sys

import pytest

from mlopskit._optional import import_optional
from mlopskit.cli import main
from mlopskit.errors import OptionalDependencyError


def test_missing_extra_names_the_install_command() -> None:
    with pytest.raises(
        OptionalDependencyError, match=r'pip install "mlopskit-blocks\[dask\]"'
    ) as info:
        import_optional(
            "definitely_not_installed_mod", extra="dask", feature="Dask execution"
        )
    assert info.value.extra == "dask"
    assert isinstance(info.value, ImportError)


def test_cli_help_works(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "Exit codes" in capsys.readouterr().out


def test_cli_without_command_prints_help_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 2
    assert "usage: mlopskit" in capsys.readouterr().out


def test_console_script_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mlopskit.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith("mlopskit ")
