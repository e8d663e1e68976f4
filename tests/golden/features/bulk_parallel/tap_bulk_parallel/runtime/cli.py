copy of tap_builder/runtime/cli.py
