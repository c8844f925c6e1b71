"""The `fairwatch` command: wires the pipeline (monitor/) to the alert manager (alerting/)."""
