"""What the theory knows about a tensor that depends on the input (:class:`Field`), and what
happens where branches meet (:func:`merge_fields`, the union of their fields)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cnncourse._checks import check_int
from cnncourse._text import pair_text
from cnncourse.receptive_field.errors import ReceptiveFieldError

__all__ = ["Field", "Many", "META_VALUE", "norm_dim", "spatial_positions", "global_field", "merge_fields"]


@dataclass(frozen=True)
class Field:
    """Geometry of one tensor that depends on the input."""

    ndim: int
    dims: tuple[int, int] | None     # negative positions of the (row, column) axes; None: none left
    size: tuple[int, int] | None = None
    jump: tuple[int, int] | None = None
    start: tuple[float, float] | None = None
    whole: bool = False              # some path reaches every input pixel
    shape: tuple[int, int] | None = None
    note: str = ""


class Many:
    """The tuple of tensors returned by ``chunk``/``split``: each has the same geometry."""

    def __init__(self, field_: Field) -> None:
        self.field = field_


META_VALUE = object()  # sizes, shapes: values computed from the input's shape, not its pixels



def norm_dim(dim, ndim: int, where: str) -> int:
    d = check_int(dim, f"dim at {where}")
    if not -ndim <= d < ndim:
        raise ReceptiveFieldError(f"{where}: dim {d} is out of range for a {ndim}-D tensor")
    return d % ndim


def spatial_positions(f: Field) -> tuple[int, int]:
    return (f.ndim + f.dims[0], f.ndim + f.dims[1])


def global_field(ndim: int) -> Field:
    return Field(ndim, None, whole=True)


def merge_fields(fields: list[Field], where: str) -> Field:
    spatial = [f for f in fields if f.dims is not None]
    if not spatial:
        return global_field(max(f.ndim for f in fields))
    first = spatial[0]
    whole = any(f.whole for f in fields) or len(spatial) < len(fields)
    if len(spatial) == 1:
        return replace(first, whole=whole)
    if any(f.dims != first.dims for f in spatial):
        raise ReceptiveFieldError(f"{where} combines feature maps whose rows and columns are on different "
                                  f"axes: {[f.dims for f in spatial]}")
    jumps = sorted({f.jump for f in spatial})
    if len(jumps) > 1:
        raise ReceptiveFieldError(f"{where} combines branches with different jumps {jumps}: their units "
                                  "are not aligned on the input, so no single field describes a unit")
    size, start, notes = [], [], [f.note for f in spatial if f.note]
    for a in (0, 1):
        lo = min(f.start[a] - (f.size[a] - 1) / 2 for f in spatial)
        hi = max(f.start[a] + (f.size[a] - 1) / 2 for f in spatial)
        size.append(round(hi - lo) + 1)
        start.append((lo + hi) / 2)
    starts = sorted({f.start for f in spatial})
    if len(starts) > 1:
        notes.append(f"branches centred at {', '.join(pair_text(s) for s in starts)}: the field is their union")
    shape = first.shape
    return Field(first.ndim, first.dims, tuple(size), first.jump, tuple(start), whole, shape,
                  "; ".join(notes))
