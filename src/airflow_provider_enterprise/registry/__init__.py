"""
The job registry, by concern: the connection and its transactions (:mod:`.connection`), schema migrations
(:mod:`.migrations`), jobs and their attempts (:mod:`.attempts`) and listings (:mod:`.queries`).

:class:`~airflow_provider_enterprise.hooks.metadata.EnterpriseMetadataHook` is all four in one Airflow hook; the
dead-letter queue, the circuit breakers, the audit trail and the other registry services run their statements
through its public :meth:`~.connection.RegistryConnection.transaction`.
"""
