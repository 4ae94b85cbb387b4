"""The pieces of dashboards/generate.py: PromQL helpers, panel builders, dashboards, rules, checks."""
