"""What one grading run is told: where the instructor sources are, limits, which kernels to use.

A `Settings` object is built once from the command line and handed to every worker process as an
argument (it pickles), so nothing a worker does depends on environment variables.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from coursekit.project import Course

CELL_TIMEOUT = 30  # seconds per cell: an endless loop costs one question, not the batch
KERNEL_NAME = "course-grading"


@dataclass(frozen=True)
class Settings:
    """Inputs and limits of a grading run."""

    source: Path  # instructor notebooks (hidden tests included)
    exercises: Path  # the released student notebooks
    cell_timeout: int = CELL_TIMEOUT
    jobs: int = 0  # worker processes; 0 means one per core
    zygote: bool = True  # fork kernels from a pre-warmed process (Linux)
    sandbox: bool = True  # kernels cannot open files outside their own folder (Landlock)
    assignment: str | None = None  # what the folder should hold; None: any assignment
    kernel_dir: str = ""  # folder of the batch's kernel spec (set by the batch)
    protect: tuple[str, ...] = field(default=())  # paths a sandboxed kernel must not open

    @classmethod
    def of(cls, course: Course, **changes) -> Settings:
        """The settings for a course's own solutions/ and exercises/, with changes."""
        return cls(source=course.solutions, exercises=course.exercises, **changes)

    def with_kernels(self, kernel_dir: str, protect: tuple[str, ...]) -> Settings:
        """A copy that tells workers where the batch's kernel spec is and what it protects."""
        return replace(self, kernel_dir=kernel_dir, protect=protect)
