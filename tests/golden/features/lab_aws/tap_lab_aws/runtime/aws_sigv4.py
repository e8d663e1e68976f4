copy of tap_builder/runtime/aws_sigv4.py
