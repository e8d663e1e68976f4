copy of tap_builder/runtime/units.py
