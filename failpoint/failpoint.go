// Package failpoint marks the moments of a sync that crash tests must hit
// exactly: the test kills `ferry serve` while it is paused at one, instead
// of guessing the moment with sleeps.
//
// A failpoint does nothing unless the binary was built with the build tag
// ferry_failpoints. Only tests build with it (runnertest.BuildBinaryTags);
// `make`, the images and releases never do, so no environment variable can
// make a release build pause. In a tagged build, FERRY_TEST_FAILPOINT names
// the failpoints to pause at, comma-separated, each as name or name@n (pause
// at the n-th hit, counting from 1; plain name is name@1). A paused
// failpoint writes the line
//
//	ferry failpoint: paused at <name>
//
// to stderr and then blocks the goroutine that hit it for good: the test
// waits for that line and kills the process.
//
// This package imports nothing from Ferry, so that any package may call Hit;
// store and runner/docker take hooks instead, which daemon fills with Hit,
// so that they stay free of test machinery.
package failpoint

// Env names the failpoints to pause at in a tagged build.
const Env = "FERRY_TEST_FAILPOINT"

// Marker starts the line a paused failpoint writes to stderr.
const Marker = "ferry failpoint: paused at "

// The failpoints the daemon and its runtime hit, in the order of an
// attempt's life.
const (
	// DockerStartSource is hit after the source's container was created and
	// its files copied in, before it starts.
	DockerStartSource = "docker-start-source"
	// DockerStartDestination is DockerStartSource for the destination.
	DockerStartDestination = "docker-start-destination"
	// CheckpointCommitted is hit after an acknowledged state was committed
	// mid-sync (not the final commit).
	CheckpointCommitted = "checkpoint-committed"
	// BeforeFinish is hit when the runner has returned (the containers are
	// gone, every acknowledged state but the final commit's is committed)
	// and before the attempt's end is recorded.
	BeforeFinish = "before-finish"
	// FinalCommit is hit inside the transaction that records a succeeded
	// attempt, its final state and its job's status, before COMMIT.
	FinalCommit = "final-commit"
	// AfterFinish is hit once the attempt's end is recorded (that
	// transaction committed), before subscribers and webhooks hear of it.
	AfterFinish = "after-finish"
)
