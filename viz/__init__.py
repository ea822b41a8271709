"""The Solara dashboard: viz/app.py (the page), viz/server.py (serving it), viz/svg.py and viz/views.py
(drawing), viz/session.py (one session's run), viz/i18n.py (English and Chinese).
"""

SCENARIO_ENV = "REGIONSIM_DASHBOARD_SCENARIO"
"""Environment variable through which `regionsim dashboard SCENARIO` tells the page its scenario."""
