package runner

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// labelRuntime is a Runtime that only describes images, by their labels.
type labelRuntime struct {
	Runtime
	labels map[string]map[string]string
}

func (r labelRuntime) InspectImage(_ context.Context, image string) (ImageInfo, error) {
	return ImageInfo{ID: image, Labels: r.labels[image]}, nil
}

var _ ImageInspector = labelRuntime{}

// TestMatchSocketHardening: in socket mode two connectors whose levels
// differ (an explicit level or the image's label) both run compatible,
// and the log says why; equal levels and stdio mode are left alone.
func TestMatchSocketHardening(t *testing.T) {
	rt := labelRuntime{labels: map[string]map[string]string{"ferry/strict": {LabelHardening: "strict"}}}
	for _, tc := range []struct {
		name             string
		socket           bool
		src, dst         ConnectorSpec
		wantSrc, wantDst Hardening
		logged           bool
	}{
		{name: "strict label and an unlabelled image", socket: true,
			src: ConnectorSpec{Image: "ferry/strict"}, dst: ConnectorSpec{Image: "airbyte/x"},
			wantSrc: HardeningCompatible, wantDst: HardeningCompatible, logged: true},
		{name: "strict label and explicit strict", socket: true,
			src: ConnectorSpec{Image: "ferry/strict"}, dst: ConnectorSpec{Image: "airbyte/x", Hardening: HardeningStrict},
			wantSrc: HardeningAuto, wantDst: HardeningStrict},
		{name: "explicit compatible against the label", socket: true,
			src: ConnectorSpec{Image: "ferry/strict"}, dst: ConnectorSpec{Image: "ferry/strict", Hardening: HardeningCompatible},
			wantSrc: HardeningCompatible, wantDst: HardeningCompatible, logged: true},
		{name: "stdio mode keeps both", socket: false,
			src: ConnectorSpec{Image: "ferry/strict"}, dst: ConnectorSpec{Image: "airbyte/x"},
			wantSrc: HardeningAuto, wantDst: HardeningAuto},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			a := &attempt{log: NewAttemptLog(&buf, nil)}
			s := &syncRun{attempt: a, rt: rt, path: &stdioPath{}}
			if tc.socket {
				s.path = &socketPath{a: a}
			}
			src, dst := tc.src, tc.dst
			s.matchSocketHardening(context.Background(), &src, &dst)
			if src.Hardening != tc.wantSrc || dst.Hardening != tc.wantDst {
				t.Errorf("source %q, destination %q; want %q, %q", src.Hardening, dst.Hardening, tc.wantSrc, tc.wantDst)
			}
			if got := strings.Contains(buf.String(), "both run compatible"); got != tc.logged {
				t.Errorf("logged %v, want %v: %q", got, tc.logged, buf.String())
			}
		})
	}
}
