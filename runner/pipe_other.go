//go:build !linux

package runner

import "os"

// growPipe is Linux-only.
func growPipe(*os.File) {}

// unreadBytes is Linux-only; elsewhere it reports nothing.
func unreadBytes(*os.File) int { return 0 }
