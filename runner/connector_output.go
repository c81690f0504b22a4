package runner

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ferrysync/ferry/protocol"
)

// Output is what a spec, check or discover run said besides its answer.
type Output struct {
	Status ExitStatus
	// Logs holds the last maxCommandLogs LOG messages, with stdout lines
	// that were not protocol messages turned into logs.
	Logs []protocol.Log
	// Errors holds the ERROR traces, in order (at most maxCommandTraces).
	Errors []protocol.ErrorTrace
	// Config is the replacement config of the last CONTROL message, if
	// any: Airbyte stores it when it differs from the one sent.
	Config json.RawMessage
	// StderrTail is the end of stderr (at most commandStderrBytes).
	StderrTail string
}

const (
	maxCommandLogs     = 500
	maxCommandTraces   = 100
	commandStderrBytes = 8 << 10
	// commandMessageTail is how much of stderr goes into an error message.
	commandMessageTail = 500
)

// ConnectorError reports a connector that failed a command: the
// connector's failure, shown to users, as opposed to Ferry failing to run
// it. Message follows docs/protocol.md 1.5.
type ConnectorError struct {
	Image   string
	Command string
	Message string
	// FailureType comes from the ERROR trace the message was taken from
	// (config_error, system_error, transient_error), or is empty.
	FailureType string
	Output      Output
}

func (e *ConnectorError) Error() string {
	return fmt.Sprintf("%s %s failed: %s", e.Image, e.Command, e.Message)
}

// errorLogLines is how many of a failed command's error log lines its
// error offers (LastErrorLogs).
const errorLogLines = 5

// InternalMessage is the internal_message of the command's first ERROR
// trace, if any: the cause a generic message hides. Not masked.
func (e *ConnectorError) InternalMessage() string {
	if len(e.Output.Errors) == 0 {
		return ""
	}
	return e.Output.Errors[0].InternalMessage
}

// LastErrorLogs are the command's last ERROR and FATAL log lines
// (ErrorLogTail). Not masked.
func (e *ConnectorError) LastErrorLogs() []string {
	return ErrorLogTail(e.Output.Logs, errorLogLines)
}

// judgeCommand decides whether a finished command run failed. Like Airbyte's
// connector sidecar, an answer with exit code 0 wins, even next to an ERROR
// trace; without an answer, or with a non-zero exit, the run failed.
func judgeCommand(image, command string, answer *protocol.Message, out Output) error {
	if out.Status.Success() && answer != nil {
		return nil
	}
	e := &ConnectorError{Image: image, Command: command, Output: out}
	var status *protocol.ConnectionStatus
	if answer != nil {
		status = answer.ConnectionStatus
	}
	switch {
	case status != nil && status.Status == protocol.StatusFailed && status.Message != "":
		e.Message = status.Message
	case len(out.Errors) > 0:
		t := out.Errors[0]
		e.Message, e.FailureType = cmp.Or(t.Message, t.InternalMessage, "error trace without a message"), t.FailureType
	case out.Status.Success():
		e.Message = "exited successfully without an output"
	default:
		e.Message = out.Status.String()
	}
	if len(out.Errors) == 0 && (status == nil || status.Status != protocol.StatusFailed) {
		if tail := commandTailText(strings.TrimSpace(out.StderrTail), commandMessageTail); tail != "" {
			e.Message += "; stderr: " + tail
		}
	}
	return e
}

// commandTailText keeps the end of s, starting at a line when it can.
func commandTailText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		return s[i+1:]
	}
	return "..." + s
}

// commandCollector reads a command's stdout and keeps what Output needs.
type commandCollector struct {
	want   []protocol.Type
	answer *protocol.Message
	logs   []protocol.Log
	errors []protocol.ErrorTrace
	config json.RawMessage
	stderr *commandTail
}

func newCommandCollector(want []protocol.Type) *commandCollector {
	return &commandCollector{want: want, stderr: &commandTail{max: commandStderrBytes}}
}

// read consumes r to its end. It never stops early: on a read error it
// drains r, so the connector is never blocked on a full stdout.
func (c *commandCollector) read(r io.Reader) {
	defer io.Copy(io.Discard, r)
	lr := protocol.NewReader(r, 0)
	for {
		line, err := lr.ReadLine()
		var tooLong *protocol.LineTooLongError
		switch {
		case errors.As(err, &tooLong):
			c.log(protocol.Log{Level: protocol.LevelWarn, Message: "stdout: " + tooLong.Error()})
			continue
		case err != nil:
			return
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		m, err := protocol.Decode(line)
		if err != nil {
			c.log(*protocol.NonProtocolLog("connector", line))
			continue
		}
		c.message(m)
	}
}

func (c *commandCollector) message(m *protocol.Message) {
	switch {
	case c.answer == nil && slices.Contains(c.want, m.Type):
		c.answer = m
	case m.Type == protocol.TypeLog:
		c.log(*m.Log)
	case m.Type == protocol.TypeTrace && m.Trace.Error != nil:
		if len(c.errors) < maxCommandTraces {
			c.errors = append(c.errors, *m.Trace.Error)
		}
	case m.Type == protocol.TypeControl && m.Control.ConnectorConfig != nil:
		c.config = m.Control.ConnectorConfig.Config
	}
}

func (c *commandCollector) log(l protocol.Log) {
	if len(c.logs) == maxCommandLogs {
		c.logs = slices.Delete(c.logs, 0, 1)
	}
	c.logs = append(c.logs, l)
}

func (c *commandCollector) output(status ExitStatus) Output {
	return Output{Status: status, Logs: c.logs, Errors: c.errors, Config: c.config, StderrTail: c.stderr.String()}
}

// commandTail keeps the last max bytes written to it.
type commandTail struct {
	max int
	buf []byte
}

func (w *commandTail) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	if len(w.buf) > 2*w.max {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-w.max:]...)
	}
	return len(p), nil
}

func (w *commandTail) String() string {
	if len(w.buf) > w.max {
		return string(w.buf[len(w.buf)-w.max:])
	}
	return string(w.buf)
}
