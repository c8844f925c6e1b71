"""fairwatch's Grafana dashboards, generated as JSON by ``dashboards/generate.py``: one module per
dashboard (``fleet``, ``model``, ``heatmap``, ``pipeline``), their building blocks (``blocks``) and
the names they may query (``names``). A development tool: not part of the installed package."""
