"""Core: what every page shares — layout, language switch, security headers, sign-in, inbox, health."""
