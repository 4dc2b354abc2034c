"""The top layer: argument parsing and each command's output (`jullix-logger ...`).

`main` builds the parser from one module per command; a command module parses its arguments,
calls into `logger.app` (or the outbox, the sink or the testbed for the commands that only read
or only simulate) and prints. Heavy imports happen inside the command, so `--help` and `status`
stay light.
"""
