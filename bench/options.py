"""Every bench's ``--help`` shows each option's default, so the README's commands can be read off it."""

from __future__ import annotations

import argparse


def parser_for(doc: str | None) -> argparse.ArgumentParser:
    """A parser described by the script's first paragraph, showing the defaults of all its options."""
    return argparse.ArgumentParser(description=(doc or "").split("\n\n")[0], formatter_class=_DefaultsShown)


class _DefaultsShown(argparse.ArgumentDefaultsHelpFormatter):
    """Also for options declared without a help text (the stock formatter skips those)."""

    def _format_action(self, action: argparse.Action) -> str:
        if not action.help and action.option_strings and action.default not in (None, argparse.SUPPRESS):
            action.help = "(default: %(default)s)"
        return super()._format_action(action)
