"""The report templates live in reports/templates/ and are installed from there: the
repository (editable install), a wheel and --template-dir all render with the same files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import setuptools

from stsdebug.model import TraceResult
from stsdebug.render import html

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "reports" / "templates"
FIXTURE = ROOT / "fixtures" / "traces" / "kafka_fail.json"


def template_files() -> dict[str, bytes]:
    return {
        str(p.relative_to(TEMPLATES)): p.read_bytes()
        for p in TEMPLATES.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_the_package_list_names_every_package() -> None:
    # pyproject spells the packages out (a mapped package cannot be found by `find`):
    # a new package under stsdebug/ must be added there, or a wheel would leave it out.
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = setuptools.find_packages(str(ROOT), include=["stsdebug", "stsdebug.*"])
    assert sorted(set(listed) - {"stsdebug.templates"}) == sorted(found)
    assert not (ROOT / "stsdebug" / "templates").exists()  # one copy of the templates, not two


def test_the_repository_renders_with_reports_templates() -> None:
    loaded = html.builtin_templates().get_source(html.environment(), "report.html.j2")
    assert Path(loaded[1]).resolve() == (TEMPLATES / "report.html.j2").resolve()


def test_template_dir_of_the_repository_templates_renders_the_same_report() -> None:
    trace = TraceResult.load(FIXTURE)
    assert html.render(trace, template_dir=TEMPLATES) == html.render(trace)


def test_a_wheel_ships_reports_templates_and_renders_with_them(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "stsdebug", src / "stsdebug", ignore=ignore)
    shutil.copytree(ROOT / "reports", src / "reports", ignore=ignore)
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)],
                   check=True, capture_output=True, timeout=240)
    (wheel,) = dist.glob("stsdebug-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        shipped = {n.removeprefix("stsdebug/templates/"): zf.read(n) for n in zf.namelist()
                   if n.startswith("stsdebug/templates/")}
    assert shipped == template_files()

    # Installed in a fresh environment (its dependencies from the system site), the command
    # renders the same report as the repository does.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
                   check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, timeout=240)
    where = subprocess.run([str(python), "-c", "import stsdebug.templates as t; print(t.__file__)"],
                           capture_output=True, text=True, check=True, timeout=60, cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(venv)
    out = tmp_path / "report.html"
    run = subprocess.run([str(venv / "bin" / "stsdebug"), "report", str(FIXTURE), "--html", str(out)],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert out.read_text(encoding="utf-8") == html.render(TraceResult.load(FIXTURE))
