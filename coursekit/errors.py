"""Typed errors; each message names what is wrong and how to fix it."""


class CourseError(Exception):
    """A problem the user can fix; the message says how."""


class MissingToolError(CourseError):
    """A required program, package or asset is not installed."""


class TocError(CourseError):
    """The table of contents and the files on disk disagree."""


class TwinError(CourseError):
    """A page exists in one edition but not in the other, or the twins differ in code."""


class SyncError(CourseError):
    """A notebook in notebooks/ does not match its MyST source in book/."""


class BuildError(CourseError):
    """Sphinx reported errors or warnings while building an edition."""


class ConfigError(CourseError):
    """_config.yml, _toc.yml or another course file is missing, malformed or lacks a setting."""


class UnknownEditionError(CourseError):
    """An edition named on the command line is not in _config.yml."""


class UnknownPageError(CourseError):
    """A page named on the command line is not in the toc."""


class UsageError(CourseError):
    """A command-line option has a value the command cannot use."""


class PortInUseError(CourseError):
    """The port to serve on is taken by another program."""


class NotebookFailedError(CourseError):
    """A notebook or a test run failed while measuring or executing it."""
