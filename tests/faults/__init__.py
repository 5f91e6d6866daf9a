"""The fault suite of issue #13: every bad input, damaged file and refused write, command by command.

`cases_*.py` hold the tables (one per command or group of commands); `test_table.py` runs each case the same way;
`kit.py` builds the damaged files the cases use.
"""
