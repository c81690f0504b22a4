package smoke

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// message is the part of an Airbyte protocol message the tests read.
type message struct {
	Type string `json:"type"`
	Spec *struct {
		ConnectionSpecification struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"connectionSpecification"`
	} `json:"spec"`
	State *struct {
		SourceStats      *struct{ RecordCount float64 } `json:"sourceStats"`
		DestinationStats *struct{ RecordCount float64 } `json:"destinationStats"`
	} `json:"state"`
}

func messages(t *testing.T, out []byte) []message {
	t.Helper()
	var ms []message
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m message
		if json.Unmarshal(sc.Bytes(), &m) == nil && m.Type != "" {
			ms = append(ms, m)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestSpecPod runs `spec` in a one-container pod and reads the connector's
// specification back from the pod's log.
func TestSpecPod(t *testing.T) {
	cs, ns := cluster(t)
	pod := runPod(t, cs, ns, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "spec"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{connector("source", "source-faker", "spec")}},
	})
	if pod.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("pod phase %s, want Succeeded: %+v", pod.Status.Phase, pod.Status.ContainerStatuses)
	}
	out := logs(t, cs, ns, pod.Name, "source")
	for _, m := range messages(t, out) {
		if m.Type == "SPEC" && m.Spec != nil {
			if _, ok := m.Spec.ConnectionSpecification.Properties["count"]; !ok {
				t.Fatalf("source-faker's spec has no count property: %s", out)
			}
			return
		}
	}
	t.Fatalf("no SPEC message in the pod's log:\n%s", out)
}

const (
	syncRecords = 2000
	socketDir   = "/var/run/sockets"
)

// TestSocketSyncPod runs a faker -> jsonl sync in socket mode as one pod:
// both connectors share a Memory emptyDir at /var/run/sockets, their
// configs and catalog come from a Secret, and the records are counted in
// the states both sides print (the source's sourceStats, the
// destination's destinationStats once its records are written).
func TestSocketSyncPod(t *testing.T) {
	cs, ns := cluster(t)
	catalog := `{"streams":[{"stream":{"name":"users","json_schema":{"type":"object"},"supported_sync_modes":["full_refresh","incremental"]},"sync_mode":"full_refresh","destination_sync_mode":"append"}]}`
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sync-config"},
		StringData: map[string]string{
			"source.json":      fmt.Sprintf(`{"count":%d,"seed":7}`, syncRecords),
			"destination.json": `{"destination_path":"/local/out"}`,
			"catalog.json":     catalog,
		},
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(t.Context(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create secret: %v", err)
	}
	env := []corev1.EnvVar{
		{Name: "DATA_CHANNEL_MEDIUM", Value: "SOCKET"},
		{Name: "DATA_CHANNEL_FORMAT", Value: "JSONL"},
		{Name: "DATA_CHANNEL_SOCKET_PATHS", Value: socketDir + "/ferry-0.sock," + socketDir + "/ferry-1.sock"},
		{Name: "FERRY_SOCKET_CONNECT_TIMEOUT", Value: "60s"},
	}
	mounts := []corev1.VolumeMount{
		{Name: "sockets", MountPath: socketDir},
		{Name: "config", MountPath: "/config", ReadOnly: true},
	}
	src := connector("source", "source-faker", "read", "--config", "/config/source.json", "--catalog", "/config/catalog.json")
	dst := connector("destination", "destination-jsonl", "write", "--config", "/config/destination.json", "--catalog", "/config/catalog.json")
	src.Env, dst.Env = env, env
	src.VolumeMounts = mounts
	dst.VolumeMounts = append(mounts, corev1.VolumeMount{Name: "local", MountPath: "/local"})
	memory := resource.MustParse("64Mi")
	pod := runPod(t, cs, ns, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sync", Labels: map[string]string{"io.ferry.role": "sync"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{src, dst},
			Volumes: []corev1.Volume{
				{Name: "sockets", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &memory}}},
				{Name: "local", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "config", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret.Name}}},
			},
		},
	})
	srcOut := logs(t, cs, ns, pod.Name, "source")
	dstOut := logs(t, cs, ns, pod.Name, "destination")
	if pod.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("pod phase %s, want Succeeded: %+v\n--- source\n%s\n--- destination\n%s", pod.Status.Phase, pod.Status.ContainerStatuses, srcOut, dstOut)
	}
	var sent, written float64
	for _, m := range messages(t, srcOut) {
		if m.Type == "STATE" && m.State != nil && m.State.SourceStats != nil {
			sent += m.State.SourceStats.RecordCount
		}
	}
	for _, m := range messages(t, dstOut) {
		if m.Type == "STATE" && m.State != nil && m.State.DestinationStats != nil {
			written += m.State.DestinationStats.RecordCount
		}
	}
	if sent != syncRecords || written != syncRecords {
		t.Fatalf("source sent %v records and the destination wrote %v, want %d each\n--- source\n%s\n--- destination\n%s", sent, written, syncRecords, srcOut, dstOut)
	}
}
