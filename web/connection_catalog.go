package web

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// apply copies the settings present in the request onto c. The store
// validates the result; here only the parsing happens.
func (req *connectionRequest) apply(c *store.Connection) error {
	if req.Name != nil {
		c.Name = *req.Name
	}
	if sc := req.Schedule; sc != nil {
		c.Schedule = store.Schedule{Type: sc.ScheduleType, IntervalSeconds: sc.IntervalSeconds,
			Cron: sc.CronExpression, Timezone: sc.Timezone, MissedRuns: sc.MissedRuns}
		if sc.ScheduleType == scheduleBasic {
			if err := basicSchedule(sc, &c.Schedule); err != nil {
				return err
			}
		}
	}
	if req.NamespaceDefinition != nil {
		c.NamespaceDefinition = protocol.NamespaceDefinition(*req.NamespaceDefinition)
		if *req.NamespaceDefinition == namespaceCustomFormat {
			c.NamespaceDefinition = protocol.NamespaceCustomFormat
		}
	}
	if req.NonBreakingChanges != nil {
		c.NonBreakingChanges = *req.NonBreakingChanges
	}
	if req.DataResidency != nil {
		c.DataResidency = *req.DataResidency
	}
	if req.Tags != nil {
		c.Tags = *req.Tags
		for i := range c.Tags {
			if c.Tags[i].WorkspaceID == "" {
				c.Tags[i].WorkspaceID = c.WorkspaceID
			}
		}
	}
	if req.NamespaceFormat != nil {
		c.NamespaceFormat = *req.NamespaceFormat
	}
	if req.Prefix != nil {
		c.Prefix = *req.Prefix
	}
	if req.Status != nil {
		c.Status = store.ConnectionStatus(*req.Status)
	}
	if t := req.Timeouts; t != nil {
		var err error
		if c.Timeouts.NoProgress, err = parseDuration("timeouts.noProgress", t.NoProgress); err != nil {
			return err
		}
		if c.Timeouts.EndOfInput, err = parseDuration("timeouts.endOfInput", t.EndOfInput); err != nil {
			return err
		}
		if c.Timeouts.MaxAttemptDuration, err = parseDuration("timeouts.maxAttemptDuration", t.MaxAttemptDuration); err != nil {
			return err
		}
		if c.Timeouts.DestinationWrite, err = parseDuration("timeouts.destinationWrite", t.DestinationWrite); err != nil {
			return err
		}
	}
	if req.ForceStdio != nil {
		c.ForceStdio = *req.ForceStdio
	}
	if req.SocketCount != nil {
		n := *req.SocketCount
		c.SocketCount = &n
	}
	if req.NetworkMode != nil {
		c.NetworkMode = *req.NetworkMode
	}
	if req.Bridge != nil {
		c.Bridge = *req.Bridge
	}
	if req.WebhookURL != nil {
		c.WebhookURL = *req.WebhookURL
	}
	if req.WebhookSecret != nil {
		c.WebhookSecret = *req.WebhookSecret
	}
	return nil
}

// basicSchedule reads Airbyte's basic schedule as Ferry's interval one:
// the interval from intervalSeconds when sent, else from basicTiming.
func basicSchedule(sc *scheduleJSON, out *store.Schedule) error {
	out.Type = store.ScheduleInterval
	if sc.IntervalSeconds > 0 {
		return nil
	}
	n, ok := parseBasicTiming(sc.BasicTiming)
	if !ok {
		return &store.ValidationError{Field: "schedule.basicTiming",
			Message: fmt.Sprintf("is %q; a basic schedule needs basicTiming such as \"Every 24 hours\"", sc.BasicTiming)}
	}
	out.IntervalSeconds = n
	return nil
}

// configuredCatalog builds a connection's configured catalog from the
// source's discovered catalog (cached) and the requested streams. Without
// configurations every stream is synced in its default mode, as Airbyte
// does. Each requested stream must be in the catalog, in a mode it
// supports.
func (s *Server) configuredCatalog(ctx context.Context, sourceID string, cfgs *configurationsJSON) (*protocol.ConfiguredCatalog, []store.SelectedFields, error) {
	e, err := s.discover(ctx, sourceID, false)
	if err != nil {
		return nil, nil, notFoundField(err, "sourceId", "names no source")
	}
	out := &protocol.ConfiguredCatalog{}
	if cfgs == nil || len(cfgs.Streams) == 0 {
		for _, st := range e.catalog.Streams {
			out.Streams = append(out.Streams, defaultStream(st))
		}
		return out, nil, nil
	}
	var selected []store.SelectedFields
	for i, sc := range cfgs.Streams {
		field := fmt.Sprintf("configurations.streams[%d]", i)
		st := findStream(e.catalog, protocol.StreamDescriptor{Name: sc.Name, Namespace: sc.Namespace})
		if st == nil {
			return nil, nil, &store.ValidationError{Field: field + ".name",
				Message: fmt.Sprintf("stream %q is not in the source's catalog", sc.Name)}
		}
		cs := defaultStream(*st)
		if sc.SyncMode != "" {
			mode, dest, ok := splitSyncMode(sc.SyncMode)
			if !ok {
				return nil, nil, &store.ValidationError{Field: field + ".syncMode", Message: fmt.Sprintf("unknown sync mode %q", sc.SyncMode)}
			}
			if !st.Supports(mode) {
				return nil, nil, &store.ValidationError{Field: field + ".syncMode",
					Message: fmt.Sprintf("stream %q does not support %s reads", sc.Name, mode)}
			}
			cs.SyncMode, cs.DestinationSyncMode = mode, dest
			cs.CursorField = nil
			if mode == protocol.SyncIncremental {
				cs.CursorField = st.DefaultCursorField
			}
		}
		if len(sc.CursorField) > 0 {
			// The source's own cursor, as a GET shows it, may come back.
			if st.SourceDefinedCursor && !slices.Equal(sc.CursorField, st.DefaultCursorField) {
				return nil, nil, &store.ValidationError{Field: field + ".cursorField",
					Message: fmt.Sprintf("the source defines this stream's cursor (%v)", st.DefaultCursorField)}
			}
			cs.CursorField = sc.CursorField
		}
		if len(sc.PrimaryKey) > 0 {
			cs.PrimaryKey = sc.PrimaryKey
		}
		out.Streams = append(out.Streams, cs)
		if len(sc.SelectedFields) > 0 {
			sf := store.SelectedFields{Stream: st.Descriptor()}
			for j, f := range sc.SelectedFields {
				if len(f.FieldPath) != 1 {
					return nil, nil, &store.ValidationError{Field: fmt.Sprintf("%s.selectedFields[%d].fieldPath", field, j),
						Message: "must name one top-level field"}
				}
				sf.Fields = append(sf.Fields, f.FieldPath[0])
			}
			selected = append(selected, sf)
		}
	}
	return out, selected, nil
}

func findStream(c *protocol.Catalog, d protocol.StreamDescriptor) *protocol.Stream {
	for i := range c.Streams {
		if c.Streams[i].Descriptor() == d {
			return &c.Streams[i]
		}
	}
	return nil
}

// notFoundField turns a not-found of something a request body names into
// a 400 naming the field: the URL was fine, the body was not.
func notFoundField(err error, field, msg string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &store.ValidationError{Field: field, Message: msg}
	}
	return err
}
