"""The rule catalogue: one module per mechanism, in the order the yearly step runs them.

| stage        | rule ids                                   |
|--------------|--------------------------------------------|
| policy       | POLICY, ZONING                             |
| relocation   | RELOCATE                                   |
| transfer     | TRANSFER                                   |
| economy      | GROWTH                                     |
| people       | SERVICES, MIGRATE                          |
| environment  | JOINT_CONTROL (coordinate), AIR, ENERGY    |
| money        | TAX_SHARE, ECO_COMP, JOINT_CONTROL (pay), FUND |

Each module has `RULE` (its id, levers and plan clauses) and `apply(ctx)`; modules with a
base-year set-up have `initialise(state, params)`.
"""

from __future__ import annotations

from regionsim.model.rules import (
    air,
    eco_comp,
    energy,
    fund,
    growth,
    joint_control,
    migrate,
    policy,
    relocate,
    services,
    tax_share,
    transfer,
    zoning,
)
from regionsim.model.rules.base import RuleSpec

MODULES = (policy, zoning, relocate, transfer, growth, services, migrate, joint_control, air, energy, tax_share, eco_comp, fund)

INITIALISED = tuple(module for module in MODULES if hasattr(module, "initialise"))
"""Modules with a base-year set-up (`initialise(state, params)`), run once when a model is built."""

REGISTRY: dict[str, RuleSpec] = {module.RULE.key: module.RULE for module in MODULES}
"""Rule key (as in `[rules.KEY]`) → its specification."""

BY_ID: dict[str, RuleSpec] = {spec.id: spec for spec in REGISTRY.values()}
"""Rule id (RELOCATE, …) → its specification."""

__all__ = [
    "BY_ID",
    "INITIALISED",
    "MODULES",
    "REGISTRY",
    "air",
    "eco_comp",
    "energy",
    "fund",
    "growth",
    "joint_control",
    "migrate",
    "policy",
    "relocate",
    "services",
    "tax_share",
    "transfer",
    "zoning",
]
