"""Outputs written whole or not at all, and checked before anything is read.

An interrupted or failed run leaves no output behind (nor a temporary
file), and never writes over one of its inputs, however the paths are
spelled.

- :func:`check_outputs`, :func:`check_inputs`, :func:`check_writable`:
  refusals before a run reads anything
- :func:`file_identity`: what a path names, to tell two paths of one file
- :func:`write_paths_atomic`, :func:`write_path_atomic`,
  :func:`write_atomic`, :func:`write_json`: whole files or nothing
- :func:`file_writer`: a path writer from a file writer
- :func:`dump_json`, :func:`dump_report`: the bytes of a COCO file and of a
  retention report
"""

import json
import os
import tempfile

from tfdp import jsonio, signals
from tfdp.errors import OutputExistsError, TFDPError


def check_writable(path, overwrite=False, hint=None):
    """Checks that an output may be written.

    Args:
        path: the output
        overwrite (False): whether an existing file may be replaced
        hint (None): how to replace it, appended to the message when it
            exists (e.g. ``"pass overwrite=True to replace it"``)

    Raises:
        OutputExistsError: if it exists and ``overwrite`` is False
        TFDPError: if its folder does not exist or it is a folder
    """
    if not path:
        raise TFDPError("an output path is empty")
    if os.path.isdir(path):
        raise TFDPError("%s is a folder, not a file" % path)
    if os.path.lexists(path) and not overwrite:
        raise OutputExistsError(path, hint=hint)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise TFDPError("%s: folder %s does not exist" % (path, folder))


def check_outputs(outputs, inputs=(), overwrite=False, hint=None):
    """Checks a run's outputs before it reads anything.

    Outputs must differ from every input and from each other as files,
    however they are spelled: the same path written differently, a
    symbolic link, a hard link.

    Args:
        outputs: the output paths
        inputs (()): the input paths
        overwrite (False): whether existing outputs may be replaced
        hint (None): see :func:`check_writable`

    Raises:
        OutputExistsError: if an output exists and ``overwrite`` is False
        TFDPError: if an output is an input or another output, or cannot
            be written
    """
    seen = {}
    for path in outputs:
        identity = file_identity(path)
        if identity in seen:
            raise TFDPError(
                "%s and %s are the same output file" % (seen[identity], path)
            )
        seen[identity] = path
    # only an existing output can be an input: the inputs of a folder of
    # millions of files are not looked at one by one otherwise
    if any(identity[0] == "inode" for identity in seen):
        for path in inputs:
            other = seen.get(file_identity(path))
            if other is not None:
                raise TFDPError(
                    "%s is the input file%s; write the output elsewhere"
                    % (other, "" if path == other else " " + path)
                )
    for path in outputs:
        check_writable(path, overwrite=overwrite, hint=hint)


def check_inputs(paths):
    """Checks that no input file is given twice, however it is spelled.

    Args:
        paths: the input files

    Raises:
        TFDPError: if two paths are one file (its records would count twice)
    """
    seen = {}
    for path in paths:
        identity = file_identity(path)
        if identity in seen:
            raise TFDPError(
                "%s and %s are the same file: its records would count twice"
                % (seen[identity], path)
            )
        seen[identity] = path


def file_identity(path):
    """What a path names, to tell when two paths are one file.

    An existing file is its inode (hard and symbolic links included); a
    file to be created, or a link that leads nowhere, is its resolved path.

    Args:
        path: a path

    Returns:
        ``("inode", device, inode)`` or ``("path", resolved path)``
    """
    try:
        st = os.stat(path)
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("path", os.path.realpath(path))


def write_paths_atomic(outputs, overwrite=False, hint=None, written=None):
    """Writes several files all together or not at all.

    Every output is first written to a temporary file beside it; only when
    all are complete are they renamed into place. If writing fails or is
    interrupted (``KeyboardInterrupt`` or any exception a signal handler
    raises), the temporary files are removed and no output appears. SIGINT
    and SIGTERM are held while files are renamed or removed, so that a
    signal never cuts that step halfway; it takes effect right after.

    Args:
        outputs: a list of ``(path, write_path)``, where
            ``write_path(tmp)`` writes the file ``tmp``
        overwrite (False): replace existing files
        hint (None): see :func:`check_writable`
        written (None): a list to which each output path is appended once
            it is in place, so that a caller interrupted afterwards can
            say what exists

    Raises:
        OutputExistsError: if an output exists and ``overwrite`` is False
        TFDPError: if an output cannot be written
    """
    for path, _ in outputs:
        check_writable(path, overwrite=overwrite, hint=hint)
    temps = []
    # the output being written or placed: an error names it, never the
    # temporary file that the user did not ask for
    current = [None]
    try:
        for path, write_path in outputs:
            current[0] = path
            folder = os.path.dirname(os.path.abspath(path))
            with signals.held():
                fd, tmp = tempfile.mkstemp(
                    dir=folder,
                    prefix="." + os.path.basename(path) + ".",
                    suffix=".tmp",
                )
                temps.append(tmp)
                os.close(fd)
            # mkstemp makes the file private; give it the usual permissions
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            write_path(tmp)
        with signals.held():
            _commit(outputs, temps, overwrite, hint, written, current)
    except OSError as e:
        raise TFDPError(
            "cannot write %s: %s"
            % (current[0] or e.filename or "output", e.strerror or e)
        ) from None
    finally:
        with signals.held():
            for tmp in temps:
                if os.path.lexists(tmp):
                    os.unlink(tmp)


def _commit(outputs, temps, overwrite, hint, written, current):
    placed = []
    try:
        for (path, _), tmp in zip(outputs, temps):
            current[0] = path
            if overwrite:
                os.replace(tmp, path)
            else:
                # link fails if the path appeared meanwhile: never clobber
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    raise OutputExistsError(path, hint=hint) from None
            placed.append(path)
    except BaseException:
        if not overwrite:
            for path in placed:  # our own links, made a moment ago
                os.unlink(path)
            placed = []
        raise
    finally:
        if written is not None:
            written.extend(placed)


def write_path_atomic(path, write_path, overwrite=False, hint=None):
    """Writes a file whole or not at all, with a writer that takes a path.

    Args:
        path: the output
        write_path: a callable ``write_path(tmp)`` that writes the file
            ``tmp``, in the output's folder
        overwrite (False): replace an existing file
        hint (None): see :func:`check_writable`

    Raises:
        OutputExistsError: if it exists and ``overwrite`` is False
    """
    write_paths_atomic([(path, write_path)], overwrite=overwrite, hint=hint)


def file_writer(write, mode="wb"):
    """A ``write_path(tmp)`` callable from a ``write(f)`` callable.

    Args:
        write: a callable given the open file
        mode ("wb"): ``"wb"`` for bytes, ``"w"`` for UTF-8 text

    Returns:
        a callable
    """
    kwargs = {"encoding": "utf-8", "newline": ""} if "b" not in mode else {}

    def write_path(tmp):
        with open(tmp, mode, **kwargs) as f:
            write(f)

    return write_path


def write_atomic(path, write, overwrite=False, mode="w", hint=None):
    """Writes a file whole or not at all.

    Args:
        path: the output
        write: a callable ``write(f)`` given the open temporary file
        overwrite (False): replace an existing file
        mode ("w"): ``"w"`` for text (UTF-8), ``"wb"`` for bytes
        hint (None): see :func:`check_writable`

    Raises:
        OutputExistsError: if it exists and ``overwrite`` is False
    """
    write_path_atomic(
        path, file_writer(write, mode), overwrite=overwrite, hint=hint
    )


def dump_json(data, f):
    """Writes a dict as compact UTF-8 JSON, exactly as ``json.dump(data, f,
    ensure_ascii=False, separators=(",", ":"))`` does, only faster.

    Args:
        data: the dict
        f: a binary file

    Raises:
        TFDPError: if the data cannot be written as JSON
    """
    try:
        jsonio.dump(data, f)
    except jsonio.JSONError as e:
        raise TFDPError(str(e)) from None


def write_json(data, path, overwrite=False, hint=None):
    """Writes a COCO-format dict as compact UTF-8 JSON, atomically.

    Args:
        data: the dict
        path: the output
        overwrite (False): replace an existing file
        hint (None): see :func:`check_writable`

    Raises:
        OutputExistsError: if it exists and ``overwrite`` is False
    """
    write_atomic(
        path,
        lambda f: dump_json(data, f),
        overwrite=overwrite,
        mode="wb",
        hint=hint,
    )


def dump_report(report, f):
    """Writes a retention report as indented JSON to a binary file."""
    f.write(json.dumps(report, indent=2).encode("utf-8"))
