"""The organisation view: a git repository's commits, the loops that made them, and where loops undo each
other (concepts.md §2c). `import_repository(con, path)` stores the `repositories`, `changes`,
`change_files`, `conflicts`, `rework` and `line_fates` tables; `analyse(head)` computes them without a store.

Layers: `gitread` (two bulk `git log` runs) → `attribution` (loop rules) → `lineage` (files across renames,
versions, line fates) → `conflicts` (explicit / identity / line-level undo, context) → `rework` (chains).
"""

from .attribution import UNASSIGNED, MappingError, read_mapping
from .conflicts import Rules
from .gitread import RepositoryError, resolve
from .importer import ORG_TABLES, Analysis, RepositoryImport, analyse, import_repository

__all__ = ["ORG_TABLES", "UNASSIGNED", "Analysis", "MappingError", "RepositoryError", "RepositoryImport", "Rules",
           "analyse", "import_repository", "read_mapping", "resolve"]
