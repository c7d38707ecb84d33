"""Backups of instances' data: archives of their volumes, kept in a storage.

- ``service``: the use cases (list, take, restore, download, the scheduled step)
- ``taking``: one backup; retention; whether the data changed since a backup
- ``restoring``: one restore, checked first and health-gated
- ``schedule``: when a plan's backups are due; the worker's step
- ``updates``: an update's backup first, and its data put back if it fails
- ``lease``: one backup or restore per instance at a time, never beside an update
- ``archive``: gzip, sizes and checksums on the way to storage and back
- ``read_ahead``: the engine's stream read on a thread while the disk is written
- ``storage``: where archives are kept (local files; an interface for more)
- ``repository``: every query about the ``backups`` table
- ``cli``: ``dockyard instances backups | backup | restore``

The engine side (a helper container and the engine's archive endpoint) is
``provisioner.backends.volume_archive``.
"""
