"""The shipped scripts library: every script in `data/scripts/`, by id, and the one for an industry and language.

One script per (industry, language): alternative wordings belong in a node's variants, where mining can compare
them, not in a second script. A file is named after its script's id (`insurance-en.yaml` holds `insurance-en`).

The catalog is loaded once per directory and cached. The Script objects are shared by every caller, so stats
that mining updates in place are seen everywhere; tests that mutate them should load a fresh copy with
`load_script` or call `clear_cache()`.
"""

from __future__ import annotations

import functools
from pathlib import Path

from scripts_library.loader import DATA_DIR, ScriptError, load_script
from scripts_library.schema import Script

__all__ = ["SCRIPTS_DIR", "clear_cache", "load_catalog", "script_for"]

SCRIPTS_DIR = DATA_DIR / "scripts"


def load_catalog(dir: str | Path | None = None) -> dict[str, Script]:
    """Every `*.yaml` script in `dir` (default: the shipped library), by id.

    Raises ScriptError with the problems of every file at once, FileNotFoundError if `dir` is not a directory.
    The returned dict is the caller's own; the Script objects in it are shared (see the module docstring).
    """
    return dict(_load_dir(Path(dir or SCRIPTS_DIR).resolve()))


def script_for(industry: str, language: str, dir: str | Path | None = None) -> Script:
    """The script for an industry and language. KeyError (naming what exists) if there is none."""
    catalog = load_catalog(dir)
    for script in catalog.values():
        if script.industry == industry and script.language == language:
            return script
    have = ", ".join(sorted(f"{s.industry}/{s.language}" for s in catalog.values()))
    raise KeyError(f"no script for industry {industry!r} in language {language!r} (have: {have})")


def clear_cache() -> None:
    """Forget loaded catalogs: the next call reads the files again (after editing them, or between tests)."""
    _load_dir.cache_clear()


@functools.cache
def _load_dir(directory: Path) -> dict[str, Script]:
    if not directory.is_dir():
        raise FileNotFoundError(f"no scripts directory at {directory}")
    errors: list[str] = []
    scripts: dict[str, Script] = {}
    owner: dict[tuple[str, str], str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            script = load_script(path)
        except ScriptError as e:
            errors += e.errors
            continue
        if script.id != path.stem:
            errors.append(f"{path}: script id {script.id!r} does not match the file name ({path.stem}.yaml)")
        key = (script.industry, script.language)
        if key in owner:
            errors.append(f"{path}: a second script for {key[0]}/{key[1]} (first: {owner[key]})")
        owner.setdefault(key, script.id)
        scripts[script.id] = script
    if errors:
        raise ScriptError(errors)
    return scripts
