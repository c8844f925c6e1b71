"""A report rendered, named by its content hash and written.

The name is ``fairwatch-report-<model|all>-<from>_<to>-<sha256[:12]>.<html|json>``: the same
report always gets the same name, a different one another name, so reports can sit side by
side in a directory under version control.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fairwatch.compliance.model import Report
from fairwatch.compliance.render_html import render_html
from fairwatch.compliance.render_json import render_json

Format = Literal["html", "json"]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Rendered:
    """A report's bytes, their sha256 (hex) and the file name they go by."""

    content: bytes
    format: Format
    sha256: str
    name: str


def render(report: Report, format: Format) -> Rendered:
    """``report`` as HTML or JSON, hashed and named."""
    text = render_html(report) if format == "html" else render_json(report)
    content = text.encode("utf-8")
    digest = hashlib.sha256(content).hexdigest()
    subject = _UNSAFE.sub("_", report.subject).strip("_") or "model"
    name = f"fairwatch-report-{subject}-{report.period.slug}-{digest[:12]}.{format}"
    return Rendered(content, format, digest, name)


def write(rendered: Rendered, target: Path) -> Path:
    """Write into the directory ``target`` (created if needed) under the report's name, or to
    the file ``target`` when it is not a directory; atomically (a reader never sees half a
    report). Returns the path written."""
    path = target / rendered.name if target.is_dir() else target
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_bytes() == rendered.content:
        return path  # already there: the same bytes
    handle, temporary = tempfile.mkstemp(prefix=".fairwatch-report-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(rendered.content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
