"""The one exception type that means "the user asked for something impossible".

Everything that can be fixed by the person at the keyboard (a missing data set,
a bad option value, a config that does not match an existing run folder) raises
:class:`UserError`. The CLI turns it into one line on stderr and exit code 2,
never a traceback; jobs record its message as the run's error line.
"""


class UserError(Exception):
    """A problem the user can fix; ``str(err)`` says what is wrong and how to fix it."""
