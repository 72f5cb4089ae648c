"""The chaos soak (``python -m bench.chaos``, ``billpay chaos``): payments of every bill type,
through every provider and funding method, while the simulators misbehave, processes are
killed and database connections are cut; then every invariant is checked from the
simulators' own records and the database."""
