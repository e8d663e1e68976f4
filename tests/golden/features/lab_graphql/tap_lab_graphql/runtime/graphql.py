copy of tap_builder/runtime/graphql.py
