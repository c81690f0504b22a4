package cdk

import (
	"context"
	"log/slog"
	"strconv"
	"strings"

	"github.com/ferrysync/ferry/protocol"
)

// logHandler turns slog records into LOG messages on the connector's
// stdout, where Airbyte expects connector logs. Attributes are appended to
// the message as key=value pairs. Secrets are masked by the output.
type logHandler struct {
	out    *output
	level  slog.Level
	prefix string // pre-rendered attributes from WithAttrs
	group  string
}

func newLogger(out *output, level slog.Level) *slog.Logger {
	return slog.New(&logHandler{out: out, level: level})
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(h.prefix)
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, h.group, a)
		return true
	})
	return h.out.emit(protocol.NewLog(levelName(r.Level), b.String()))
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range attrs {
		writeAttr(&b, h.group, a)
	}
	c.prefix = b.String()
	return &c
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}

func writeAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			writeAttr(b, group+a.Key+".", g)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(group + a.Key)
	b.WriteByte('=')
	v := a.Value.String()
	if strings.ContainsAny(v, " \t\n\"=") {
		v = strconv.Quote(v)
	}
	b.WriteString(v)
}

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return protocol.LevelError
	case l >= slog.LevelWarn:
		return protocol.LevelWarn
	case l >= slog.LevelInfo:
		return protocol.LevelInfo
	}
	return protocol.LevelDebug
}
