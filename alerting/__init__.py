"""fairwatch's alert manager: rules, alert lifecycle, routing and receivers."""
