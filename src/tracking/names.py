"""Environment variables that carry a sweep's context from the launching process to its jobs."""

PARENT_ENV = "NETLAB_PARENT_RUN_ID"  # the sweep's parent run
COMMAND_ENV = "NETLAB_COMMAND"  # the command line the user typed
