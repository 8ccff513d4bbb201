"""Pure parsers of the log and output formats StackState components write.

Parsing a format is neither I/O nor judgement: these modules take bytes or text and
return what they found. Reading files, directories, gzip and stdin lives in
``stsdebug.sources``; deciding what a finding means lives in ``stsdebug.stages``.

- ``text``: decoding and cleaning shared by every format (ANSI codes, CR, caps).
- ``receiver_format``, ``receiver_patterns``, ``receiver_result``, ``receiver_scan``,
  ``receiver_window``: the StackState receiver's logback log (layouts and clock, what is
  recognised, what a scan keeps, the streaming scanner, dating its lines against the window).
- ``search``: finding needles in large buffers (memchr-guided, or one hyperscan pass).
- ``agent_*``: the StackState Agent's log, ``check`` output and ``status`` output.
"""
