"""The SimPy model: one replication of one scenario -> columnar records."""
