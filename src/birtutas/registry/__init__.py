"""Registry: regions, districts, organizations, people by IIN, roles and memberships, school years and terms.

The bottom layer: it imports nothing else of ours, and owns who may see what (`permissions`).
"""
