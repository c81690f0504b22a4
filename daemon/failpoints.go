package daemon

import (
	"github.com/ferrysync/ferry/failpoint"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// The crash tests' failpoints (package failpoint), wired here so that store
// and runner/docker carry plain hooks. In a build without the
// ferry_failpoints tag failpoint.Enabled is false: no hook is installed and
// failpoint.Hit is empty, whatever the environment says.

// failpointStoreOptions pauses the final commit inside its transaction.
func failpointStoreOptions() []store.Option {
	if !failpoint.Enabled {
		return nil
	}
	return []store.Option{store.WithFinalCommitHook(func() { failpoint.Hit(failpoint.FinalCommit) })}
}

// failpointBeforeStart pauses a container between create and start.
func failpointBeforeStart() func(runner.ConnectorSpec) {
	if !failpoint.Enabled {
		return nil
	}
	return func(spec runner.ConnectorSpec) {
		switch spec.Role {
		case runner.RoleSource:
			failpoint.Hit(failpoint.DockerStartSource)
		case runner.RoleDestination:
			failpoint.Hit(failpoint.DockerStartDestination)
		}
	}
}
