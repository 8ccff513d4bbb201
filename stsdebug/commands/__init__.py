"""The commands, one module per command group, and what they share.

- ``options``: every option declared once (typed ``Annotated`` aliases) and ``CheckOptions``,
  the options a trace looks at, given to ``check``, ``tui`` and ``bundle`` by
  ``@with_check_options``;
- ``target``: from ``CheckOptions`` to checked ``Settings``, and the files that are inputs;
- ``errors``: known errors as one line and their exit code (``clean_errors``);
- output goes through ``stsdebug.render.output`` (the one output layer).

Each command module has ``register(app)``; ``stsdebug.cli`` assembles the app. Nothing here
imports ``stsdebug.cli``.
"""
