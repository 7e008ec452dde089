"""Analytics: aggregate indicators of an area for officers and analysts, never personal data.

Reads every domain and is imported by none. KPI dashboards and the digital-inequality map come later.
"""
