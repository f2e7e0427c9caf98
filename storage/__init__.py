"""SQLite storage: schema, migrations and the repositories.

Nothing here imports Discord, signals or the network. Every function that touches the
database takes a ``sqlite_utils.Database`` as its first argument and must be called from
the thread that owns it (see :mod:`storage.db`).
"""
