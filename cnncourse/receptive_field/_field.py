"""What the theory knows about a tensor that depends on the input (:class:`Field`), and what
happens where branches meet (:func:`merge_fields`, the union of their fields)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cnncourse._checks import check_int
from cnncourse._text import pair_text
from cnncourse.receptive_field.errors import ReceptiveFieldError

__all__ = ["Field", "Many", "META_VALUE", "norm_dim", "spatial_positions", "global_field", "not_whole", "merge_fields"]


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
    gaps: str = ""                   # why some input pixels may reach no unit of this map; "" if none


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


def global_field(ndim: int, source: Field | None = None) -> Field:
    """The field of a unit that mixes every position of ``source`` (global pooling, flatten, a
    reduction): the whole input, unless a window before it may have left input pixels out."""
    gaps = source.gaps if source is not None else ""
    return Field(ndim, None, whole=not gaps, note=not_whole(gaps), gaps=gaps)


def not_whole(gaps: str) -> str:
    """The note of a field that mixes every position of a map with ``gaps``, or ""."""
    return f"not claimed to be the whole input: {gaps}, so some input pixels may reach no unit here" if gaps else ""


def merge_fields(fields: list[Field], where: str) -> Field:
    spatial = [f for f in fields if f.dims is not None]
    # the union of the branches leaves a pixel out only if every branch may leave it out
    gaps = "; ".join(dict.fromkeys(f.gaps for f in fields)) if all(f.gaps for f in fields) else ""
    if not spatial:
        return global_field(max(f.ndim for f in fields), replace(fields[0], gaps=gaps))
    first = spatial[0]
    whole = any(f.whole for f in fields)
    if len(spatial) == 1:
        notes = "; ".join(dict.fromkeys(f.note for f in fields if f.note))
        return replace(first, whole=whole, gaps=gaps, note=notes)
    if any(f.dims != first.dims for f in spatial):
        raise ReceptiveFieldError(f"{where} combines feature maps whose rows and columns are on different "
                                  f"axes: {[f.dims for f in spatial]}")
    jumps = sorted({f.jump for f in spatial})
    if len(jumps) > 1:
        raise ReceptiveFieldError(f"{where} combines branches with different jumps {jumps}: their units "
                                  "are not aligned on the input, so no single field describes a unit")
    size, start, notes = [], [], [f.note for f in fields if f.note]
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
                 "; ".join(notes), gaps)
