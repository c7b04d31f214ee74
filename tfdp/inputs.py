"""What the command reads, as one collection: one or several COCO files, or
SA-1B-style folders of per-image files.

Several COCO files are one dataset: CB-SCS class totals span all of them,
categories are matched by id (one id must have one name in every file), and
an image is identified by its file and its id, so files may reuse image
ids. Their instances are in file order, then in each file's order.

- :func:`input_format`: COCO files or SA-1B-style folders, before reading
- :func:`open_collection`: the inputs read and measured, as one
  :class:`CocoFiles` or :class:`tfdp.sa1b.FolderShapes`
- :func:`pruned_path`: where the pruned copy of an input goes
"""

import json
import os

import numpy as np

from tfdp import coco, jsonio, outputs, sa1b, score_tables, scoring
from tfdp.errors import TFDPError
from tfdp.names import describe_name, name_phrase
from tfdp.report import retention_report


def input_format(inputs):
    """Tells the format of a command's inputs, before measuring anything.

    Folders and globs are SA-1B-style; files are SA-1B-style when the first
    one holds an ``image`` object, COCO otherwise.

    Args:
        inputs: paths given on the command line

    Returns:
        ``("sa1b", the per-image files)`` or ``("coco", first file's data)``

    Raises:
        TFDPError: if the first file cannot be read or is neither format,
            or a file is given twice
    """
    if any(sa1b.is_folder_input(path) for path in inputs):
        return "sa1b", sa1b.list_files(inputs)
    first = coco.read_json(inputs[0])
    if sa1b.is_sa1b_record(first):
        return "sa1b", sa1b.list_files(inputs)
    coco.check_structure(first, inputs[0])
    outputs.check_inputs(inputs)
    return "coco", first


def open_collection(inputs, runner, skip_invalid=False, detected=None):
    """Reads and measures the inputs of a command.

    Args:
        inputs: paths given on the command line: COCO files, or SA-1B-style
            folders, globs or per-image files
        runner: a :class:`tfdp.runner.Runner`
        skip_invalid (False): skip malformed records rather than raise
        detected (None): what :func:`input_format` returned, if it was
            called already

    Returns:
        a :class:`CocoFiles` or a :class:`tfdp.sa1b.FolderShapes`

    Raises:
        TFDPError: if an input cannot be read
        InvalidDataError: if records are malformed and ``skip_invalid`` is
            False
    """
    kind, first = detected or input_format(inputs)
    if kind == "sa1b":
        return sa1b.measure_folder(
            inputs, runner, skip_invalid=skip_invalid, files=first
        )

    files = []
    for index, path in enumerate(inputs):
        data = first if index == 0 else coco.load_json(path)
        shapes = coco.measure(
            data,
            source=path,
            skip_invalid=skip_invalid,
            measure_jobs=runner.measure_coco_jobs,
        )
        files.append((path, data, shapes))
    return CocoFiles(files)


class CocoFiles(object):
    """One or several measured COCO files, scored as one dataset.

    Args:
        files: a list of ``(path, data, CocoShapes)``, in input order

    Attributes:
        paths: the files
        table: a :class:`tfdp.scoring.ShapeTable` of all their eligible
            instances (``category`` indexes ``categories``)
        categories: ``(id, name)`` per category, matched by id across files
        image_ids: per image of the collection, its id in its file
        image_file: ``int64`` per image, the index of its file
        num_images: the number of images of all files
        ineligible: reasons why annotations were not scored, over all files
        invalid: the skipped :class:`tfdp.errors.Problem` records (their
            messages name their file when there are several)
        warnings: what is unusual but not wrong (naming its file when
            there are several)

    Raises:
        TFDPError: if two files give one category id different names
    """

    def __init__(self, files):
        self.paths = [path for path, _, _ in files]
        self.datas = [data for _, data, _ in files]
        self.shapes = [shapes for _, _, shapes in files]
        self.several = len(files) > 1

        self.categories = []
        category_index = {}
        names = {}
        ids, image_index, category = [], [], []
        perimeter, area, pixels = [], [], []
        self.image_ids = []
        image_file = []
        self.ineligible = {}
        self.invalid = []
        self.warnings = []
        for file_index, (path, data, shapes) in enumerate(files):
            mapping = np.zeros(len(shapes.categories), dtype=np.int64)
            for local, ((category_id, name), written) in enumerate(
                zip(shapes.categories, shapes.category_name_keys)
            ):
                key = (type(category_id).__name__, category_id)
                # names as written: no name, 1 and "1" are three names
                if key in names and names[key][0] != written:
                    raise TFDPError(
                        _names_differ(category_id, *names[key], written, path)
                    )
                if key not in category_index:
                    names[key] = (written, path)
                    category_index[key] = len(self.categories)
                    self.categories.append((category_id, name))
                mapping[local] = category_index[key]

            table = shapes.table
            ids.extend(table.instance_ids)
            image_index.append(table.image_index + len(self.image_ids))
            category.append(
                mapping[table.category]
                if len(table)
                else np.zeros(0, dtype=np.int64)
            )
            perimeter.append(table.perimeter)
            area.append(table.area)
            pixels.append(table.pixels)
            self.image_ids.extend(shapes.image_ids)
            image_file.extend([file_index] * shapes.num_images)
            for reason, n in shapes.ineligible.items():
                self.ineligible[reason] = self.ineligible.get(reason, 0) + n
            self.warnings.extend(
                "%s: %s" % (path, warning) if self.several else warning
                for warning in shapes.warnings
            )
            for problem in shapes.invalid:
                if self.several:
                    problem = problem._replace(
                        message="%s: %s" % (path, problem.message)
                    )
                self.invalid.append(problem)

        self.table = scoring.ShapeTable(
            ids,
            np.concatenate(image_index),
            np.concatenate(category),
            np.concatenate(perimeter),
            np.concatenate(area),
            np.concatenate(pixels),
        )
        self.image_file = np.asarray(image_file, dtype=np.int64)
        self.num_images = len(self.image_ids)

    @property
    def num_instances(self):
        return len(self.table)

    def rank(self, method, seed=None):
        """Ranks the images of all files (see :func:`tfdp.scoring.rank`)."""
        return scoring.rank(self.table, self.num_images, method, seed=seed)

    def report(self, kept, method):
        """The retention report of a pruning over all files."""
        return retention_report(
            self.table,
            kept,
            lambda index: self.categories[index],
            method,
            ineligible=self.ineligible,
            invalid=self.invalid,
        )

    def pruned_selections(self, kept):
        """Yields, for every file, ``(data, kept image ids, skipped
        annotation positions)``: what :func:`tfdp.coco.prune` takes."""
        kept = np.asarray(kept, dtype=bool)
        for file_index, (data, shapes) in enumerate(
            zip(self.datas, self.shapes)
        ):
            mine = np.flatnonzero(kept & (self.image_file == file_index))
            kept_ids = [self.image_ids[i] for i in mine.tolist()]
            yield data, kept_ids, shapes.skipped_annotations

    def id_types(self):
        """The score table's id column types (see
        :func:`tfdp.score_tables.id_type`).

        Raises:
            TFDPError: if image ids mix numbers and strings
        """
        examples = {}
        for image_id, file_index in zip(
            self.image_ids, self.image_file.tolist()
        ):
            examples.setdefault(
                type(image_id).__name__,
                "image %s%s"
                % (
                    jsonio.brief(image_id),
                    " of " + self.paths[file_index] if self.several else "",
                ),
            )
        score_tables.check_image_id_types(examples)
        return {
            "image_id": score_tables.id_type(
                {type(i).__name__ for i in self.image_ids}
            ),
            "annotation_id": score_tables.id_type(
                {type(i).__name__ for i in self.table.instance_ids}
            ),
            "category_id": score_tables.id_type(
                {type(c).__name__ for c, _ in self.categories}
            ),
        }

    def score_parts(self):
        """Yields the score table's columns in parts."""
        table = self.table
        image_index = table.image_index
        columns = {
            "image_id": [self.image_ids[i] for i in image_index.tolist()],
            "annotation_id": table.instance_ids,
            "category_id": [
                self.categories[i][0] for i in table.category.tolist()
            ],
            "perimeter": table.perimeter,
            "area": table.area,
            "scs": table.scores("scs"),
            "si_scs": table.scores("si-scs"),
            "cb_scs": table.scores("cb-scs"),
        }
        if self.several:
            columns["file"] = [
                self.paths[f] for f in self.image_file[image_index].tolist()
            ]
        yield from score_tables.slice_parts(columns, len(table))


def _names_differ(category_id, first, first_path, written, path):
    if first is not None and written is not None:
        said = "is %s in %s but %s in %s" % (
            describe_name(first),
            first_path,
            describe_name(written),
            path,
        )
    else:
        said = "%s in %s but %s in %s" % (
            name_phrase(first, verb="is"),
            first_path,
            name_phrase(written, verb="is"),
            path,
        )
    return "category id %s %s" % (json.dumps(category_id), said)


def pruned_path(output_folder, path):
    """Where the pruned copy of an input goes: in the output folder, with
    the input's name."""
    return os.path.join(output_folder, os.path.basename(path))
