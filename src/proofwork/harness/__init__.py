"""Trusted code that drives a candidate's service: the recording client, fake upstreams, checks."""
