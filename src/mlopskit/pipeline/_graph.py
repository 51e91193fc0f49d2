"""The pipeline graph: wiring steps by name, validating it, drawing it.

:class:`Pipeline` resolves each step parameter to a source (another step, an external
input, or the parameter's default), checks the graph once when it is built (duplicate
names, cycles with their path, undeclared inputs) and keeps a topological order.
``run`` is delegated to ``_execute.py``.

What does *not* belong here: running steps and caching (``_execute.py``), the run
record (``_run.py``).
"""

from __future__ import annotations

import difflib
import graphlib
import html
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from mlopskit.errors import PipelineDefinitionError
from mlopskit.pipeline._step import Step

if TYPE_CHECKING:
    from mlopskit.pipeline._run import Run

__all__ = ["Pipeline"]


class Pipeline:
    """A DAG of steps wired by parameter names, run with content-hash caching.

    Parameters
    ----------
    steps
        Steps (from :func:`step`) or plain functions, in any order. A parameter of a
        step names the step (or external input) it reads; ``step(inputs=...)``
        overrides that.
    inputs
        Optional: the names of the external inputs the pipeline expects. When given,
        a parameter that is neither a step, a declared input nor has a default is an
        error at build time; when omitted, such parameters are external inputs and
        are checked when :meth:`run` is called.
    targets
        Optional default targets of :meth:`run` (checked now); without them, a run
        computes every step and returns the sinks (steps no other step reads).
    name
        A name recorded on every run (and used by :meth:`runs` to list them).

    Raises
    ------
    PipelineDefinitionError
        Two steps share a name, the steps form a cycle (the message shows it), a
        parameter has no source among the declared ``inputs``, or a declared target
        is not a step.

    Examples
    --------
    >>> def clean(raw):
    ...     return [x for x in raw if x is not None]
    >>> def total(clean):
    ...     return sum(clean)
    >>> pipe = Pipeline([clean, total])
    >>> pipe
    Pipeline(name='pipeline', steps=['clean', 'total'], inputs=['raw'])
    >>> pipe.run({"raw": [1, None, 2]}).outputs
    {'total': 3}
    """

    def __init__(
        self,
        steps: Iterable[Step | Callable[..., Any]],
        *,
        inputs: Collection[str] | None = None,
        targets: Iterable[str] | None = None,
        name: str = "pipeline",
    ) -> None:
        self.name = str(name)
        self.steps: dict[str, Step] = {}
        for item in steps:
            s = item if isinstance(item, Step) else Step(item)
            if s.name in self.steps:
                raise PipelineDefinitionError(
                    f"Two steps are named {s.name!r} ({self.steps[s.name].func!r} and "
                    f"{s.func!r}). Step names must be unique: rename one with "
                    f"step(func, name='...').",
                    step=s.name,
                )
            self.steps[s.name] = s
        if not self.steps:
            raise PipelineDefinitionError(
                "A pipeline needs at least one step. Got none; pass a list of "
                "functions or steps, e.g. Pipeline([load, clean, train]).",
                step=None,
            )
        self._wire(inputs)
        self.order: tuple[str, ...] = self._toposort()
        self._needed: dict[tuple[str, ...], tuple[str, ...]] = {}
        used = {u for ups in self.upstream.values() for u in ups}
        self._sinks = tuple(n for n in self.steps if n not in used)
        self.targets: tuple[str, ...] | None = None
        if targets is not None:
            self.needed(tuple(targets))  # raises on an unknown target
            self.targets = tuple(targets)

    # -- wiring ------------------------------------------------------------------

    def _wire(self, declared: Collection[str] | None) -> None:
        #: step -> ((param, source, kind), ...); kind is "step", "input" or "config"
        self.wiring: dict[str, tuple[tuple[str, str, str], ...]] = {}
        self.upstream: dict[str, tuple[str, ...]] = {}
        required: dict[str, list[str]] = {}
        optional: set[str] = set()
        for name, s in self.steps.items():
            wires = []
            for param in s.params:
                source = s.sources[param]
                if source in self.steps:
                    kind = "step"
                elif param in s.defaults:
                    kind = "config"
                    optional.add(source)
                else:
                    kind = "input"
                    required.setdefault(source, []).append(name)
                wires.append((param, source, kind))
            self.wiring[name] = tuple(wires)
            self.upstream[name] = tuple(
                dict.fromkeys(src for _, src, kind in wires if kind == "step")
            )
        self.inputs: tuple[str, ...] = tuple(sorted(required))
        self.config: tuple[str, ...] = tuple(sorted(optional - set(required)))
        self._users = required
        if declared is not None:
            missing = sorted(set(required) - set(declared))
            if missing:
                raise _missing_error(missing[0], required[missing[0]][0], self)

    def _toposort(self) -> tuple[str, ...]:
        sorter = graphlib.TopologicalSorter(self.upstream)
        try:
            return tuple(sorter.static_order())
        except graphlib.CycleError as exc:
            cycle = list(exc.args[1])
            path = " → ".join(cycle)
            raise PipelineDefinitionError(
                f"Steps form a cycle: {path}. Each arrow reads 'feeds'; a step's "
                f"parameters name the steps it depends on. Break the cycle by renaming "
                f"a parameter of {cycle[0]!r} or mapping it to another source with "
                f"step(func, inputs={{...}}).",
                step=cycle[0],
                cycle=tuple(cycle),
            ) from None

    def needed(self, targets: Iterable[str] | None = None) -> tuple[str, ...]:
        """The steps that computing ``targets`` needs, in topological order.

        Parameters
        ----------
        targets
            Step names; ``None`` means every step.

        Raises
        ------
        PipelineDefinitionError
            A target is not a step of this pipeline.

        Examples
        --------
        >>> def a():
        ...     return 1
        >>> def b(a):
        ...     return a + 1
        >>> def c():
        ...     return 0
        >>> Pipeline([a, b, c]).needed(["b"])
        ('a', 'b')
        """
        if targets is None:
            return self.order
        key = tuple(targets)
        hit = self._needed.get(key)
        if hit is not None:
            return hit
        for t in key:
            if t not in self.steps:
                close = difflib.get_close_matches(t, self.steps, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise PipelineDefinitionError(
                    f"Unknown target {t!r}: targets must be step names of this "
                    f"pipeline ({sorted(self.steps)}).{hint}",
                    step=t,
                )
        keep: set[str] = set()
        stack = list(key)
        while stack:
            n = stack.pop()
            if n not in keep:
                keep.add(n)
                stack.extend(self.upstream[n])
        result = tuple(n for n in self.order if n in keep)
        self._needed[key] = result
        return result

    def sinks(self) -> tuple[str, ...]:
        """Steps no other step reads: the default targets of :meth:`run`.

        Examples
        --------
        >>> def a(x):
        ...     return x
        >>> def b(a):
        ...     return a
        >>> Pipeline([a, b]).sinks()
        ('b',)
        """
        return self._sinks

    # -- running -------------------------------------------------------------------

    def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        targets: Iterable[str] | None = None,
        cache: Any = None,
        executor: Any = "sequential",
        force: Iterable[str] = (),
        progress: bool = False,
        fail_fast: bool = False,
        trust_pickle: bool = False,
    ) -> Run:
        """Run the steps the targets need, skipping those whose cache key is stored.

        Parameters
        ----------
        inputs
            External input name → value; also overrides configuration defaults.
        targets
            Step names whose values land in ``Run.outputs``; only what they need is
            computed. Default: the pipeline's ``targets``, else the sinks (steps no
            other step reads).
        cache
            ``None`` (no caching, nothing persisted), a
            :class:`mlopskit.versioning.ContentStore` or an fsspec URL for one
            (``"memory://cache"``, ``".mlopskit/store"``, ``"s3://bucket/cache"``).
            With a cache, every step's key, input and output digests are recorded and
            the run record is saved in the store.
        executor
            ``"sequential"`` (default), ``"threads"``, ``"processes"`` (joblib's
            loky pool), a :class:`concurrent.futures.Executor`, or a
            ``dask.distributed.Client``. Ready steps are submitted as soon as their
            inputs exist, so independent branches run in parallel.
        force
            Step names to re-run even when their cache key is stored.
        progress
            Print one line per finished step to stderr.
        fail_fast
            Stop submitting steps after the first failure (the rest are "skipped").
            By default independent branches still finish.
        trust_pickle
            Cache outputs that only pickle can store (user objects, a
            ``FunctionTransformer`` holding your function …) and load them back.
            Loading a pickle runs code, so do this only for a store nobody else
            can write to. Without it (and unless the store was opened with
            ``trust_pickle=True``) such a step runs uncached, and the run says so
            (``StepRun.notes`` and a :class:`CacheWarning`).

        Returns
        -------
        Run
            The run record; ``run.raise_for_status()`` raises if a step failed.

        Raises
        ------
        PipelineDefinitionError
            A target or forced step does not exist, an external input is missing, or
            an input name matches nothing in the pipeline.

        Examples
        --------
        >>> def total(xs, offset=0):
        ...     return sum(xs) + offset
        >>> run = Pipeline([total]).run({"xs": [1, 2], "offset": 10})
        >>> run.outputs["total"], run.steps["total"].status, run.ok
        (13, 'ran', True)
        """
        from mlopskit.pipeline._execute import execute

        return execute(
            self,
            dict(inputs or {}),
            targets=None if targets is None else tuple(targets),
            cache=cache,
            executor=executor,
            force=tuple(force),
            progress=progress,
            fail_fast=fail_fast,
            trust_pickle=trust_pickle,
        )

    def runs(self, cache: Any) -> tuple[Run, ...]:
        """The runs of this pipeline (by ``name``) saved in ``cache``, oldest first.

        Examples
        --------
        >>> def one():
        ...     return 1
        >>> pipe = Pipeline([one], name="runs-doc")
        >>> first = pipe.run(cache="memory://runs-doc")
        >>> [r.run_id for r in pipe.runs("memory://runs-doc")] == [first.run_id]
        True
        """
        from mlopskit.pipeline._store import list_runs

        return list_runs(cache, pipeline=self.name)

    # -- drawing -------------------------------------------------------------------

    def _edges(self) -> list[tuple[str, str, str]]:
        edges = []
        for name in self.order:
            for param, source, kind in self.wiring[name]:
                if kind != "config":
                    edges.append((source, name, param))
        return edges

    def to_dot(self) -> str:
        """The graph in Graphviz DOT: steps as boxes, external inputs as ellipses.

        Examples
        --------
        >>> def b(a):
        ...     return a
        >>> print(Pipeline([b]).to_dot())
        digraph "pipeline" {
          rankdir=LR;
          node [shape=box, style=rounded];
          "a" [shape=ellipse];
          "b";
          "a" -> "b";
        }
        """
        lines = [
            f"digraph {_q(self.name)} {{",
            "  rankdir=LR;",
            "  node [shape=box, style=rounded];",
        ]
        lines += [f"  {_q(i)} [shape=ellipse];" for i in self.inputs]
        lines += [f"  {_q(n)};" for n in self.order]
        for source, target, param in self._edges():
            label = "" if param == source else f" [label={_q(param)}]"
            lines.append(f"  {_q(source)} -> {_q(target)}{label};")
        lines.append("}")
        return "\n".join(lines)

    def to_mermaid(self) -> str:
        """The graph as a Mermaid flowchart (renders on GitHub and in many docs tools).

        Examples
        --------
        >>> def b(a):
        ...     return a
        >>> print(Pipeline([b]).to_mermaid())
        flowchart LR
            i0(["a"])
            s0["b"]
            i0 --> s0
        """
        ids = {n: f"i{k}" for k, n in enumerate(self.inputs)}
        ids.update({n: f"s{k}" for k, n in enumerate(self.order)})
        lines = ["flowchart LR"]
        lines += [f'    {ids[i]}(["{_m(i)}"])' for i in self.inputs]
        lines += [f'    {ids[n]}["{_m(n)}"]' for n in self.order]
        for source, target, param in self._edges():
            label = "" if param == source else f"|{_m(param)}|"
            lines.append(f"    {ids[source]} -->{label} {ids[target]}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"Pipeline(name={self.name!r}, steps={list(self.order)}, "
            f"inputs={list(self.inputs)})"
        )

    def _repr_html_(self) -> str:
        """A Graphviz SVG when the ``graphviz`` package and binary exist, else text."""
        try:
            import graphviz

            svg = graphviz.Source(self.to_dot()).pipe(format="svg")
            return str(svg.decode("utf-8"))
        except Exception:  # no package, no `dot` binary, or a render failure
            text = html.escape(self.to_mermaid())
            return f"<pre>{html.escape(repr(self))}\n\n{text}</pre>"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _m(text: str) -> str:
    return text.replace('"', "#quot;")


def _missing_error(source: str, user: str, pipe: Pipeline) -> PipelineDefinitionError:
    param = next(p for p, s, _ in pipe.wiring[user] if s == source)
    close = difflib.get_close_matches(source, [*pipe.steps, *pipe.inputs], n=1)
    hint = f" Did you mean {close[0]!r}?" if close and close[0] != source else ""
    return PipelineDefinitionError(
        f"Step {user!r} needs {source!r} (parameter {param!r}), which is neither a "
        f"step nor a given input.{hint} Pass it with run(inputs={{{source!r}: ...}}), "
        f"add a step named {source!r}, or map the parameter to an existing step "
        f"with step(func, inputs={{{param!r}: '<step name>'}}).",
        step=user,
        missing=source,
    )
