"""The Dockerfile builds what it promises, checked without a Docker engine.

There is no engine here, so the test replays what it can of the build: it reads the Dockerfile,
copies what its COPY lines copy (minus what .dockerignore leaves out of the context), runs its
`pip install` in a fresh virtualenv, and checks that the CMD resolves to the installed console
script and runs. System steps (users, directories) are checked as text. The departures from the
real build: `--no-deps` (the runtime dependencies would come from the network; the project's own
dependency list is checked as metadata instead), and the build stage's bundle (`COPY --from=`)
is a stand-in file, since building it needs node (`make bundle` and tests/web build and run the
real one).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
TEST_TOOLS = {"pytest", "pytest-asyncio", "pytest-timeout", "hypothesis", "mypy", "ruff"}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    argument: str


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped, as Docker reads them."""
    instructions: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, argument = (pending + stripped).partition(" ")
        instructions.append(Instruction(keyword.upper(), " ".join(argument.split())))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip().rstrip("/") for line in lines if line.strip()]
    patterns = [p for p in patterns if not p.startswith("#")]
    # The matcher below is exact for plain and ** patterns; exceptions would need more.
    assert not any(p.startswith("!") for p in patterns)
    return patterns


def _matches(pattern: list[str], parts: list[str]) -> bool:
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_matches(pattern[1:], parts[i:]) for i in range(len(parts) + 1))
    return (
        bool(parts)
        and fnmatch.fnmatchcase(parts[0], pattern[0])
        and _matches(pattern[1:], parts[1:])
    )


def ignored(relative: PurePosixPath, patterns: list[str]) -> bool:
    """Whether .dockerignore leaves *relative* (or a folder holding it) out of the context."""
    parts = list(relative.parts)
    return any(
        _matches(pattern.split("/"), parts[:end])
        for pattern in patterns
        for end in range(1, len(parts) + 1)
    )


@pytest.fixture(name="instructions", scope="module")
def _instructions() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def only(instructions: list[Instruction], keyword: str) -> list[str]:
    return [i.argument for i in instructions if i.keyword == keyword]


def pip_install_step(instructions: list[Instruction]) -> list[str]:
    (run,) = [arg for arg in only(instructions, "RUN") if "pip install" in arg]
    words = shlex.split(run)
    start = words.index("install") + 1
    end = words.index("&&", start) if "&&" in words[start:] else len(words)
    return words[start:end]


def runtime_stage(instructions: list[Instruction]) -> list[Instruction]:
    """The instructions of the last stage, the image that runs (earlier stages only build)."""
    last_from = max(i for i, ins in enumerate(instructions) if ins.keyword == "FROM")
    return instructions[last_from:]


def test_base_is_slim_python_311(instructions: list[Instruction]) -> None:
    """The image that runs is slim Python 3.11 (a build stage before it may differ)."""
    (runtime_from, *_) = runtime_stage(instructions)
    assert runtime_from.keyword == "FROM"
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", runtime_from.argument)


def test_call_bundle_is_built_from_the_lockfile_and_only_call_js_is_copied(
    instructions: list[Instruction],
) -> None:
    """The join page's bundle: `npm ci` in a build stage; the runtime image gets call.js (and
    its pre-compressed twins) alone."""
    stages = [i.argument.split() for i in instructions if i.keyword == "FROM"]
    assert len(stages) == 2, stages
    build_image, _, build_name = stages[0]
    assert build_image.startswith("node:")
    build_runs = " ".join(
        i.argument
        for i in instructions[: instructions.index(runtime_stage(instructions)[0])]
        if i.keyword == "RUN"
    )
    assert "npm ci" in build_runs
    assert "npm install" not in build_runs  # the lockfile, not a fresh resolve
    assert (ROOT / "web" / "package-lock.json").is_file()
    from_build = [
        shlex.split(i.argument)
        for i in runtime_stage(instructions)
        if i.keyword == "COPY" and i.argument.startswith("--from=")
    ]
    assert [words[0] for words in from_build] == [f"--from={build_name}"]
    (_, *sources, destination) = from_build[0]
    assert sorted(PurePosixPath(s).name for s in sources) == ["call.js", "call.js.br", "call.js.gz"]
    assert destination.rstrip("/").endswith("bot/join/static")


def test_runs_as_a_non_root_user_after_installing(instructions: list[Instruction]) -> None:
    users = only(instructions, "USER")
    assert users, "no USER: the server would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    keywords = [i.keyword for i in instructions]
    last_pip = max(i for i, ins in enumerate(instructions) if "pip install" in ins.argument)
    assert last_pip < keywords.index("USER") < keywords.index("CMD")


def test_installs_the_package_without_test_extras(instructions: list[Instruction]) -> None:
    arguments = pip_install_step(instructions)
    assert arguments[-1] == "."
    assert "--no-cache-dir" in arguments
    assert not any("[" in a for a in arguments), f"extras installed: {arguments}"
    assert not {"-e", "--editable", "-r", "--requirement"} & set(arguments)


def test_command_healthcheck_port_and_data_volume(instructions: list[Instruction]) -> None:
    assert [json.loads(c) for c in only(instructions, "CMD")] == [["roombot", "serve"]]
    assert only(instructions, "EXPOSE") == ["3000"]
    (healthcheck,) = only(instructions, "HEALTHCHECK")
    probe = json.loads(healthcheck[healthcheck.index("CMD [") + len("CMD ") :])
    assert probe[0] == "python"  # slim images have no curl or wget
    assert "http://127.0.0.1:3000/healthz" in probe[-1]
    assert "ENV DATABASE_URL=sqlite+aiosqlite:////data/roombot.db" in [
        f"ENV {a}" for a in only(instructions, "ENV")
    ]
    assert any("/data" in json.loads(v) for v in only(instructions, "VOLUME"))
    user = only(instructions, "USER")[-1].split(":")[0]
    setup = " ".join(only(instructions, "RUN"))
    assert "chown" in setup
    assert "/data" in setup
    assert f"--uid {user}" in setup or f" {user} " in setup


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = dockerignore_patterns()
    for path in [".venv/bin/python", ".git/HEAD", "bot/__pycache__/x.pyc", ".pytest_cache/v"]:
        assert ignored(PurePosixPath(path), patterns), path
    for path in [".mypy_cache/3.11", ".ruff_cache/x", "tests/test_x.py", ".env"]:
        assert ignored(PurePosixPath(path), patterns), path
    for path in [
        "web/node_modules/react/index.js",
        "bot/join/static/call.js",
        "bot/join/static/call.js.gz",
    ]:
        assert ignored(PurePosixPath(path), patterns), path  # the build stage makes its own
    for path in ["bot/cli.py", "pyproject.toml", "README.md", "web/call.tsx"]:
        assert not ignored(PurePosixPath(path), patterns), path
    for path in ["web/package.json", "web/package-lock.json"]:
        assert not ignored(PurePosixPath(path), patterns), path


BUILT_BY_STAGE = "/* stands in for what the build stage builds */\n"


def replay_copies(instructions: list[Instruction], image_root: Path) -> Path:
    """Apply the runtime stage's WORKDIR and COPY to *image_root*; returns the WORKDIR the pip
    step runs in. A COPY from a build stage writes a stand-in file at its destination."""
    patterns = dockerignore_patterns()
    workdir = PurePosixPath("/")
    for instruction in runtime_stage(instructions):
        if instruction.keyword == "WORKDIR":
            workdir = workdir / instruction.argument
        elif instruction.keyword == "RUN" and "pip install" in instruction.argument:
            return image_root / workdir.relative_to("/")
        elif instruction.keyword == "COPY" and instruction.argument.startswith("--from="):
            _, *sources, destination = shlex.split(instruction.argument)
            target = image_root / (workdir / destination).relative_to("/")
            target.mkdir(parents=True, exist_ok=True)
            for source in sources:
                (target / PurePosixPath(source).name).write_text(BUILT_BY_STAGE, encoding="utf-8")
        elif instruction.keyword == "COPY":
            *sources, destination = [w for w in shlex.split(instruction.argument) if w[:2] != "--"]
            target = image_root / (workdir / destination).relative_to("/")
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the build context"
                assert not ignored(PurePosixPath(source), patterns), f"{source} is dockerignored"
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, target, ignore=_ignore(patterns))
                else:
                    into_dir = destination.endswith("/") or len(sources) > 1
                    file_target = target / source if into_dir else target
                    file_target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(ROOT / source, file_target)
    raise AssertionError("the Dockerfile has no pip install step")


def _ignore(patterns: list[str]) -> Callable[[str, list[str]], set[str]]:
    def ignore(directory: str, names: list[str]) -> set[str]:
        relative = PurePosixPath(Path(directory).relative_to(ROOT).as_posix())
        return {name for name in names if ignored(relative / name, patterns)}

    return ignore


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    environment |= {"PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(  # noqa: S603 - fixed commands built from the Dockerfile under test
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=180, check=False
    )


def test_install_step_yields_the_cmd_in_a_fresh_venv(
    instructions: list[Instruction], tmp_path: Path
) -> None:
    """About 7 s: a fresh venv (~3.5 s) and an isolated build of the package (~3 s)."""
    source = replay_copies(instructions, tmp_path / "image")
    assert not list(source.rglob("__pycache__")), ".dockerignore let bytecode into the image"
    venv = tmp_path / "venv"
    created = _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"

    arguments = [*pip_install_step(instructions), "--no-deps"]
    installed = _run([str(python), "-m", "pip", "install", *arguments], cwd=source)
    output = installed.stdout + installed.stderr
    if installed.returncode != 0 and re.search(
        r"(No matching distribution|Could not find a version).*setuptools", output
    ):
        pytest.skip(f"no package index reachable for the build backend: {output[-400:]}")
    assert installed.returncode == 0, output

    command = [json.loads(c) for c in only(instructions, "CMD")][-1]
    script = venv / "bin" / command[0]
    assert script.is_file(), f"CMD {command[0]!r} is not an installed console script"
    helped = _run([str(script), "--help"], cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert command[1] in helped.stdout

    site_packages = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path
        ).stdout.strip()
    )
    shipped = _files(site_packages / "bot")
    assert shipped == _files(source / "bot"), "files in bot/ that the wheel leaves out"
    for name in ["call.js", "call.js.gz", "call.js.br"]:
        bundle = site_packages / "bot" / "join" / "static" / name
        assert bundle.read_text(encoding="utf-8") == BUILT_BY_STAGE, f"the wheel leaves out {name}"

    (metadata,) = site_packages.glob("roombot-*.dist-info/METADATA")
    requirements = Parser().parsestr(metadata.read_text()).get_all("Requires-Dist") or []
    unconditional = {
        re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower()
        for r in requirements
        if "extra ==" not in r
    }
    assert unconditional, "no runtime dependencies found in the metadata"
    assert not unconditional & TEST_TOOLS, "the image would install test tools"


def _files(top: Path) -> set[str]:
    return {
        p.relative_to(top).as_posix()
        for p in top.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
