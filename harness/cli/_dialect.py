"""The `--dialect` option shared by validate, synth and serve."""

from __future__ import annotations

import click

from harness.model.dialect import Dialect

dialect_option = click.option(
    "--dialect",
    type=click.Choice([d.value for d in Dialect]),
    default=Dialect.CLASSIC.value,
    show_default=True,
    help="Member names: classic (as the live API sends them) or 2.167 (the renamed spec, as xdk 0.10.6 expects).",
)
