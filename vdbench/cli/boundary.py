"""The CLI's one error boundary: every failure of every command becomes one line on stderr.

Expected failures (bad input, a file that cannot be read or written, a format a reader refuses,
statistics that break the linear algebra, a bad option value) print
``error: <file or option>: <problem>`` and exit 2. Anything else is a bug in vdbench: one line
``error: internal error: ...`` and exit 1, or with ``vdbench --debug`` the traceback.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
import unicodedata
import zipfile
from typing import Optional

import click

from vdbench.util.naming import file_of

USAGE_EXIT = 2  # bad input or option, as click's own usage errors
INTERNAL_EXIT = 1

# Modules whose ValueError/RuntimeError means "this file is not what it claims to be".
_FORMAT_MODULES = ("numpy.lib", "numpy._core.records", "safetensors", "zipfile", "pickle",
                   "json", "PIL", "av", "imageio")


def one_line(text: str) -> str:
    """``text`` with control characters (newlines in a file name, ...) escaped repr-style."""
    return "".join(repr(c)[1:-1] if unicodedata.category(c)[0] == "C" else c for c in text)


def _user_error_types() -> tuple[type[BaseException], ...]:
    """The library's own exceptions, whose message is written for the user."""
    from vdbench.metrics.errors import InputError, WeightsUnavailableError
    from vdbench.model import errors as model_errors

    own = tuple(v for v in vars(model_errors).values()
                if isinstance(v, type) and issubclass(v, ValueError))
    return (InputError, WeightsUnavailableError, *own)


def _raised_in(err: BaseException, prefixes: tuple[str, ...]) -> bool:
    """Whether the innermost frame that raised ``err`` lies in a module under ``prefixes``."""
    tb = err.__traceback__
    module = None
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        tb = tb.tb_next
    return module is not None and module.startswith(prefixes)


def _target(path: str) -> str:
    """The file a write was for: vdbench.util.atomic writes '.NAME.XXXX.tmp' beside NAME."""
    folder, name = os.path.split(path)
    temporary = re.fullmatch(r"\.(.+)\.[^.]+\.tmp", name)
    return os.path.join(folder, temporary.group(1)) if temporary else path


def _os_problem(err: OSError) -> str:
    """'<path>: <strerror>' (both paths for a rename), or the message when no path is known."""
    problem = (err.strerror or str(err) or type(err).__name__).rstrip(".")
    paths = [_target(os.fsdecode(p)) for p in (err.filename, err.filename2) if p is not None]
    if isinstance(err, FileExistsError) and paths and not os.path.isdir(paths[0]):
        problem = "is a file, not a folder"  # mkdir(exist_ok=True) of a path through a file
    if paths:
        return f"{' -> '.join(dict.fromkeys(paths))}: {problem[:1].lower() + problem[1:]}"
    return problem


def _format_problem(err: BaseException) -> Optional[str]:
    """The problem text for a refusal by a file reader or the linear algebra, else None."""
    import numpy as np

    name = type(err).__name__
    if isinstance(err, UnicodeDecodeError):
        return (f"not valid {err.encoding} text (byte 0x{err.object[err.start]:02x} at "
                f"offset {err.start})")
    if isinstance(err, (zipfile.BadZipFile, EOFError)):
        return f"not a readable archive ({name}: {err})"
    if isinstance(err, np.linalg.LinAlgError):
        return f"statistics the linear algebra cannot use ({err})"
    if type(err).__name__ in ("SafetensorError", "UnpicklingError"):
        return f"cannot read ({name}: {err})"
    if isinstance(err, (ValueError, RuntimeError, KeyError)) and _raised_in(err, _FORMAT_MODULES):
        return f"cannot read ({err})"
    return None


def describe(err: BaseException) -> tuple[int, str]:
    """(exit code, the one line without 'error: ') for an exception a command raised."""
    where = file_of(err)
    if isinstance(err, _user_error_types()):
        text = str(err)
        if where and where not in text:
            text = f"{where}: {text}"
        return USAGE_EXIT, text
    if isinstance(err, OSError) and not isinstance(err, zipfile.BadZipFile):
        if where and err.filename is None:
            return USAGE_EXIT, f"{where}: {_os_problem(err)}"
        return USAGE_EXIT, _os_problem(err)
    problem = _format_problem(err)
    if problem is not None:
        return USAGE_EXIT, f"{where}: {problem}" if where else problem
    return INTERNAL_EXIT, (f"internal error: {type(err).__name__}: {err} "
                           "(rerun with --debug for the traceback)")


def _param_name(param: Optional[click.Parameter], ctx: Optional[click.Context]) -> str:
    if param is None:
        return ""
    if isinstance(param, click.Option):
        return "/".join(param.opts)
    return param.human_readable_name


def usage_line(err: click.ClickException) -> str:
    """A click usage error as '<option>: <problem>', without click's usage block."""
    ctx = getattr(err, "ctx", None)
    if isinstance(err, click.NoSuchOption):
        hint = f" (did you mean {', '.join(err.possibilities)}?)" if err.possibilities else ""
        return f"{err.option_name}: no such option{hint}"
    if isinstance(err, click.MissingParameter):
        name = _param_name(err.param, ctx) or "argument"
        return f"{name}: missing (required; see --help)"
    if isinstance(err, click.BadParameter) and err.param is not None:
        return f"{_param_name(err.param, ctx)}: {err.message}"
    command = ctx.command_path if ctx is not None else "vdbench"
    unknown = re.fullmatch(r"No such command '(.*)'\.", err.format_message())
    if unknown:
        return f"{unknown.group(1)}: no such command (see {command} --help)"
    return f"{command}: {err.format_message()}"


def report(err: BaseException, debug: bool) -> int:
    """Print ``err`` as the one error line (after the traceback with --debug); the exit code."""
    if isinstance(err, click.ClickException):
        code, text = USAGE_EXIT, usage_line(err)
    else:
        code, text = describe(err)
        if debug:
            traceback.print_exception(err, file=sys.stderr)
    click.echo(f"error: {one_line(text)}", err=True)
    return code
