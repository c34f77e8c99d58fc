"""The PromQL subset the local alert evaluator implements: parsing and the support check
(:mod:`.syntax`), shared by config validation (``config``) and the alerts package, so a bad
expression is reported where it is written without ``config`` importing ``alerts``.
Importing the package loads no parser.
"""
