"""Steps: a plain function plus what the pipeline needs to know to wire and run it.

A :class:`Step` wraps a function and keeps it callable, so a decorated function still
works as a function in a notebook cell or a unit test. Its parameters name what it
depends on (other steps or external inputs), as in Hamilton; ``inputs=`` overrides the
source of a parameter, and parameters with defaults are configuration.

What does *not* belong here: the graph (``_graph.py``), execution and caching
(``_execute.py``), code fingerprints (``_code.py``).
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Mapping
from typing import Any, overload

from mlopskit.errors import InvalidParameterError, PipelineDefinitionError

__all__ = ["Step", "step"]

_EMPTY = inspect.Parameter.empty


class Step:
    """A function with a name, wiring and caching options; create it with :func:`step`.

    Calling a step calls its function, so ``clean(df)`` still works after
    ``@step``. The attributes are read-only by convention; use :func:`step` on an
    existing step to derive a renamed or rewired copy.

    Attributes
    ----------
    func : callable
        The wrapped plain function.
    name : str
        The step's name in a pipeline (and the name other steps use to depend on it).
    params : tuple of str
        The function's parameter names, in order.
    sources : dict
        Parameter name → the name it is read from (a step or an external input).
    defaults : dict
        Parameter name → default value (configuration).

    Examples
    --------
    >>> @step(version="2")
    ... def double(x):
    ...     return 2 * x
    >>> double(21), double.name, double.version
    (42, 'double', '2')
    """

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        inputs: Mapping[str, str] | None = None,
        version: str | None = None,
        cache: bool = True,
        retries: int = 0,
        retry_delay: float = 0.0,
        input_schema: Any = None,
        output_schema: Any = None,
        files: Any = (),
    ) -> None:
        if not callable(func):
            raise InvalidParameterError(
                f"A step needs a callable. Got {type(func).__name__} instead; pass a "
                "function, e.g. step(my_function)."
            )
        self.func = func
        self.name = _check_name(func, name)
        self.version = None if version is None else str(version)
        self.cache = bool(cache)
        self.retries = _check_retries(retries)
        self.retry_delay = _check_delay(retry_delay)
        self.input_schema = input_schema
        self.output_schema = output_schema
        self.files = _check_files(files, self.name)
        self.params, self.defaults = _signature(func, self.name)
        self.sources = _sources(self.name, self.params, inputs or {})
        functools.update_wrapper(self, func, updated=())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        wired = ", ".join(
            p if s == p else f"{p}={s!r}" for p, s in self.sources.items()
        )
        return f"<Step {self.name}({wired})>"

    def _options(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "inputs": {p: s for p, s in self.sources.items() if p != s},
            "version": self.version,
            "cache": self.cache,
            "retries": self.retries,
            "retry_delay": self.retry_delay,
            "input_schema": self.input_schema,
            "output_schema": self.output_schema,
            "files": self.files,
        }


@overload
def step(
    func: Callable[..., Any],
    *,
    name: str | None = ...,
    inputs: Mapping[str, str] | None = ...,
    version: str | None = ...,
    cache: bool = ...,
    retries: int = ...,
    retry_delay: float = ...,
    input_schema: Any = ...,
    output_schema: Any = ...,
    files: Any = ...,
) -> Step: ...


@overload
def step(
    func: None = ...,
    *,
    name: str | None = ...,
    inputs: Mapping[str, str] | None = ...,
    version: str | None = ...,
    cache: bool = ...,
    retries: int = ...,
    retry_delay: float = ...,
    input_schema: Any = ...,
    output_schema: Any = ...,
    files: Any = ...,
) -> Callable[[Callable[..., Any]], Step]: ...


def step(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    inputs: Mapping[str, str] | None = None,
    version: str | None = None,
    cache: bool = True,
    retries: int = 0,
    retry_delay: float = 0.0,
    input_schema: Any = None,
    output_schema: Any = None,
    files: Any = None,
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Make a pipeline step of a plain function (decorator, or ``step(func, ...)``).

    Parameters
    ----------
    func
        The function. Its parameter names are its dependencies: each names another
        step or an external input given to :meth:`Pipeline.run`. Parameters with a
        default are configuration (overridable through ``run(inputs=...)``).
        Passing an existing :class:`Step` derives a copy with the options changed.
    name
        The step's name; defaults to the function's ``__name__``.
    inputs
        Parameter name → the step or input name to read it from, overriding the
        parameter's own name, e.g. ``inputs={"df": "cleaned"}``.
    version
        A tag folded into the cache key: bump it to invalidate the cache by hand (for
        example when the step reads a file whose content the key cannot see).
    cache
        ``False`` never stores or looks up this step's output (for outputs that cannot
        be stored, such as a database connection, or that must always be fresh).
    retries
        How many times to re-run the step after an exception (flaky I/O).
    retry_delay
        Seconds to wait between attempts.
    input_schema
        A schema (anything with ``validate(df)`` returning a report with ``.ok``, such
        as :class:`mlopskit.schema.Schema`) applied to the first parameter, or a
        mapping parameter name → schema. A failed validation fails the step.
    output_schema
        A schema applied to the return value.
    files
        Paths or fsspec URLs of files (or folders) the step reads: their content
        digests (:func:`mlopskit.versioning.hash_path`) are part of the cache key, so
        editing a file re-runs the step. A declared file that does not exist makes
        the step run uncached (the run record says which).

    Returns
    -------
    Step or callable
        A :class:`Step` when ``func`` is given, else a decorator that makes one.

    Raises
    ------
    InvalidParameterError
        ``retries`` or ``retry_delay`` is negative, or ``func`` is not callable.
    PipelineDefinitionError
        The function takes ``*args``/``**kwargs`` or positional-only parameters
        (they cannot be wired by name), or ``inputs`` names an unknown parameter.

    Examples
    --------
    >>> @step
    ... def cleaned(raw, threshold=0.5):
    ...     return [x for x in raw if x > threshold]
    >>> cleaned.sources, cleaned.defaults
    ({'raw': 'raw', 'threshold': 'threshold'}, {'threshold': 0.5})
    >>> total = step(sum, name="total", inputs={"iterable": "cleaned"})
    Traceback (most recent call last):
    ...
    mlopskit.errors.PipelineDefinitionError: Step 'total' cannot be wired: ...
    >>> total = step(lambda cleaned: sum(cleaned), name="total")
    >>> total([1, 2])
    3
    """
    options: dict[str, Any] = {
        "name": name,
        "inputs": inputs,
        "version": version,
        "cache": cache,
        "retries": retries,
        "retry_delay": retry_delay,
        "input_schema": input_schema,
        "output_schema": output_schema,
        "files": files,
    }

    def make(f: Callable[..., Any]) -> Step:
        if isinstance(f, Step):
            merged = f._options()
            merged.update({k: v for k, v in options.items() if v is not None})
            if inputs is not None:
                merged["inputs"] = {**f._options()["inputs"], **inputs}
            merged["cache"] = cache and f.cache
            merged["retries"] = retries or f.retries
            merged["retry_delay"] = retry_delay or f.retry_delay
            return Step(f.func, **merged)
        return Step(f, **{**options, "files": files or ()})

    return make if func is None else make(func)


def _check_name(func: Callable[..., Any], name: str | None) -> str:
    if name is None:
        name = getattr(func, "__name__", None)
        if not name or name == "<lambda>":
            raise PipelineDefinitionError(
                f"Cannot name the step for {func!r}: it has no usable __name__. "
                "Give it one with step(func, name='my_step').",
                step=None,
            )
    if not isinstance(name, str) or not name:
        raise InvalidParameterError(
            f"A step name must be a non-empty string. Got {name!r} instead."
        )
    return name


def _check_files(files: Any, name: str) -> tuple[str, ...]:
    if isinstance(files, str | os.PathLike):
        files = [files]
    try:
        paths = tuple(os.fspath(f) for f in files)
    except TypeError as exc:
        raise InvalidParameterError(
            f"Step {name!r}: `files` must be a list of paths or URLs. "
            f"Got {files!r} instead."
        ) from exc
    return paths


def _check_retries(retries: int) -> int:
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidParameterError(
            f"`retries` must be an integer >= 0. Got {retries!r} instead."
        )
    return retries


def _check_delay(delay: float) -> float:
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        raise InvalidParameterError(
            f"`retry_delay` must be a number of seconds >= 0. Got {delay!r} instead."
        )
    return float(delay)


def _signature(
    func: Callable[..., Any], name: str
) -> tuple[tuple[str, ...], dict[str, Any]]:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise PipelineDefinitionError(
            f"Step {name!r} cannot be wired: the signature of {func!r} cannot be "
            f"read ({exc}). Wrap it in a def or lambda with named parameters.",
            step=name,
        ) from exc
    params: list[str] = []
    defaults: dict[str, Any] = {}
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
            raise PipelineDefinitionError(
                f"Step {name!r} cannot be wired: parameter {p.name!r} is "
                f"{p.kind.description}, but steps receive their inputs by name. "
                "Use named parameters (wrap the function in a def if needed).",
                step=name,
            )
        params.append(p.name)
        if p.default is not _EMPTY:
            defaults[p.name] = p.default
    return tuple(params), defaults


def _sources(
    name: str, params: tuple[str, ...], inputs: Mapping[str, str]
) -> dict[str, str]:
    unknown = sorted(set(inputs) - set(params))
    if unknown:
        raise PipelineDefinitionError(
            f"Step {name!r} cannot be wired: inputs= maps {unknown} but the function "
            f"has parameters {list(params)}. Map only parameter names.",
            step=name,
        )
    for param, source in inputs.items():
        if not isinstance(source, str) or not source:
            raise PipelineDefinitionError(
                f"Step {name!r}: inputs[{param!r}] must name a step or an input. "
                f"Got {source!r} instead.",
                step=name,
            )
    return {p: inputs.get(p, p) for p in params}
