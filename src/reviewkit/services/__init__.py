"""The application layer: service calls that orchestrate the domain and the ports."""
