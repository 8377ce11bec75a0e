"""`pip install .` gives a working package and console script from any folder, migrations included."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path

from tests.integration.processes import announced_port, child_env

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | Path, **kw: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=240, **kw)  # type: ignore[call-overload]
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def clean_checkout(into: Path) -> Path:
    """The project's files as a fresh clone would have them (plus files not yet committed), nothing ignored:
    no build/ left by an earlier wheel (setuptools would ship its stale modules), no node_modules."""
    listing = ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    found = subprocess.run(listing, capture_output=True, text=True, timeout=60)
    if found.returncode != 0:  # not a git checkout (an unpacked archive): the tree without what builds leave
        skip = shutil.ignore_patterns("build", "dist", ".venv", "node_modules", ".git", "*.egg-info", "__pycache__")
        shutil.copytree(ROOT, into, ignore=skip)
        return into
    listed = found.stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


def test_a_wheel_installed_elsewhere_migrates_and_serves(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    source = clean_checkout(tmp_path / "checkout")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", wheels, source)
    wheel = next(wheels.glob("vedfolnir_realtime-*.whl"))
    venv = tmp_path / "host"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    # The dependencies come from the test environment's site-packages; the package itself only from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = child_env({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'host.db'}"})
    script = venv / "bin" / "vedfolnir-realtime"
    located = run(
        python, "-c", "import adapters, bootstrap; print(adapters.__file__, bootstrap.__file__)", cwd=elsewhere, env=env
    )
    assert str(ROOT) not in located.stdout, located.stdout
    assert "latest migration" in run(script, "db", "upgrade", cwd=elsewhere, env=env).stdout
    assert '"username": "demo"' in run(script, "demo", "seed", cwd=elsewhere, env=env).stdout
    server = subprocess.Popen(
        [str(script), "serve", "--port", "0"],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        port, output = announced_port(server.stdout)
        assert port is not None, "the installed server never listened:\n" + "\n".join(output)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            assert answer.status == 200
        # The API documents and the page that renders them come from the package, not from this checkout.
        for path in ("/openapi.json", "/asyncapi.json", "/docs/events", "/static/vendor/asyncapi/index.js"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
                assert answer.status == 200 and len(answer.read()) > 500, path
    finally:
        server.terminate()
        server.wait(timeout=10)
