// Package daemon is `ferry serve`: it wires the store, the runner and its
// runtimes into a long-running service with a job queue, a worker pool, a
// scheduler, crash recovery and webhooks. It is the only package that
// knows all of them; web reaches it through the narrow JobController.
//
// A job's life:
//
//   - Trigger (the API), the scheduler or the first start inserts a pending
//     job. The store allows one active (pending, running, incomplete) job
//     per connection, and one running attempt per connection (G7).
//   - The dispatcher claims ready jobs into Workers.Count slots. A claim is
//     one transaction: the job becomes running, an attempt row owned by
//     this process (instance ID, PID, boot ID) is added, and the
//     connection, decrypted configs, committed state and generations are
//     read.
//   - The worker runs runner.Sync. Each destination acknowledgement is
//     committed with the attempt's stats as it arrives; the final state,
//     stats, attempt status and job status are one transaction at the end
//     (G4). The attempt log goes to <data-dir>/logs/<job>/attempt-<n>.log,
//     masked by the runner and capped with head and tail kept, and live to
//     subscribers.
//   - A failed attempt leaves the job incomplete with a retry time from
//     the RetryPolicy (docs/protocol.md 7.3), or failed when the policy says
//     stop or the failure is a config_error (G9). A user cancel ends it
//     cancelled. A shutdown that has to cancel an attempt fails the
//     attempt and leaves the job incomplete, retried at the next start.
//   - A reset job clears the committed state and starts a new generation
//     of every stream; no connector runs.
//
// Statuses are the store's, lowercase as in Airbyte's API: pending,
// running, incomplete (between attempts), succeeded, failed, cancelled.
// Honest status (G11): a job whose attempt succeeded but that committed
// no state, left records uncovered by an acknowledged state, or had a
// stream the source did not report complete is stored as succeeded with
// warnings (see outcome.go): the API and webhooks show it as a partial
// success, never as a plain one.
//
// Recovery (G6): Open fails the attempts an earlier process of this
// instance left running ("daemon restarted"), retries their jobs from the
// committed state, and sweeps the containers and volumes carrying this
// instance's label. The instance ID lives in <data-dir>/instance-id.
package daemon
