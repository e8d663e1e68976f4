copy of tap_builder/runtime/budget.py
