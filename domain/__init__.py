"""Pure models of the real-time service: standard library only, no I/O, time passed in."""
