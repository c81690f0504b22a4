package daemon

import (
	"os"

	"github.com/ferrysync/ferry/runner/runnertest"
)

// The daemon's tests register the reference connectors at the tag
// runnertest.BuildImage builds them at.
func init() {
	if tag := os.Getenv(runnertest.ImageTagEnv); tag != "" {
		referenceTag = tag
	}
}
