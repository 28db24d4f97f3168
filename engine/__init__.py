"""The call engine: runs one pipeline per call (transport + turn manager + audio stages).

Never imports ``control_api``: the control API hands the engine a ``CallRequest`` and receives a ``CallRecord``.
"""
