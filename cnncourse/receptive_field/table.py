"""The receptive-field table: one :class:`LayerField` row per traced node, and the table
:class:`ReceptiveField` that prints them. Plain data: nothing here traces or computes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cnncourse._checks import check_pair
from cnncourse._text import pair_text, text_table

__all__ = ["LayerField", "ReceptiveField"]


@dataclass(frozen=True)
class LayerField:
    """The receptive field after one layer (one traced node); all pairs are ``(rows, columns)``.

    Attributes
    ----------
    index
        Position of the row in the table (0 is the first layer).
    name
        Where the node is in the model: the module path (``"features.3"``,
        ``"layer1.0.conv1"``; ``"layer1.0.relu:2"`` for a second call of the same module) or,
        for a function, its module scope and node name (``"layer1.0.add"``).
    kind
        Class name of the layer (``"Conv2d"``, ``"ReLU"``, ...) or the function's name
        (``"add"``, ``"cat"``, ``"flatten"``).
    kernel
        Effective kernel ``d (k - 1) + 1`` (dilation included); 1 for other layers.
    stride
        Stride of the layer (1 for other layers).
    padding
        Padding before the first pixel (top, left).
    size
        Receptive field size in input pixels, :math:`r_l = r_{l-1} + (k_l - 1) j_{l-1}`;
        ``None`` when the field is the whole input (``whole``).
    jump
        Distance in input pixels between neighbouring units, :math:`j_l = j_{l-1} s_l`;
        ``None`` once the map has no spatial axes (after global pooling or flatten).
    start
        Input coordinate (pixel index, may be fractional or negative) of the centre of the
        field of unit ``(0, 0)``: :math:`c_l = c_{l-1} + ((k_l - 1)/2 - p_l)\\, j_{l-1}`.
        Unit ``(i, j)`` is centred on ``start + (i, j) * jump``. ``None`` without spatial axes.
    out_shape
        Height and width of the node's output map, when an input size was given.
    dilation
        Dilation of the layer (1 for pooling and other layers).
    whole
        ``True`` when every unit of this node sees the whole input, whatever its size: after
        global or adaptive pooling to 1x1, ``flatten`` of the spatial axes and ``Linear``, or
        when a branch through global pooling (a squeeze-and-excitation gate) joins in. Not
        claimed when a window before may have left input pixels unread (a stride larger than
        the window, or a last window short of the border): the ``note`` names that window.
    spatial
        Whether the output still has rows and columns.
    local_size
        The window the paths that avoid global pooling see (equal to ``size`` unless ``whole``).
    note
        What happened where branches met, e.g. branches whose centres disagree; empty if nothing.
    """

    index: int
    name: str
    kind: str
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    size: tuple[int, int] | None
    jump: tuple[int, int] | None
    start: tuple[float, float] | None
    out_shape: tuple[int, int] | None = None
    dilation: tuple[int, int] = (1, 1)
    whole: bool = False
    spatial: bool = True
    local_size: tuple[int, int] | None = None
    note: str = ""


@dataclass(frozen=True)
class ReceptiveField(Sequence):
    """The receptive-field table of a model, one :class:`LayerField` row per traced node.

    ``print`` it to see the table. ``size``, ``jump`` and ``start`` are those of the last row
    (of the input itself for an empty stack); ``table["layer2"]`` is the row of a node, or the
    last row inside a module (the output of a stage).
    """

    rows: tuple[LayerField, ...]
    input_size: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i):
        if isinstance(i, str):
            return self.row(i)
        return self.rows[i]

    def __iter__(self) -> Iterator[LayerField]:
        return iter(self.rows)

    def row(self, name: str) -> LayerField:
        """The row of node ``name``, or the last row inside the module ``name`` (a stage).

        Raises
        ------
        ValueError
            When no row has that name or lies inside that module.
        """
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        for r in self.rows:
            if r.name == name:
                return r
        inside = [r for r in self.rows if r.name.startswith(name + ".")]
        if inside:
            return inside[-1]
        known = sorted({r.name.split(".")[0] for r in self.rows})
        raise ValueError(f"no node or module named {name!r}; top-level names: {', '.join(known[:12])}")

    @property
    def size(self) -> tuple[int, int] | None:
        """Receptive field size ``(rows, columns)`` of a unit of the last row (``None``: whole input)."""
        return self.rows[-1].size if self.rows else (1, 1)

    @property
    def jump(self) -> tuple[int, int] | None:
        """Jump (effective stride) of the last row."""
        return self.rows[-1].jump if self.rows else (1, 1)

    @property
    def start(self) -> tuple[float, float] | None:
        """Centre of the field of unit ``(0, 0)`` of the last row, in input coordinates."""
        return self.rows[-1].start if self.rows else (0.0, 0.0)

    @property
    def whole(self) -> bool:
        """Whether a unit of the last row sees the whole input."""
        return self.rows[-1].whole if self.rows else False

    @property
    def out_shape(self) -> tuple[int, int] | None:
        """Output map shape of the last row (``None`` without an input size or spatial axes)."""
        if not self.rows:
            return self.input_size
        return self.rows[-1].out_shape

    def center(self, unit: tuple[int, int]) -> tuple[float, float]:
        """Input coordinates of the centre of the field of output ``unit = (row, col)``."""
        if self.jump is None:
            raise ValueError("the last row has no spatial axes: its units have no position")
        unit = check_pair(unit, "unit")
        return (self.start[0] + unit[0] * self.jump[0], self.start[1] + unit[1] * self.jump[1])

    def bounds(self, unit: tuple[int, int]) -> tuple[tuple[float, float], tuple[float, float]]:
        """First and last input row, first and last input column of the field of ``unit``.

        Inclusive; they may lie outside the image (the field then reaches into the padding).

        Raises
        ------
        ValueError
            When the field is the whole input (it has no bounds of its own).
        """
        if self.size is None:
            raise ValueError("a unit of the last row sees the whole input: its field has no bounds")
        c = self.center(unit)
        half = ((self.size[0] - 1) / 2, (self.size[1] - 1) / 2)
        return ((c[0] - half[0], c[0] + half[0]), (c[1] - half[1], c[1] + half[1]))

    def __str__(self) -> str:
        header = ["#", "layer", "kernel", "stride", "pad", "size", "jump", "start"]
        with_shape = self.input_size is not None
        if with_shape:
            header.append("output")
        lines = [["", "input", "", "", "", "1", "1", "0"]]
        if with_shape:
            lines[0].append(f"{self.input_size[0]}x{self.input_size[1]}")
        for r in self.rows:
            row = [str(r.index), f"{r.kind} ({r.name})" if r.name != str(r.index) else r.kind,
                   pair_text(r.kernel), pair_text(r.stride), pair_text(r.padding),
                   "whole" if r.whole else pair_text(r.size), pair_text(r.jump),
                   pair_text(None if r.start is None else tuple(float(v) for v in r.start))]
            if with_shape:
                row.append("-" if r.out_shape is None else f"{r.out_shape[0]}x{r.out_shape[1]}")
            lines.append(row)
        out = text_table([header, *lines], "><" + ">" * (len(header) - 2), rule="columns")
        notes = [f"{r.index}: {r.note}" for r in self.rows if r.note]
        if notes:
            out += ["", "notes:"] + notes
        return "\n".join(out)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython shows the table, not the dataclass
        p.text(str(self))
