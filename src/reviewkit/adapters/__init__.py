"""Reference implementations of the ports in :mod:`reviewkit.ports`."""
