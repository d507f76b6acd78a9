"""Commands living in their own modules, imported when one of them runs: `harness --help`
and `harness validate` do not pay for the recorder and the replay server."""

from __future__ import annotations

import importlib

import click

__all__ = ["LAZY", "LazyGroup"]

#: command name -> (module holding it in `COMMANDS`, the first paragraph of its help);
#: tests/test_startup.py checks this table against the modules
LAZY: dict[str, tuple[str, str]] = {
    "record": ("harness.cli.stream", "Record a live stream session into a cassette."),
    "serve": (
        "harness.cli.stream",
        "Serve the three streams on loopback with synthetic events: no credentials needed.",
    ),
    "replay": (
        "harness.cli.replay",
        "Serve CASSETTES on loopback at their recorded timing, with the live API's contract.",
    ),
    "slice": ("harness.cli.edit", "Cut CASSETTE to a run of events or a span of time, keeping its timing."),
    "cat": ("harness.cli.edit", "Join cassettes of one endpoint: their connections in sequence."),
    "diff": ("harness.cli.edit", "What changed from recording A to recording B."),
}


class LazyGroup(click.Group):
    """A group whose `LAZY` commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in LAZY:
            load(self, LAZY[cmd_name][0])
            found = super().get_command(ctx, cmd_name)
        return found

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # as click lists them, with the help of a command not imported taken from `LAZY`
        names = [n for n in self.list_commands(ctx) if n in LAZY or not self.commands[n].hidden]
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is not None:
                rows.append((name, command.get_short_help_str(limit)))
            else:
                rows.append((name, click.Command(name, help=LAZY[name][1]).get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def load(group: click.Group, module: str) -> None:
    """Add the commands of `module` (its `COMMANDS`) to `group`, those not there yet."""
    commands: tuple[click.Command, ...] = importlib.import_module(module).COMMANDS
    for command in commands:
        if command.name not in group.commands:
            group.add_command(command)
