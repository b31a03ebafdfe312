"""Graded assignments with nbgrader.

- `sources`: the instructor side (assignments, exercises/ generated from solutions/);
- `plugins`: nbgrader's configuration and this course's preprocessors;
- `submissions`: reading, identifying and repairing what students hand in;
- `batch`, `kernels`, `zygote`, `kernel_guard`, `sandbox`: grading a folder with guarded,
  sandboxed kernels in worker processes;
- `report`, `class_report`: the grades CSV, feedback pages, the class report.

Each run is described by one `Settings` object, passed explicitly to every worker.
"""

from coursekit.grading.batch import grade_folder
from coursekit.grading.report import Result, merge_csvs
from coursekit.grading.settings import Settings
from coursekit.grading.sources import (
    GradingError,
    answered,
    assignments,
    exercise_problems,
    sources,
    test_points,
    write_exercises,
)

__all__ = ["GradingError", "Result", "Settings", "answered",
           "assignments", "exercise_problems", "grade_folder", "merge_csvs", "sources",
           "test_points", "write_exercises"]
