"""How the service is started: served, as a worker, from the command line, or embedded in a host."""
