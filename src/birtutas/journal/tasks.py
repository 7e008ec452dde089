"""Background work of the journal: checking and applying a school's CSV import.

On Celery with a broker in production; in-process (CELERY_TASK_ALWAYS_EAGER) where none is
configured, with the same code. Each task is safe to run twice: a job that is no longer in the
state the task expects is left as it is.
"""

from celery import shared_task

from birtutas.kernel.context import Via, acting_via

from . import onboarding


@shared_task
def check_import(job_id: int) -> str:
    with acting_via(Via.IMPORT):
        return onboarding.check_job(job_id).state


@shared_task
def apply_import(job_id: int) -> str:
    with acting_via(Via.IMPORT):
        return onboarding.apply_job(job_id).state
