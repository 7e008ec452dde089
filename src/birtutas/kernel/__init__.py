"""What every domain needs and that imports nothing of ours: the acting context, the audit log and
its recording function, error types, notifications, bulk writes, progress of long commands."""
