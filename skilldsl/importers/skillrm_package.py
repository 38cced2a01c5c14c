"""Reading a Skill-RM package: ``SKILL.md`` (YAML front matter + markdown body), the
``resources.yaml`` index and the files and scripts it names, validated so that every problem is
one line (:class:`PackageError`, a :class:`~skilldsl.errors.SkillError`: the CLI exits 1).

Paths are confined to the package: an absolute path, a ``..`` that leaves it or a symlink that
resolves outside it is refused, so an imported skill never inlines ``/etc/passwd``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import SkillError

__all__ = ["PackageError", "Resource", "Section", "Package", "read_package", "RESOURCE_TYPES", "PREAMBLE"]

# every resource type Skill-RM's published index uses; anything else is refused, not guessed at
RESOURCE_TYPES = ("rubric", "principle", "calibration", "aggregation", "output_contract", "metadata", "reference",
                  "checklist", "verifier", "tool", "tool_protocol", "external_pipeline")
PREAMBLE = ""  # the title of the body's text before its first ## heading
_MAX_FILE = 1_000_000  # a rubric is a few KB; a megabyte is not a rubric


class PackageError(SkillError):
    """A malformed package: one line naming the file and what is wrong."""


@dataclass(frozen=True)
class Resource:
    """One entry of ``resources.yaml`` (``runtime`` for the ``runtime_resources`` list)."""

    id: str
    type: str
    kind: str                      # implementation_kind: reference, runtime_sample, runtime_verifier ...
    subtype: str
    path: "str | None"
    text: "str | None"             # the file's text when ``path`` is set
    applies_to: tuple
    benchmarks: tuple
    inputs_required: tuple
    cost: str
    leakage: str
    allowed: tuple
    runtime: bool
    order: int                     # position in the index: ties keep the author's order


@dataclass(frozen=True)
class Section:
    """A ``## heading`` of the SKILL.md body and its text."""

    title: str
    text: str


@dataclass
class Package:
    """A Skill-RM package as read from disk."""

    root: Path
    name: str
    description: str
    metadata: dict
    sections: list
    resources: list
    scripts: dict = field(default_factory=dict)   # relative path -> source, for scripts/*.py
    extra_files: list = field(default_factory=list)  # other files nothing reads (README.md ...)

    @property
    def method(self) -> "str | None":
        """The setting the package runs in (``metadata.method``): ``allowed_setting`` is read against it."""
        method = self.metadata.get("method")
        return str(method) if method else None


def read_package(root: "str | Path") -> Package:
    """The package at ``root``; a :class:`PackageError` for anything malformed."""
    root = Path(root)
    if not root.is_dir():
        raise PackageError(f"{root}: not a directory")
    skill_md = root / "SKILL.md"
    if not skill_md.is_file():
        raise PackageError(f"{root}: not a Skill-RM package (no SKILL.md)")
    front, body = _split_front_matter(skill_md, _read_text(root, "SKILL.md", "SKILL.md"))
    resources = _read_index(root) if (root / "resources.yaml").exists() else []
    pkg = Package(root=root, name=_name(skill_md, front), description=str(front.get("description") or "").strip(),
                  metadata=dict(front.get("metadata") or {}), sections=_sections(body), resources=resources)
    pkg.scripts = {rel: _read_text(root, rel, rel) for rel in _listed(root, "scripts", ".py")}
    indexed = {r.path for r in resources if r.path} | set(pkg.scripts) | {"SKILL.md", "resources.yaml"}
    pkg.extra_files = [rel for rel in _listed(root, "", "") if rel not in indexed]
    return pkg


# -- SKILL.md -----------------------------------------------------------------------------

def _split_front_matter(path: Path, text: str) -> "tuple[dict, str]":
    import yaml

    match = re.match(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", text, re.S)
    if not match:
        raise PackageError(f"{path}: no YAML front matter (the file must start with a '---' block)")
    try:
        front = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise PackageError(f"{path}: front matter is not valid YAML: {_yaml_reason(exc)}") from None
    if not isinstance(front, dict):
        raise PackageError(f"{path}: front matter must be a mapping with name and description")
    if front.get("metadata") is not None and not isinstance(front["metadata"], dict):
        raise PackageError(f"{path}: front matter 'metadata' must be a mapping")
    return front, text[match.end():]


def _name(path: Path, front: dict) -> str:
    name = front.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PackageError(f"{path}: front matter has no 'name'")
    return name.strip()


def _sections(body: str) -> list:
    """The ``## `` sections of the body (text before the first one is the preamble)."""
    parts = re.split(r"(?m)^##[ \t]+(.+?)[ \t]*$", body)
    sections = [Section(PREAMBLE, parts[0].strip())] if parts[0].strip() else []
    for title, text in zip(parts[1::2], parts[2::2]):
        sections.append(Section(title.strip(), text.strip()))
    return sections


def _yaml_reason(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} (line {mark.line + 1})" if mark is not None else problem


# -- resources.yaml -----------------------------------------------------------------------

def _read_index(root: Path) -> list:
    import yaml

    where = root / "resources.yaml"
    try:
        data = yaml.safe_load(_read_text(root, "resources.yaml", "resources.yaml"))
    except yaml.YAMLError as exc:
        raise PackageError(f"{where}: not valid YAML: {_yaml_reason(exc)}") from None
    if not isinstance(data, dict):
        raise PackageError(f"{where}: must be a mapping with 'resources' (and 'runtime_resources')")
    resources, seen = [], set()
    for key, runtime in (("resources", False), ("runtime_resources", True)):
        entries = data.get(key) or []
        if not isinstance(entries, list):
            raise PackageError(f"{where}: '{key}' must be a list")
        for entry in entries:
            res = _resource(root, where, entry, runtime, len(resources))
            if res.id in seen:
                raise PackageError(f"{where}: resource '{res.id}' is listed twice")
            seen.add(res.id)
            resources.append(res)
    return resources


def _resource(root: Path, where: Path, entry, runtime: bool, order: int) -> Resource:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"].strip():
        raise PackageError(f"{where}: every resource must be a mapping with an 'id'")
    rid = entry["id"].strip()
    type_ = entry.get("type")
    if type_ not in RESOURCE_TYPES:
        raise PackageError(f"{where}: resource '{rid}' has unknown type {type_!r} (known: {', '.join(RESOURCE_TYPES)})")
    path = entry.get("path")
    if path is not None and not isinstance(path, str):
        raise PackageError(f"{where}: resource '{rid}': 'path' must be text")
    return Resource(
        id=rid, type=type_, kind=str(entry.get("implementation_kind") or "reference"),
        subtype=str(entry.get("subtype") or ""), path=_inside(root, path, f"{where}: resource '{rid}'") if path else None,
        text=_read_text(root, path, f"resource '{rid}'") if path else None,
        applies_to=_words(where, rid, entry, "applies_to"), benchmarks=_words(where, rid, entry, "benchmarks"),
        inputs_required=_words(where, rid, entry, "inputs_required"), cost=str(entry.get("cost") or "low"),
        leakage=str(entry.get("leakage_level") or ""), allowed=_words(where, rid, entry, "allowed_setting"),
        runtime=runtime, order=order,
    )


def _words(where: Path, rid: str, entry: dict, key: str) -> tuple:
    value = entry.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise PackageError(f"{where}: resource '{rid}': '{key}' must be a list of words")
    return tuple(str(v) for v in value)


# -- files --------------------------------------------------------------------------------

def _inside(root: Path, rel: str, who: str) -> str:
    """``rel`` as a clean relative path that stays inside ``root`` (symlinks resolved)."""
    pure = PurePosixPath(rel.replace("\\", "/"))
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", rel) or ".." in pure.parts:
        raise PackageError(f"{who}: path {rel!r} leaves the package")
    real_root = root.resolve()
    target = (root / Path(*pure.parts)).resolve()
    if target != real_root and real_root not in target.parents:
        raise PackageError(f"{who}: path {rel!r} resolves outside the package (a symlink?)")
    return pure.as_posix()


def _read_text(root: Path, rel: str, who: str) -> str:
    rel = _inside(root, rel, who)
    path = root / rel
    if not path.is_file():
        raise PackageError(f"{root / rel}: {who}: no such file")
    data = path.read_bytes()
    if len(data) > _MAX_FILE:
        raise PackageError(f"{root / rel}: {who}: over {_MAX_FILE:,} bytes, not a text resource")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PackageError(f"{root / rel}: {who}: not UTF-8 text") from None


def _listed(root: Path, under: str, suffix: str) -> list:
    """Relative paths of the regular files below ``root/under`` ending in ``suffix``, sorted.
    A symlink leaving the package is refused here too, though nothing may read it."""
    base = root / under if under else root
    if not base.is_dir():
        return []
    out = []
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") or part == "__pycache__" for part in PurePosixPath(rel).parts):
            continue
        _inside(root, rel, rel)
        if path.is_file() and rel.endswith(suffix):
            out.append(rel)
    return out
