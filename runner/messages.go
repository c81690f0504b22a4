package runner

import (
	"context"
	"sync/atomic"

	"github.com/ferrysync/ferry/clock"
	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
)

// attempt is what the parts of one attempt share: its config, and the
// books each part reports to. The books (ledger, findings, liveness) own
// their state and locks; attempt itself holds nothing that changes.
type attempt struct {
	cfg      *Config
	timeouts Timeouts
	clock    clock.Clock
	log      *AttemptLog
	redact   *secret.Redactor
	catalog  *catalogIndex
	mapper   *nameMapper
	maxLine  int
	ledger   *ledger
	findings *findings
	live     *liveness
	// cancelRun ends the attempt with a cause; set before any part starts.
	cancelRun context.CancelCauseFunc
	// inputFailed is set once the destination's end of input is recorded
	// as failed: its exit and the pump's broken pipe both report it.
	inputFailed atomic.Bool
}

// handle acts on a LOG, TRACE, CONTROL or unexpected message from role.
func (a *attempt) handle(role Role, act action, m *protocol.Message) {
	switch act {
	case actLog:
		a.log.Line(logLevel(role, m.Log.Level, m.Log.Message), string(role), m.Log.Message+stackSuffix(m.Log.StackTrace))
		a.findings.errorLog(role, m.Log)
	case actTrace:
		a.trace(role, m.Trace)
	case actControl:
		a.control(role, m.Control)
	case actUnknown:
		a.log.Printf(protocol.LevelDebug, "ferry", "dropped a message of unknown type %q from the %s", m.Type, role)
	default:
		a.log.Printf(protocol.LevelWarn, "ferry", "dropped an unexpected %s message from the %s", m.Type, role)
	}
}

func stackSuffix(st string) string {
	if st == "" {
		return ""
	}
	return "\n" + st
}

func (a *attempt) trace(role Role, t *protocol.Trace) {
	origin := string(role)
	switch t.Type {
	case protocol.TraceError:
		if t.Error == nil {
			return
		}
		f := failureFromTrace(origin, t, a.redact)
		a.log.Printf(protocol.LevelError, origin, "error trace (%s): %s", f.Type, f.ExternalMessage)
		a.findings.trace(f)
	case protocol.TraceEstimate:
		if t.Estimate != nil && role == RoleSource {
			a.ledger.sourceTrace(&protocol.Trace{Estimate: t.Estimate})
		}
	case protocol.TraceStreamStatus:
		if t.StreamStatus == nil {
			return
		}
		if role == RoleSource {
			a.ledger.sourceTrace(&protocol.Trace{StreamStatus: t.StreamStatus})
		}
		a.log.Printf(protocol.LevelDebug, origin, "stream %s: %s", t.StreamStatus.StreamDescriptor, t.StreamStatus.Status)
	default:
		a.log.Printf(protocol.LevelDebug, origin, "%s trace", t.Type)
	}
}

// control hands a CONTROL config update to the caller at once, so a
// refreshed OAuth token survives a failed attempt (docs/protocol.md 2.4). The
// config is never logged.
func (a *attempt) control(role Role, c *protocol.Control) {
	if c.Type != protocol.ControlConnectorConfigType || c.ConnectorConfig == nil {
		a.log.Printf(protocol.LevelWarn, "ferry", "ignored a CONTROL message of type %q from the %s", c.Type, role)
		return
	}
	// A refreshed credential must be masked like the old one, before any
	// log line could carry it.
	spec := a.cfg.Source.Spec
	if role == RoleDestination {
		spec = a.cfg.Destination.Spec
	}
	if len(spec) > 0 {
		a.redact.Add(secret.Values(spec, c.ConnectorConfig.Config))
	}
	if a.cfg.OnControl == nil {
		a.log.Printf(protocol.LevelWarn, "ferry", "the %s asked to update its config; this run cannot persist it", role)
		return
	}
	if err := a.cfg.OnControl(role, c.ConnectorConfig.Config); err != nil {
		a.log.Printf(protocol.LevelError, "ferry", "could not persist the %s's config update: %v", role, err)
		return
	}
	a.log.Printf(protocol.LevelInfo, "ferry", "persisted a config update from the %s", role)
}
