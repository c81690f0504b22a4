package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"testing"
)

// TestArchive: the docker-save tar holds a manifest naming the tag, a
// config whose entrypoint is /pause, and a layer holding this executable.
func TestArchive(t *testing.T) {
	var buf bytes.Buffer
	if err := writeArchive(&buf, "docker.io/ferry/kube-pause:1"); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(&buf)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[hdr.Name] = b
	}
	var manifest []struct {
		Config           string
		RepoTags, Layers []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json: %v %s", err, files["manifest.json"])
	}
	m := manifest[0]
	if len(m.RepoTags) != 1 || m.RepoTags[0] != "ferry/kube-pause:1" {
		t.Errorf("RepoTags %v, want [ferry/kube-pause:1]", m.RepoTags)
	}
	var config struct {
		Config struct{ Entrypoint []string }
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(files[m.Config], &config); err != nil {
		t.Fatalf("config %s: %v", m.Config, err)
	}
	if len(config.Config.Entrypoint) != 1 || config.Config.Entrypoint[0] != "/pause" || len(config.RootFS.DiffIDs) != 1 {
		t.Errorf("config %s", files[m.Config])
	}
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	layer := tar.NewReader(bytes.NewReader(files[m.Layers[0]]))
	hdr, err := layer.Next()
	if err != nil || hdr.Name != "pause" || hdr.Mode&0o111 == 0 {
		t.Fatalf("layer's first entry %+v: %v", hdr, err)
	}
	if body, _ := io.ReadAll(layer); !bytes.Equal(body, self) {
		t.Error("the layer's /pause is not this executable")
	}
}
