"""Bad input, as users and attackers send it: every case must fail cleanly.

See ``cases.py`` for the table and ``conftest.py`` for how cases are run.
"""
