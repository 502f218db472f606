"""The built-in workflow packages, one folder each (founding 建会, hardship 困难职工帮扶, inspection 职工之家).

Each holds its definition, reason texts, default parameters, rules, pages, templates and tests; the
catalogue finds them (`workflow.catalog`), nothing lists them by hand. docs/adding-a-workflow.md is the
recipe for a new one.
"""
