"""Fault injection: processes killed at chosen events, damaged files, misbehaving mirrors, full disks."""
