"""
Where a job's output is published, for every store: per-try staging, the manifest written last, ``_SUCCESS``, and
stage checkpoints. :mod:`.commit` is the protocol on a POSIX filesystem (and the entry points that pick a store's),
:mod:`.object_store` on object stores, :mod:`.checkpoints` the committed stages of multi-stage jobs. No Airflow
imports: the Spark application commits with this package on Spark drivers.
"""
