package kube

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/kube/shim"
)

// Paths inside the pod.
const (
	// binDir holds the shim, copied there by the init container.
	binDir = "/ferry-bin"
	// shimPath is the shim inside binDir.
	shimPath = binDir + "/ferry-relay"
	// helperBinary is the relay's path in its image (scripts/build-images.sh).
	helperBinary = "/connector"
)

// member is one container of a pod: a connector, or the pump.
type member struct {
	container string // "source", "destination", "connector" or pumpContainer
	spec      runner.ConnectorSpec
	// stdoutFIFO, stdinFIFO: the connector's stdout or stdin is joined
	// to this FIFO of the pump's (stdio mode with the pump).
	stdoutFIFO, stdinFIFO string
	// pump: the member is stdio mode's pump.
	pump bool
}

// The pump's container and where the FIFOs are.
const (
	pumpContainer = "ferry-pump"
	// fifoDir is where a connector container mounts its FIFO's emptyDir.
	fifoDir = "/ferry-pipe"
	// pumpSourceDir and pumpDestinationDir are where the pump mounts
	// the source's and the destination's.
	pumpSourceDir      = "/ferry-pipe/source"
	pumpDestinationDir = "/ferry-pipe/destination"
)

// containerNameOf is the container name for a role.
func containerNameOf(role runner.Role) string {
	switch role {
	case runner.RoleSource, runner.RoleDestination:
		return string(role)
	}
	return "connector"
}

// podName makes a valid, unique pod name from a spec name: a random suffix,
// since a pod being deleted still holds its name.
func podName(specName string) string {
	var b [3]byte
	rand.Read(b[:]) //nolint:errcheck // never fails
	name := dnsLabel(specName)
	if len(name) > 56 {
		name = strings.TrimRight(name[:56], "-")
	}
	return name + "-" + hex.EncodeToString(b[:])
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsLabel lowercases s and keeps letters, digits and dashes.
func dnsLabel(s string) string {
	s = strings.Trim(notDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if s == "" {
		return "ferry"
	}
	return s
}

var notLabelValue = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// labels turns Ferry's labels into valid Kubernetes labels: keys such as
// io.ferry.instance are valid names; values are cut to 63 characters of
// the allowed set.
func labels(in map[string]string) map[string]string {
	out := make(map[string]string, len(in)+1)
	for k, v := range in {
		v = notLabelValue.ReplaceAllString(v, "_")
		if len(v) > 63 {
			v = v[:63]
		}
		out[k] = strings.Trim(v, "._-")
	}
	out[ManagedByLabel] = "ferry"
	return out
}

// ManagedByLabel marks everything the runtime creates.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// Secret sizes: the API refuses a Secret over 1 MiB, and catalogs can be
// larger, so files are cut into parts and the parts spread over as many
// Secrets as they need.
const (
	partSize     = 512 << 10
	secretBudget = 900 << 10
)

// podFiles are the members' files as Secrets: each file cut into parts,
// each part a key of one Secret, and per container where the shim puts
// the concatenation of which parts.
type podFiles struct {
	secrets []map[string][]byte
	// keys[container][i] are the container's keys in secret i.
	keys map[string]map[int][]string
	// manifest[container] maps a file's path to its parts, as paths
	// relative to shim.FilesDir ("<secret index>/<key>").
	manifest map[string]map[string][]string
}

func collectFiles(members []member) podFiles {
	pf := podFiles{keys: map[string]map[int][]string{}, manifest: map[string]map[string][]string{}}
	size := 0
	for _, m := range members {
		paths := make([]string, 0, len(m.spec.Files))
		for p := range m.spec.Files {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for i, p := range paths {
			body := m.spec.Files[p]
			parts := []string{}
			for j := 0; j == 0 || len(body) > 0; j++ {
				part := body[:min(len(body), partSize)]
				body = body[len(part):]
				if len(pf.secrets) == 0 || size+len(part) > secretBudget {
					pf.secrets = append(pf.secrets, map[string][]byte{})
					size = 0
				}
				n := len(pf.secrets) - 1
				key := fmt.Sprintf("%s-%d-%d", m.container, i, j)
				pf.secrets[n][key] = part
				size += len(part)
				if pf.keys[m.container] == nil {
					pf.keys[m.container] = map[int][]string{}
				}
				pf.keys[m.container][n] = append(pf.keys[m.container][n], key)
				parts = append(parts, fmt.Sprintf("%d/%s", n, key))
			}
			if pf.manifest[m.container] == nil {
				pf.manifest[m.container] = map[string][]string{}
			}
			pf.manifest[m.container][path.Clean(p)] = parts
		}
	}
	return pf
}

// secretName is the name of the pod's i-th Secret.
func secretName(pod string, i int) string { return fmt.Sprintf("%s-%d", pod, i) }

// buildPod returns the pod of members, whose files are in pf's Secrets.
func (r *Runtime) buildPod(name string, members []member, pf podFiles) *corev1.Pod {
	no := false
	grace := int64(0)
	lbl := map[string]string{}
	for _, m := range members {
		for k, v := range m.spec.Labels {
			if k != "io.ferry.role" {
				lbl[k] = v
			}
		}
		if t := int64(stopTimeout(m.spec).Seconds()); t > grace {
			grace = t
		}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: r.opts.Namespace, Labels: labels(lbl)},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  &no,
			EnableServiceLinks:            &no,
			TerminationGracePeriodSeconds: &grace,
			Volumes: []corev1.Volume{{Name: "ferry-bin", VolumeSource: corev1.VolumeSource{
				EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			InitContainers: []corev1.Container{{
				Name: "ferry-shim", Image: r.opts.HelperImage, ImagePullPolicy: r.opts.PullPolicy,
				Command:         []string{helperBinary, "install", binDir},
				VolumeMounts:    []corev1.VolumeMount{{Name: "ferry-bin", MountPath: binDir}},
				SecurityContext: restricted(),
			}},
		},
	}
	for _, m := range members {
		if m.pump {
			pod.Spec.Volumes = append(pod.Spec.Volumes,
				corev1.Volume{Name: "pipe-source", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				corev1.Volume{Name: "pipe-destination", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
			pod.Spec.Containers = append(pod.Spec.Containers, r.pumpContainer(m))
			continue
		}
		// Each container sees only its own files: per Secret, a volume
		// projecting that container's keys.
		idx := make([]int, 0, len(pf.keys[m.container]))
		for i := range pf.keys[m.container] {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			items := make([]corev1.KeyToPath, 0, len(pf.keys[m.container][i]))
			for _, k := range pf.keys[m.container][i] {
				items = append(items, corev1.KeyToPath{Key: k, Path: k})
			}
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: fmt.Sprintf("files-%s-%d", m.container, i),
				VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secretName(name, i), Items: items}}})
		}
		if m.spec.SocketVolume != "" && !hasVolume(pod, "sockets") {
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "sockets", VolumeSource: corev1.VolumeSource{
				EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}})
		}
		if m.spec.LocalRoot != "" && !hasVolume(pod, "local") {
			pod.Spec.Volumes = append(pod.Spec.Volumes, localVolume(m.spec.LocalRoot))
		}
		if m.spec.NetworkMode == "host" {
			pod.Spec.HostNetwork = true
		}
		if m.spec.Hardening == runner.HardeningStrict {
			strictVolumes(pod, m, pf)
		}
		pod.Spec.Containers = append(pod.Spec.Containers, r.container(m, pf))
	}
	return pod
}

func hasVolume(pod *corev1.Pod, name string) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Name == name {
			return true
		}
	}
	return false
}

// localVolume is the destination's /local: a PersistentVolumeClaim by
// name, or, for an absolute path, that directory on the node (useful on a
// single-node cluster only).
func localVolume(root string) corev1.Volume {
	if strings.HasPrefix(root, "/") {
		t := corev1.HostPathDirectoryOrCreate
		return corev1.Volume{Name: "local", VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: root, Type: &t}}}
	}
	return corev1.Volume{Name: "local", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: root}}}
}

// container is one connector's container: the shim runs first and starts
// the connector once Ferry's attach stands.
func (r *Runtime) container(m member, pf podFiles) corev1.Container {
	cmd := []string{shimPath, "shim"}
	switch {
	case m.stdinFIFO != "":
		cmd = append(cmd, "--stdin-fifo", m.stdinFIFO)
	case m.spec.OpenStdin:
		cmd = append(cmd, "--stdin")
	}
	if m.stdoutFIFO != "" {
		cmd = append(cmd, "--stdout-fifo", m.stdoutFIFO)
	}
	cmd = append(append(cmd, "--"), m.spec.Args...)
	c := corev1.Container{
		Name: m.container, Image: m.spec.Image, ImagePullPolicy: r.opts.PullPolicy,
		Command: cmd, WorkingDir: m.spec.WorkDir,
		// stdin is always attached: the start line travels on it.
		Stdin: true, StdinOnce: true,
		VolumeMounts:    []corev1.VolumeMount{{Name: "ferry-bin", MountPath: binDir, ReadOnly: true}},
		SecurityContext: restricted(),
		Resources:       resources(m.spec.Resources),
	}
	keys := make([]string, 0, len(m.spec.Env))
	for k := range m.spec.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: m.spec.Env[k]})
	}
	if len(m.spec.Entrypoint) > 0 {
		// The definition's entrypoint: the images carry no shell and the
		// cluster cannot be asked for their config, so the shim learns the
		// command here (or from the image's AIRBYTE_ENTRYPOINT without it).
		b, _ := json.Marshal(m.spec.Entrypoint) //nolint:errchkjson // a slice of strings
		c.Env = append(c.Env, corev1.EnvVar{Name: shim.EntrypointEnv, Value: string(b)})
	}
	if files := pf.manifest[m.container]; len(files) > 0 {
		b, _ := json.Marshal(files) //nolint:errchkjson // maps of strings
		c.Env = append(c.Env, corev1.EnvVar{Name: shim.FilesEnv, Value: string(b)})
		idx := make([]int, 0, len(pf.keys[m.container]))
		for i := range pf.keys[m.container] {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: fmt.Sprintf("files-%s-%d", m.container, i),
				MountPath: fmt.Sprintf("%s/%d", shim.FilesDir, i), ReadOnly: true})
		}
	}
	if m.spec.SocketVolume != "" {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "sockets", MountPath: runner.SocketDir})
	}
	switch {
	case m.stdoutFIFO != "":
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "pipe-source", MountPath: fifoDir})
	case m.stdinFIFO != "":
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "pipe-destination", MountPath: fifoDir})
	}
	if m.spec.Hardening == runner.HardeningStrict {
		strict(&c, m, pf)
	}
	if m.spec.LocalRoot != "" {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "local", MountPath: runner.LocalDir})
	}
	return c
}

// pumpContainer is stdio mode's pump: Ferry's helper image, as a
// non-root user on a read-only root, with no file but the two FIFOs'
// directories. Its stdin and stdout carry Ferry's frames.
func (r *Runtime) pumpContainer(m member) corev1.Container {
	c := corev1.Container{
		Name: pumpContainer, Image: r.opts.HelperImage, ImagePullPolicy: r.opts.PullPolicy,
		Command: []string{helperBinary, "pump", pumpSourceDir + "/stdout", pumpDestinationDir + "/stdin"},
		Stdin:   true, StdinOnce: true,
		VolumeMounts: []corev1.VolumeMount{
			{Name: "pipe-source", MountPath: pumpSourceDir},
			{Name: "pipe-destination", MountPath: pumpDestinationDir},
		},
		SecurityContext: restricted(),
		Resources:       resources(m.spec.Resources),
	}
	uid, gid := parseUser(runner.StrictUser)
	yes := true
	c.SecurityContext.RunAsUser, c.SecurityContext.RunAsGroup = &uid, &gid
	c.SecurityContext.RunAsNonRoot = &yes
	c.SecurityContext.ReadOnlyRootFilesystem = &yes
	return c
}

// restricted is the containers' security context: no capabilities and no
// privilege escalation, as on the Docker runtime.
func restricted() *corev1.SecurityContext {
	no := false
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: &no,
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

// resources are the connector's limits. Requests equal limits (the
// scheduler reserves what the connector may use); the pids limit is the
// node's setting on Kubernetes.
func resources(res runner.Resources) corev1.ResourceRequirements {
	if res == (runner.Resources{}) {
		res = runner.DefaultResources
	}
	lim := corev1.ResourceList{}
	if res.MemoryBytes > 0 {
		lim[corev1.ResourceMemory] = *resource.NewQuantity(res.MemoryBytes, resource.BinarySI)
	}
	if res.CPUs > 0 {
		lim[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(res.CPUs*1000), resource.DecimalSI)
	}
	if len(lim) == 0 {
		return corev1.ResourceRequirements{}
	}
	return corev1.ResourceRequirements{Limits: lim}
}

func stopTimeout(spec runner.ConnectorSpec) time.Duration {
	if spec.StopTimeout > 0 {
		return spec.StopTimeout
	}
	return runner.DefaultStopTimeout
}

// strict locks a container down as runner.HardeningStrict asks: a
// non-root user (the local root's writer when the connector has /local,
// else runner.StrictUser), a read-only root filesystem, and writable
// emptyDirs where a connector must write: /tmp (HOME points there), its
// working directory and the directories its files go to. The volumes are
// added to the pod by strictVolumes. Only an explicit strict applies: the
// image's label, which "auto" follows on Docker, cannot be read here.
func strict(c *corev1.Container, m member, pf podFiles) {
	uid, gid := parseUser(runner.StrictUser)
	if m.spec.LocalRoot != "" && m.spec.LocalUser != "" {
		uid, gid = parseUser(m.spec.LocalUser)
	}
	yes := true
	c.SecurityContext.RunAsUser, c.SecurityContext.RunAsGroup = &uid, &gid
	c.SecurityContext.RunAsNonRoot = &yes
	c.SecurityContext.ReadOnlyRootFilesystem = &yes
	c.Env = append(c.Env, corev1.EnvVar{Name: "HOME", Value: "/tmp"})
	for i, dir := range writableDirs(m, pf) {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: fmt.Sprintf("w-%s-%d", m.container, i), MountPath: dir})
	}
}

// writableDirs are the directories a strict container gets an emptyDir
// at, in a stable order: /tmp, its working directory, its files' dirs.
func writableDirs(m member, pf podFiles) []string {
	seen := map[string]bool{}
	var out []string
	add := func(d string) {
		if d != "" && d != "/" && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	add("/tmp")
	add(path.Clean(m.spec.WorkDir))
	paths := make([]string, 0, len(pf.manifest[m.container]))
	for p := range pf.manifest[m.container] {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		add(path.Dir(p))
	}
	return out
}

// strictVolumes adds the emptyDirs of a strict member's writable dirs.
func strictVolumes(pod *corev1.Pod, m member, pf podFiles) {
	for i := range writableDirs(m, pf) {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: fmt.Sprintf("w-%s-%d", m.container, i),
			VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	}
}

// parseUser reads "uid:gid"; anything else is StrictUser's ids.
func parseUser(s string) (uid, gid int64) {
	uid, gid = 65532, 65532
	u, g, ok := strings.Cut(s, ":")
	if !ok {
		return uid, gid
	}
	if n, err := strconv.ParseInt(u, 10, 64); err == nil && n > 0 {
		uid = n
	}
	if n, err := strconv.ParseInt(g, 10, 64); err == nil && n > 0 {
		gid = n
	}
	return uid, gid
}
