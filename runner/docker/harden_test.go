package docker

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"

	"github.com/docker/docker/api/types/mount"
	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/runner"
)

// TestHardening verifies how each hardening level and image translates
// into the container's user, root filesystem, tmpfs and file volumes.
func TestHardening(t *testing.T) {
	strictLabel := map[string]string{runner.LabelHardening: "strict"}
	files := map[string][]byte{"/source/connectorConfig.json": nil, "/source/catalog.json": nil}
	wantLabels := map[string]string{LabelInstance: "inst", LabelRole: "source"}
	strictHost := func(mounts ...mount.Mount) want {
		return want{readOnly: true, tmpfs: map[string]string{"/tmp": "rw,nosuid,nodev,mode=1777"}, mounts: mounts}
	}
	sourceVolume := mount.Mount{Type: mount.TypeVolume, Target: "/source", VolumeOptions: &mount.VolumeOptions{Labels: wantLabels}}
	for _, tc := range []struct {
		name      string
		hardening runner.Hardening
		img       imageConfig
		spec      runner.ConnectorSpec
		want      want
	}{
		{name: "auto without a label is compatible", img: connectorImage,
			spec: runner.ConnectorSpec{Role: runner.RoleSource, Files: files}, want: want{}},
		{name: "auto with the strict label", img: imageConfig{Entrypoint: []string{"/c"}, Labels: strictLabel},
			spec: runner.ConnectorSpec{Role: runner.RoleSource, Files: files},
			want: withUser(strictHost(sourceVolume), runner.StrictUser, "HOME=/tmp")},
		{name: "compatible overrides the label", hardening: runner.HardeningCompatible,
			img:  imageConfig{Entrypoint: []string{"/c"}, Labels: strictLabel},
			spec: runner.ConnectorSpec{Role: runner.RoleSource, Files: files}, want: want{}},
		{name: "strict on an image running as uid 0", hardening: runner.HardeningStrict,
			img:  imageConfig{Entrypoint: []string{"/c"}, User: "0:0"},
			spec: runner.ConnectorSpec{Role: runner.RoleSource, Files: files},
			want: withUser(strictHost(sourceVolume), runner.StrictUser, "HOME=/tmp")},
		{name: "strict keeps the image's non-root user and HOME", hardening: runner.HardeningStrict,
			img:  imageConfig{Entrypoint: []string{"/c"}, User: "airbyte"},
			spec: runner.ConnectorSpec{Role: runner.RoleSource, Files: files},
			want: strictHost(sourceVolume)},
		{name: "strict destination runs as the local root's owner", hardening: runner.HardeningStrict,
			img: imageConfig{Entrypoint: []string{"/c"}, User: "airbyte"},
			spec: runner.ConnectorSpec{Role: runner.RoleSource, LocalRoot: "/srv/local", LocalUser: "1000:1000",
				Env: map[string]string{"HOME": "/home/x"}},
			want: withUser(strictHost(mount.Mount{Type: mount.TypeBind, Source: "/srv/local", Target: "/local"}), "1000:1000", "HOME=/home/x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			spec.Image, spec.Hardening = "img", tc.hardening
			cfg, host, err := containerConfig(spec, tc.img, "inst", runner.Resources{})
			if err != nil {
				t.Fatal(err)
			}
			got := want{user: cfg.User, env: cfg.Env, readOnly: host.ReadonlyRootfs, tmpfs: host.Tmpfs, mounts: host.Mounts}
			if tc.want.env == nil {
				tc.want.env = envList(spec.Env)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// want is what TestHardening checks of a container's settings.
type want struct {
	user     string
	env      []string
	readOnly bool
	tmpfs    map[string]string
	mounts   []mount.Mount
}

func withUser(w want, user string, env ...string) want {
	w.user, w.env = user, env
	return w
}

// TestStrictFileCopies: a strict container's files are copied per
// directory, into that directory's volume, without CopyUIDGID; others get
// one copy at "/" owned by the container's user.
func TestStrictFileCopies(t *testing.T) {
	files := map[string][]byte{"/source/connectorConfig.json": []byte("{}"), "/source/sub/catalog.json": []byte("[]"), "/dest/x.json": []byte("1")}
	copies, err := fileCopies(runner.ConnectorSpec{Files: files}, true)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, fc := range copies {
		if fc.chown {
			t.Errorf("copy to %s asks for CopyUIDGID", fc.dir)
		}
		tr := tar.NewReader(bytes.NewReader(fc.tarball))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got[fc.dir] = append(got[fc.dir], h.Name)
		}
	}
	want := map[string][]string{"/dest": {"x.json"}, "/source": {"sub/", "connectorConfig.json", "sub/catalog.json"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tar entries per directory (-want +got):\n%s", diff)
	}
	plain, err := fileCopies(runner.ConnectorSpec{Files: files}, false)
	if err != nil || len(plain) != 1 || plain[0].dir != "/" || !plain[0].chown {
		t.Errorf("compatible copies: %+v (%v), want one at / with CopyUIDGID", plain, err)
	}
	if _, err := fileCopies(runner.ConnectorSpec{Files: map[string][]byte{"/top.json": nil}}, true); err == nil {
		t.Error("a strict file at / was accepted; it has no directory to be a volume")
	}
}
