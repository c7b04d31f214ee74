"""Score tables: one row per eligible instance, as CSV or Parquet.

The table arrives in parts (dicts of columns), written one after the other,
so a table larger than memory streams through: the parts of an SA-1B-style
folder are built by the workers. ``.parquet`` outputs are written with
pyarrow (imported only then), anything else as CSV, through the command's
whole-or-nothing writer. A CSV's ``file`` column holds any file name (one
that is not valid UTF-8 as its bytes); Parquet's only UTF-8 text.
"""

import csv
import importlib.util

import numpy as np
import orjson

from tfdp.errors import TFDPError, is_text, printable

#: The columns of a score table (``file`` comes first when there are several
#: inputs)
COLUMNS = (
    "image_id",
    "annotation_id",
    "category_id",
    "perimeter",
    "area",
    "scs",
    "si_scs",
    "cb_scs",
)

FLOAT_COLUMNS = COLUMNS[3:]

#: Rows per part when a table is cut from columns held in memory
ROWS_PER_PART = 65536


def is_parquet(path):
    """Whether an output path asks for Parquet."""
    return path.lower().endswith((".parquet", ".pq"))


def parquet_installed():
    """Whether pyarrow can be imported (without importing it)."""
    return importlib.util.find_spec("pyarrow") is not None


def columns_of(with_file):
    """The column names, with ``file`` first or not."""
    return (("file",) if with_file else ()) + COLUMNS


def check_file_names(path, files):
    """Checks that a table can hold its ``file`` column.

    A CSV holds any file name: one that is not valid UTF-8 is written as
    its bytes. Parquet's strings must be UTF-8 text.

    Args:
        path: the output
        files: the input paths, which the ``file`` column names

    Raises:
        TFDPError: if the output is Parquet and a name is not UTF-8
    """
    if not is_parquet(path):
        return
    for name in files:
        if not is_text(name):
            raise TFDPError(
                "%s: the input file name %s is not UTF-8 text, which "
                "Parquet's strings must be; rename the file or write a .csv "
                "table" % (path, printable(name))
            )


def id_type(kinds):
    """The column type of ids of the given Python type names: ``"int"``
    when they are all ints (or there are none), ``"str"`` otherwise."""
    kinds = set(kinds) - {"NoneType"}
    return "int" if kinds <= {"int"} else "str"


def check_image_id_types(examples):
    """Checks that a table's image ids are all numbers or all strings.

    Mixed, the ``image_id`` column would turn to text (Parquet) or write
    image ``1`` and image ``"1"`` alike (CSV), and no longer tell them
    apart.

    Args:
        examples: ``{Python type name: how messages name an image of that
            type}``

    Raises:
        TFDPError: if there are ints and strings
    """
    if "int" in examples and "str" in examples:
        raise TFDPError(
            "image ids mix numbers and strings (%s and %s), which one "
            "column of the score table cannot tell apart; make them one "
            "type" % (examples["int"], examples["str"])
        )


def slice_parts(columns, rows):
    """Cuts in-memory columns into parts of :data:`ROWS_PER_PART` rows."""
    for start in range(0, rows, ROWS_PER_PART):
        yield {
            name: values[start : start + ROWS_PER_PART]
            for name, values in columns.items()
        }


def table_writer(path, parts, id_types, with_file=False, rows=None):
    """A ``write_path(tmp)`` callable that writes a score table, for
    :func:`tfdp.outputs.write_paths_atomic`.

    Args:
        path: the output; Parquet when it ends with ``.parquet``, CSV
            otherwise
        parts: an iterable of dicts of columns (lists or arrays), each with
            every column of :func:`columns_of`
        id_types: ``{"image_id": t, "annotation_id": t, "category_id": t}``
            with ``t`` from :func:`id_type`, the Parquet column types
            (``category_id`` may be ``"null"``: class-agnostic data)
        with_file (False): whether there is a ``file`` column
        rows (None): a list to which the number of rows written is appended

    Returns:
        a callable
    """
    names = columns_of(with_file)

    def write_path(tmp):
        if is_parquet(path):
            count = _write_parquet(tmp, parts, names, id_types, path)
        else:
            # a file name that is not UTF-8 is written as its bytes
            with open(
                tmp,
                "w",
                encoding="utf-8",
                errors="surrogateescape",
                newline="",
            ) as f:
                count = _write_csv(f, parts, names)
        if rows is not None:
            rows.append(count)

    return write_path


def _write_csv(f, parts, names):
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(names)
    rows = 0
    for part in parts:
        columns = [part[n] for n in names]
        count = len(columns[0])
        texts = _number_texts(columns)
        if texts is None:  # strings: the csv module quotes them
            writer.writerows(
                zip(
                    *[
                        c.tolist() if isinstance(c, np.ndarray) else c
                        for c in columns
                    ]
                )
            )
        elif count:
            f.write("\n".join(map(",".join, zip(*texts))))
            f.write("\n")
        rows += count
    return rows


def _number_texts(columns):
    # Each column as the csv module writes it, when every value is a
    # number or null (None otherwise): ints with str, floats with repr,
    # null as nothing. Formatting floats one by one is Python work per
    # value; orjson writes the same shortest digits in bulk
    texts = []
    for column in columns:
        if isinstance(column, np.ndarray) and column.dtype == np.float64:
            texts.append(_float_texts(column))
            continue
        if isinstance(column, np.ndarray):
            column = column.tolist()
        types = set(map(type, column))
        if types <= _INT_TYPE:
            texts.append(list(map(str, column)))
        elif types <= _INT_OR_NONE:  # no category (SA-1B): an empty field
            texts.append(["" if v is None else str(v) for v in column])
        else:
            return None
    return texts


_INT_TYPE = frozenset((int,))
_INT_OR_NONE = frozenset((int, type(None)))


def _float_texts(values):
    # repr of each value of a 1D float64 array
    if not values.size:
        return []
    texts = orjson.dumps(
        np.ascontiguousarray(values), option=orjson.OPT_SERIALIZE_NUMPY
    )
    texts = texts[1:-1].decode("ascii").split(",")
    # orjson writes the same digits as repr, but small magnitudes without
    # an exponent and non-finite values as null: repr those
    magnitude = np.abs(values)
    for i in np.flatnonzero(
        ~((magnitude >= 1e-4) & (magnitude < 1e16)) & (values != 0)
    ).tolist():
        texts[i] = repr(float(values[i]))
    return texts


def _arrow_schema(names, id_types):
    import pyarrow as pa

    kinds = {"int": pa.int64(), "str": pa.string(), "null": pa.int64()}
    fields = []
    for name in names:
        if name == "file":
            fields.append(pa.field(name, pa.string()))
        elif name in FLOAT_COLUMNS:
            fields.append(pa.field(name, pa.float64()))
        else:
            fields.append(pa.field(name, kinds[id_types[name]]))
    return pa.schema(fields)


def _write_parquet(tmp, parts, names, id_types, output):
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _arrow_schema(names, id_types)
    rows = 0
    with pq.ParquetWriter(tmp, schema) as writer:
        for part in parts:
            arrays = []
            for field in schema:
                values = part[field.name]
                if field.type == pa.string() and field.name != "file":
                    # ids of mixed types: their text, as in the CSV
                    values = [None if v is None else str(v) for v in values]
                try:
                    arrays.append(pa.array(values, type=field.type))
                except UnicodeEncodeError:
                    raise TFDPError(
                        "%s: a %s is not UTF-8 text, which Parquet's strings "
                        "must be; write a .csv table" % (output, field.name)
                    ) from None
                except (OverflowError, pa.ArrowInvalid):
                    raise TFDPError(
                        "%s: a %s is beyond 64 bits, which Parquet's integers "
                        "cannot hold; write a .csv table"
                        % (output, field.name)
                    ) from None
            table = pa.Table.from_arrays(arrays, schema=schema)
            writer.write_table(table)
            rows += table.num_rows
    return rows
