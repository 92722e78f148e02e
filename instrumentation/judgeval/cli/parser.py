"""Argument parsing for the ``judgeval`` CLI."""

from __future__ import annotations

import argparse

from judgeval.cli.alerts_command import add_alerts_commands
from judgeval.cli.backfill_command import add_backfill_command
from judgeval.cli.behaviors_command import add_behaviors_commands
from judgeval.cli.calibration_command import add_calibration_action
from judgeval.cli.datasets_command import add_datasets_commands
from judgeval.cli.eval_command import add_eval_commands
from judgeval.cli.label_command import add_label_action
from judgeval.cli.scorer_versions_command import add_scorer_version_commands
from judgeval.environment_variables import JUDGMENT_API_KEY, JUDGMENT_API_URL


def build_parser() -> argparse.ArgumentParser:
    """The full parser; every subcommand accepts ``--api-url`` and ``--api-key``."""
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--api-url",
                            help=f"evaluator admin endpoint host:port (default ${JUDGMENT_API_URL})")
    connection.add_argument("--api-key", help=f"admin API key (default ${JUDGMENT_API_KEY})")
    parser = argparse.ArgumentParser(prog="judgeval",
                                     description="Manage judgeval-otel server-hosted scorers.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    upload = commands.add_parser("upload_scorer", aliases=["upload-scorer"], parents=[connection],
                                 help="upload a custom scorer (an ExampleScorer or TraceScorer subclass) "
                                      "and its requirements")
    upload.add_argument("scorer_file", metavar="SCORER.py")
    upload.add_argument("requirements_file", metavar="REQUIREMENTS.txt")
    upload.add_argument("--name", help="scorer name (default: the class's `name` attribute)")
    upload.add_argument("--class", dest="class_name", metavar="NAME",
                        help="scorer class to upload when the file defines several")
    mode = upload.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true",
                      help="replace the latest version of an existing scorer")
    mode.add_argument("--new-version", action="store_true", help="add a new version of an existing scorer")
    upload.add_argument("--shadow", action="store_true",
                        help="add the new version in shadow: it scores live traffic beside the current "
                             "version (results recorded for `judgeval scorers compare`, not written to spans "
                             "or alerted) until `judgeval scorers promote`")
    upload.add_argument("--by", help="who uploads, recorded with a shadow (default: user@host)")
    upload.set_defaults(command="upload_scorer")

    scorers = commands.add_parser("scorers", help="list, show, delete, shadow, compare or promote uploaded "
                                                  "scorers")
    actions = scorers.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", parents=[connection], help="list scorers and their versions")
    for action, text in (("show", "show one scorer version"), ("delete", "delete a scorer or one version")):
        sub = actions.add_parser(action, parents=[connection], help=text)
        sub.add_argument("name")
        sub.add_argument("--version", type=int,
                         help="version number (default: latest for show, all for delete)")
    actions.choices["show"].add_argument("--source", action="store_true",
                                         help="also print the scorer's source code")
    add_calibration_action(actions, connection)
    add_scorer_version_commands(actions, connection)
    add_alerts_commands(commands, connection)
    add_behaviors_commands(commands, connection)
    add_label_action(add_datasets_commands(commands, connection), connection)
    add_eval_commands(commands, connection)
    add_backfill_command(commands, connection)
    return parser
