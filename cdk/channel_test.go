package cdk

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestChannelFromEnv covers the data channel settings: STDIO by default,
// case-insensitive values, required paths, and the timeout forms.
func TestChannelFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    channelConfig
		wantErr string
	}{
		{name: "unset is stdio", env: map[string]string{},
			want: channelConfig{medium: MediumStdio, format: FormatJSONL, timeout: DefaultSocketTimeout}},
		{name: "stdio ignores the rest", env: map[string]string{EnvMedium: "stdio", EnvFormat: "PROTOBUF"},
			want: channelConfig{medium: MediumStdio, format: FormatProtobuf, timeout: DefaultSocketTimeout}},
		{name: "socket", env: map[string]string{EnvMedium: "Socket", EnvFormat: "protobuf", EnvSocketPaths: "/a.sock, /b.sock,"},
			want: channelConfig{medium: MediumSocket, format: FormatProtobuf, paths: []string{"/a.sock", "/b.sock"}, timeout: DefaultSocketTimeout}},
		{name: "socket defaults to JSONL", env: map[string]string{EnvMedium: "SOCKET", EnvSocketPaths: "/a.sock", EnvSocketTimeout: "90"},
			want: channelConfig{medium: MediumSocket, format: FormatJSONL, paths: []string{"/a.sock"}, timeout: 90 * time.Second}},
		{name: "duration timeout", env: map[string]string{EnvMedium: "SOCKET", EnvSocketPaths: "/a.sock", EnvSocketTimeout: "250ms"},
			want: channelConfig{medium: MediumSocket, format: FormatJSONL, paths: []string{"/a.sock"}, timeout: 250 * time.Millisecond}},
		{name: "Ferry confirms COMPLETE on stdin", env: map[string]string{EnvMedium: "SOCKET", EnvSocketPaths: "/a.sock", EnvCompleteOnStdin: "true"},
			want: channelConfig{medium: MediumSocket, format: FormatJSONL, paths: []string{"/a.sock"}, timeout: DefaultSocketTimeout, confirm: true}},
		{name: "unknown medium", env: map[string]string{EnvMedium: "PIGEON"}, wantErr: "want STDIO or SOCKET"},
		{name: "bad confirmation flag", env: map[string]string{EnvMedium: "SOCKET", EnvSocketPaths: "/a", EnvCompleteOnStdin: "maybe"}, wantErr: "want true or false"},
		{name: "unknown format", env: map[string]string{EnvMedium: "SOCKET", EnvFormat: "XML", EnvSocketPaths: "/a"}, wantErr: "want JSONL or PROTOBUF"},
		{name: "no paths", env: map[string]string{EnvMedium: "SOCKET"}, wantErr: "needs DATA_CHANNEL_SOCKET_PATHS"},
		{name: "duplicate path", env: map[string]string{EnvMedium: "SOCKET", EnvSocketPaths: "/a,/a"}, wantErr: "twice"},
		{name: "bad timeout", env: map[string]string{EnvMedium: "SOCKET", EnvSocketPaths: "/a", EnvSocketTimeout: "soon"}, wantErr: "duration"},
		{name: "zero timeout", env: map[string]string{EnvMedium: "SOCKET", EnvSocketPaths: "/a", EnvSocketTimeout: "0"}, wantErr: "positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			useEnv(t, tt.env)
			got, err := channelFromEnv()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, *got, cmp.AllowUnexported(channelConfig{})); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
