"""The built wheel is the whole app: code, migrations, templates, static files and guides,
with a `troubleshooter` command, working from a folder that is not a checkout."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, app_environment, daphne


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(build), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    (build / "build.log").write_text(done.stdout + done.stderr)
    (built,) = build.glob("*.whl")
    return built


def test_building_the_package_warns_about_no_folder_left_out_of_it(wheel):
    # Each data folder whose name could be imported, if not listed under packages in
    # pyproject.toml, costs a screenful of setuptools warnings on every `make run`.
    log = (wheel.parent / "build.log").read_text()
    assert "is absent from the `packages` configuration" not in log, log[:2000]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, installed on its own into a fresh folder."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    return target


def installed_environment(installed: Path, workdir: Path) -> dict[str, str]:
    env = app_environment(workdir, PYTHONPATH=str(installed))
    del env["DATABASE_URL"]  # the embedded default: SQLite in the folder the command runs in
    return env


def run(installed: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed / "bin" / "troubleshooter"), *args],
        cwd=workdir, env=installed_environment(installed, workdir), capture_output=True, text=True, timeout=120,
    )


def test_the_wheel_holds_every_module_and_data_file_of_the_checkout(installed):
    source_modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "troubleshooter").rglob("*.py")}
    installed_modules = {p.relative_to(installed).as_posix() for p in (installed / "troubleshooter").rglob("*.py")}
    site_files = {p.relative_to(installed / "troubleshooter" / "site").as_posix()
                  for p in (installed / "troubleshooter" / "site").rglob("*") if p.is_file()}
    missing_modules = source_modules - installed_modules
    assert not missing_modules
    for folder in ("templates", "static", "guides"):
        expected = {f"{folder}/{p.relative_to(ROOT / folder).as_posix()}"
                    for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
        assert expected <= site_files, sorted(expected - site_files)[:5]
    app_templates = {p.relative_to(ROOT).as_posix() for p in (ROOT / "troubleshooter").rglob("templates/**/*.html")}
    installed_templates = {p.relative_to(installed).as_posix()
                           for p in (installed / "troubleshooter").rglob("*.html")}
    assert app_templates <= installed_templates


def test_the_installed_command_checks_migrates_and_serves_the_guides_outside_a_checkout(installed, tmp_path):
    checked = run(installed, tmp_path, "check")
    assert checked.returncode == 0, checked.stderr
    migrated = run(installed, tmp_path, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "db.sqlite3").is_file()

    env = installed_environment(installed, tmp_path)
    shows_where = subprocess.run(
        [sys.executable, "-c", "import troubleshooter; print(troubleshooter.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )
    assert shows_where.stdout.startswith(str(installed))

    with daphne(env, tmp_path / "daphne.log", cwd=tmp_path) as (_, base):
        cause = httpx.get(f"{base}/causes/proxy-buffering/", timeout=10)
        assert cause.status_code == 200
        assert "X-Accel-Buffering" in cause.text
        stylesheet = httpx.get(f"{base}/static/css/app.css", timeout=10)
        assert stylesheet.status_code == 200 and stylesheet.text.strip()

        probed = run(installed, tmp_path, "probe", f"{base}/lab/sse/healthy/?chunks=5&delay=0.01", "--json")
        assert probed.returncode == 0, probed.stderr
        assert json.loads(probed.stdout)["outcome"] == "healthy"


def test_the_wheel_names_its_command(installed):
    entry_points = next(installed.glob("*.dist-info")) / "entry_points.txt"
    assert "troubleshooter = troubleshooter.__main__:main" in entry_points.read_text()


def test_the_wheel_carries_no_bytecode_database_or_secret(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert not [name for name in names if name.endswith((".sqlite3", ".secret_key"))]
