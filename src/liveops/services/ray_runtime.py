"""Ray, for the capabilities that can run on it (``--engine ray``: batch scoring, drift).

Ray is an optional extra (``pip install 'liveops[ray]'``), imported only through
:func:`import_ray`, so a machine without it gets one clear error naming the extra.
"""

from __future__ import annotations

from typing import Any

from liveops.errors import UsageError

__all__ = ["import_ray", "start_ray"]


def import_ray() -> Any:
    """Ray with Ray Data, or a clear error saying how to install it."""
    try:
        import ray
        import ray.data  # Ray Data is the part liveops uses
    except ImportError as exc:
        raise UsageError(
            f"--engine ray needs Ray Data, which is not installed ({exc})",
            hint="pip install 'liveops[ray]' (or use --engine local)",
        ) from None
    return ray


def start_ray(
    address: str | None = None, *, num_cpus: int | None = None, preserve_order: bool = False
) -> Any:
    """Ray, started unless it runs already: a local Ray (on ``num_cpus`` CPUs, default all)
    when ``address`` is None, else the cluster at ``address``. ``preserve_order`` makes Ray
    Data keep the dataset's order (results that depend on it need it)."""
    ray = import_ray()
    if not ray.is_initialized():
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address is None and num_cpus is not None:
            kw["num_cpus"] = num_cpus
        ray.init(address=address, **kw)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    if preserve_order:
        ctx.execution_options.preserve_order = True
    return ray
