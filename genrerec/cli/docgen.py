"""Generates docs/cli.md and docs/api.md from the typer app and the public
API's docstrings (`make docs`; tests/test_docs.py keeps the files in sync)."""

from __future__ import annotations

import dataclasses
import inspect


def _doc(obj) -> str:
    return inspect.cleandoc(obj.__doc__ or "").strip()


def api_reference() -> str:
    import genrerec

    lines = ["# Python API reference", "",
             "Generated from docstrings by `make docs` — do not edit by hand. Everything below is importable "
             "from `genrerec`.", ""]
    for name in genrerec.__all__:
        obj = getattr(genrerec, name)
        if inspect.isclass(obj):
            kind = "exception" if issubclass(obj, BaseException) else "class"
            lines += [f"## `{name}` ({kind})", "", f"Defined in `{obj.__module__}`.", ""]
            if dataclasses.is_dataclass(obj):
                fields = ", ".join(f"{f.name}: {f.type}" for f in dataclasses.fields(obj))
                lines += [f"Dataclass fields: `{fields}`", ""]
            if _doc(obj):
                lines += [_doc(obj), ""]
            if kind == "exception":
                continue
            members = {}  # its own methods first, then those of genrerec base classes (Recommender's Mixes)
            for base in obj.__mro__:
                if base.__module__.startswith("genrerec"):
                    members.update({k: v for k, v in base.__dict__.items() if k not in members})
            for mname, m in members.items():
                if mname.startswith("_") and mname != "__init__":
                    continue
                fn = m.__func__ if isinstance(m, (classmethod, staticmethod)) else m
                if not callable(fn) or isinstance(m, property):
                    continue
                sig = str(inspect.signature(fn)).replace("(self, ", "(").replace("(self)", "()").replace(
                    "(cls, ", "(")
                lines += [f"### `{name}.{mname}{sig}`", ""]
                if _doc(fn):
                    lines += [_doc(fn), ""]
        else:
            lines += [f"## `{name}{inspect.signature(obj)}`", "", f"Defined in `{obj.__module__}`.", "", _doc(obj), ""]
    return "\n".join(lines)


def argument_help(app, prefix: str = "") -> dict[tuple[str, str], str]:
    """(command, argument) -> help text: click 8.3 drops the help typer gives
    its arguments, so it is read from the command functions' defaults (sub-apps'
    commands as "group command")."""
    out = {}
    for c in app.registered_commands:
        name = prefix + (c.name or c.callback.__name__.replace("_", "-"))
        for pname, par in inspect.signature(c.callback).parameters.items():
            h = getattr(par.default, "help", None)
            if h:
                out[(name, pname)] = h
    for g in app.registered_groups:
        out.update(argument_help(g.typer_instance, f"{prefix}{g.name} "))
    return out


def cli_reference() -> str:
    """Markdown reference of every command, generated from the typer app
    (docs/cli.md is this text; tests/test_docs.py keeps the two in sync)."""
    import click
    import typer

    from .common import app

    root = typer.main.get_command(app)
    arg_help = argument_help(app)
    lines = ["# CLI reference", "", "Generated from the typer app by `make docs` — do not edit by hand.", "",
             "```", "genrerec [--verbose] COMMAND [ARGS]...", "```", ""]
    todo = [(name, cmd, click.Context(root, info_name="genrerec")) for name, cmd in root.commands.items()]
    while todo:
        name, cmd, parent = todo.pop(0)
        ctx = click.Context(cmd, info_name=name.rpartition(" ")[2], parent=parent)
        if isinstance(cmd, click.Group):  # a sub-app (`genrerec user`, `genrerec mpd`): its commands follow it
            todo[:0] = [(f"{name} {sub}", c, ctx) for sub, c in cmd.commands.items()]
        lines += [f"## `genrerec {name}`", "", (cmd.help or "").strip(), "", "```",
                  f"genrerec {name} " + " ".join(cmd.collect_usage_pieces(ctx)), "```", ""]
        rows = []
        for p in cmd.params:
            if p.name == "help":
                continue
            if isinstance(p, click.Argument):
                rows.append((p.human_readable_name, "argument" + (", repeatable" if p.nargs == -1 else ""),
                             getattr(p, "help", "") or arg_help.get((name, p.name), "")))
                continue
            flags = ", ".join(p.opts + list(p.secondary_opts))
            kind = "flag" if p.is_flag else p.type.name
            default = "" if p.default is None or p.required or p.is_flag and not p.default else f" (default: {p.default})"
            rows.append((flags, ("required " if p.required else "") + kind, (p.help or "") + default))
        if rows:
            lines += ["| option | type | meaning |", "|---|---|---|"]
            lines += [f"| `{a}` | {b} | {c.replace('|', '/')} |" for a, b, c in rows]
            lines.append("")
    return "\n".join(lines)
