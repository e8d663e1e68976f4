copy of tap_builder/runtime/jsonio.py
