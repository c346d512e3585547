"""Scripts that run a spotter's own code in that code's environment (``python:``).

Each is started as a subprocess with cwd = the spotter's repository; its top level
imports only the standard library, so the harness can read (and test) it anywhere.
"""
