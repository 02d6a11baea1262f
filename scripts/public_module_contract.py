"""An import-linter contract type: each package matched is reached from outside only through its public module.

Used for `services/<name>/api.py`: the CLI and the benchmarks (and anything else outside a service) may import
`services.<name>.api`, never the service's other modules. The built-in `protected` type cannot say this: it
protects whole packages, so the public module inside one would be protected too.

Options:
    packages:       module expressions of the packages to guard (wildcards allowed, e.g. `services.*`).
    public_module:  the name of the one module, directly inside each package, that outsiders may import.
    exclude:        module expressions of matched packages that are not guarded (e.g. the CLI itself).
"""

from __future__ import annotations

from typing import Any

import grimp
from importlinter import Contract, ContractCheck, fields, output
from importlinter.domain import helpers


class PublicModuleContract(Contract):
    type_name = "public_module"

    packages = fields.ListField(subfield=fields.ModuleExpressionField())
    public_module = fields.StringField()
    exclude = fields.ListField(subfield=fields.ModuleExpressionField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        excluded = {
            module.name
            for module in helpers.module_expressions_to_modules(graph, self.exclude or [], as_packages=False)  # type: ignore[arg-type]
        }
        guarded = sorted(
            module.name
            for module in helpers.module_expressions_to_modules(graph, self.packages, as_packages=False)  # type: ignore[arg-type]
            if module.name not in excluded
        )
        illegal: list[dict[str, Any]] = []
        for package in guarded:
            public = f"{package}.{self.public_module}"
            inside = {package, *graph.find_descendants(package)}
            for imported in sorted(inside - {public}):
                for importer in sorted(graph.find_modules_that_directly_import(imported) - inside):
                    details = graph.get_import_details(importer=importer, imported=imported)
                    illegal.append(
                        {
                            "importer": importer,
                            "imported": imported,
                            "public": public,
                            "line_numbers": tuple(detail["line_number"] for detail in details),
                        }
                    )
        return ContractCheck(kept=not illegal, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for link in check.metadata["illegal"]:
            lines = ", ".join(str(n) for n in link["line_numbers"])
            output.print_error(
                f"{link['importer']} -> {link['imported']} (l.{lines}): import {link['public']} instead",
                bold=False,
            )
            output.new_line()
