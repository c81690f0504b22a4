package cdk

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// EnvCPUProfile names a file prefix: when set, Main writes a CPU profile
// of the command to <prefix>.<command>.prof (<prefix>.read.prof,
// <prefix>.write.prof, ...), for finding where a connector spends its
// time in a real sync. It is a developer's tool; nothing sets it in
// production.
const EnvCPUProfile = "FERRY_CDK_CPUPROFILE"

// StartCPUProfile starts the CPU profile EnvCPUProfile asks for, of the
// command in args, and returns the function that stops and writes it (a
// no-op when none is asked for or it cannot start). Main calls it; a
// connector with its own main calls it too.
func StartCPUProfile(args []string) func() {
	prefix := os.Getenv(EnvCPUProfile)
	if prefix == "" || len(args) == 0 {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s.%s.prof", prefix, args[0]))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", EnvCPUProfile, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", EnvCPUProfile, err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
