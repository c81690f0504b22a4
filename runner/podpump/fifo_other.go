//go:build !linux

package podpump

import (
	"errors"
	"os"
)

var errNotLinux = errors.New("the in-pod pump's FIFOs need Linux")

// MakeFIFO is Linux-only.
func MakeFIFO(string) error { return errNotLinux }

// OpenSource is Linux-only.
func OpenSource(string) (*os.File, func(), error) { return nil, nil, errNotLinux }

// OpenDestination is Linux-only.
func OpenDestination(string) (*os.File, func() (int, error), error) { return nil, nil, errNotLinux }

// OpenOutput is Linux-only.
func OpenOutput(string, <-chan struct{}) (*os.File, error) { return nil, errNotLinux }

// OpenInput is Linux-only.
func OpenInput(string, <-chan struct{}) (*os.File, error) { return nil, errNotLinux }

// ErrStopped is Linux-only.
func ErrStopped(error) bool { return false }
