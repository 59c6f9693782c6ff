"""The project's error types. The CLI turns them into one line on stderr and an exit code."""


class WdTrainError(Exception):
    """A mistake the user can act on (bad config, bad data file). Exit code 2."""

    exit_code = 2


class GateFailed(WdTrainError):
    """A regression gate did not hold (metric below its threshold). Exit code 1."""

    exit_code = 1
