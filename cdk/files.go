package cdk

import (
	"encoding/json"
	"os"

	"github.com/ferrysync/ferry/protocol"
)

// readCatalog loads and validates a --catalog file.
func readCatalog(path string) (*protocol.ConfiguredCatalog, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, SystemError("read catalog file: %w", err)
	}
	var cat protocol.ConfiguredCatalog
	if err := json.Unmarshal(raw, &cat); err != nil {
		return nil, SystemError("catalog file: %w", err)
	}
	if err := cat.Validate(); err != nil {
		return nil, ConfigError("%v", err)
	}
	return &cat, nil
}

// readState loads a --state file; no path means no state.
func readState(path string) ([]*protocol.State, error) {
	if path == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, SystemError("read state file: %w", err)
	}
	states, err := protocol.ParseStateFile(raw)
	if err != nil {
		return nil, SystemError("%v", err)
	}
	return states, nil
}
