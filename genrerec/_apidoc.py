"""Generates docs/api.md from the public API's signatures and docstrings
(`make docs`; tests/test_docs.py keeps the file in sync)."""

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
            lines += [f"## `{name}` ({kind})", ""]
            if dataclasses.is_dataclass(obj):
                fields = ", ".join(f"{f.name}: {f.type}" for f in dataclasses.fields(obj))
                lines += [f"Dataclass fields: `{fields}`", ""]
            if _doc(obj):
                lines += [_doc(obj), ""]
            if kind == "exception":
                continue
            for mname, m in obj.__dict__.items():
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
            lines += [f"## `{name}{inspect.signature(obj)}`", "", _doc(obj), ""]
    return "\n".join(lines)
