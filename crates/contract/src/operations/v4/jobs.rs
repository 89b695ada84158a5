//! The batch jobs' operations.

use crate::operations::*;

/// The batch jobs: create, watch, retry, list, status, stop.
pub(super) fn jobs(b: &mut Builder) {
    for t in BatchType::ALL {
        b.add(
            "post",
            &format!("/batch/{}", t.as_str()),
            &format!("createBatch{}", {
                let c = camel(t);
                c[..1].to_ascii_uppercase() + &c[1..]
            }),
            "Batch jobs",
            &format!("Create a `{}` job", t.as_str()),
            Keys::Secret,
            Some(batch_schema_name(t)),
            (200, "JobCreated", "The job is stored with all its items; it runs in the background."),
        )
        .param(idempotency_key())
        .refuses(&[409, 429])
        .links(&[
            ("getJob", "jobId", "$response.body#/jobId"),
            ("getJobStatus", "jobId", "$response.body#/jobId"),
            ("stopJob", "jobId", "$response.body#/jobId"),
        ])
        .describe(
            "The body is checked as a whole (JSON, `body` a non-empty array of at most the item limit); \
             the items themselves are checked when the job runs, and each fails alone with its own code.",
        );
        let _ = item_schema_name(t);
    }
    b.add(
        "get",
        "/batch/{jobId}/events",
        "getJobEvents",
        "Batch jobs",
        "A job's progress as Server-Sent Events",
        Keys::Secret,
        None,
        (
            200,
            "text/event-stream",
            "`event: progress` (`id`: items processed; `data`: `JobProgress`) whenever the counts change, then one `event: completed|failed|stopped` (`id: final`; `data`: the status without `response`), and the stream ends. `Last-Event-ID` resumes.",
        ),
    )
    .param(job_id())
    .param(json!({"name": "Last-Event-ID", "in": "header", "required": false,
        "description": "The id of the last event received: only later ones are sent.",
        "schema": {"type": "string"}}))
    .refuses(&[404]);
    b.add(
        "post",
        "/batch/{jobId}/retry",
        "retryJobFailures",
        "Batch jobs",
        "A new job of a finished job's failed items",
        Keys::Secret,
        None,
        (
            200,
            "JobCreated",
            "The job of the failed items (their original texts, in order); asked again, the same job.",
        ),
    )
    .param(job_id())
    .refuses(&[404, 409, 429])
    .links(&[("getJob", "jobId", "$response.body#/jobId")])
    .describe(
        "Idempotent per job: the first call creates the job, later calls answer it. \
         409/4009 while the job is queued or running, when none of its items failed, \
         or when its items are no longer kept (a job's item texts are kept while it is, \
         when some failed).",
    );
    b.add(
        "get",
        "/batch",
        "listJobs",
        "Batch jobs",
        "List the tenant's jobs, newest first",
        Keys::Secret,
        None,
        (200, "JobList", "A page of jobs (without their results)."),
    )
    .param(query(
        "status",
        "Only jobs in this state.",
        json!({"type": "string", "enum": ["queued", "running", "completed", "failed", "stopped"]}),
    ))
    .param(query(
        "type",
        "Only jobs of this batch type.",
        json!({"type": "string", "enum": BatchType::ALL.map(BatchType::as_str)}),
    ))
    .param(query(
        "limit",
        "Jobs per page (default 50).",
        json!({"type": "integer", "minimum": 1, "maximum": 200}),
    ))
    .param(query(
        "after",
        "The `next` of the previous page.",
        json!({"type": "integer", "format": "int64"}),
    ))
    .refuses(&[422]);
    for (path, id) in [
        ("/batch/{jobId}", "getJob"),
        ("/batches/{jobId}/status", "getJobStatus"),
    ] {
        b.add("get", path, id, "Batch jobs", "A job's status and per-item results", Keys::Secret, None,
            (200, "JobStatus", "The job; `response` holds the results of the items processed so far, in submission order."))
            .param(job_id())
            .refuses(&[404]);
    }
    for (method, path, id) in [
        ("delete", "/batch/{jobId}", "stopJob"),
        ("post", "/batches/{jobId}/stop", "stopJobByPost"),
    ] {
        b.add(
            method,
            path,
            id,
            "Batch jobs",
            "Stop a queued or running job",
            Keys::Secret,
            None,
            (
                200,
                "JobStopped",
                "Stopped: items not yet processed never run; processed ones keep their results.",
            ),
        )
        .param(job_id())
        .refuses(&[404, 409]);
    }
}
