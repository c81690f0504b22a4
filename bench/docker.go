package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cgroupRoot is where Docker's cgroupfs driver puts each container's
// cpuacct group on cgroup v1; cgroup2Root is the same on cgroup v2.
const (
	cgroupRoot  = "/sys/fs/cgroup/cpuacct/docker"
	cgroup2Root = "/sys/fs/cgroup/system.slice"
)

// containerCPU follows the CPU of the containers of one run: those that
// appear while it watches and run an image with the bench's tag (other
// checkouts share the engine). A container's group vanishes when it
// exits, so the watcher samples every 20 ms and keeps each one's last
// reading; the tail it can miss is at most one interval per container.
type containerCPU struct {
	tag    string
	images map[string]bool // the IDs of ferry/*:tag: Ferry creates containers from image IDs
	before map[string]bool
	stop   chan struct{}
	done   chan struct{}

	classifying sync.WaitGroup

	mu    sync.Mutex
	usage map[string]float64 // container id -> CPU seconds last seen
	ours  map[string]bool    // container id -> runs one of our images
}

func watchContainers(tag string) *containerCPU {
	w := &containerCPU{tag: tag, images: map[string]bool{}, before: map[string]bool{}, stop: make(chan struct{}),
		done: make(chan struct{}), usage: map[string]float64{}, ours: map[string]bool{}}
	out, _ := exec.Command("docker", "image", "ls", "--no-trunc", "--format", "{{.ID}}", "--filter", "reference=ferry/*:"+tag).Output()
	for _, id := range strings.Fields(string(out)) {
		w.images[id] = true
	}
	for _, id := range listGroups() {
		w.before[id] = true
	}
	go w.loop()
	return w
}

func (w *containerCPU) loop() {
	defer close(w.done)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		for _, id := range listGroups() {
			if w.before[id] {
				continue
			}
			secs, ok := groupCPU(id)
			if !ok {
				continue
			}
			w.mu.Lock()
			_, seen := w.usage[id]
			w.usage[id] = secs
			w.mu.Unlock()
			if !seen {
				w.classifying.Add(1)
				go w.classify(id)
			}
		}
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
}

// classify asks the engine which image a new container runs: one of
// ours by ID (as Ferry creates them) or by name (docker run).
func (w *containerCPU) classify(id string) {
	defer w.classifying.Done()
	out, err := exec.Command("docker", "inspect", "-f", "{{.Image}} {{.Config.Image}}", id).Output()
	f := strings.Fields(string(out))
	ours := err == nil && len(f) == 2 && (w.images[f[0]] ||
		strings.HasPrefix(f[1], "ferry/") && strings.HasSuffix(f[1], ":"+w.tag))
	w.mu.Lock()
	w.ours[id] = ours
	w.mu.Unlock()
}

// total stops the watcher and returns the CPU seconds of our containers.
func (w *containerCPU) total() (secs float64, n int) {
	close(w.stop)
	<-w.done
	w.classifying.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, s := range w.usage {
		if w.ours[id] {
			secs += s
			n++
		}
	}
	return secs, n
}

func listGroups() []string {
	var ids []string
	for _, root := range []string{cgroupRoot, cgroup2Root} {
		ents, err := os.ReadDir(root)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name := e.Name()
			if !e.IsDir() {
				continue
			}
			name = strings.TrimSuffix(strings.TrimPrefix(name, "docker-"), ".scope")
			if len(name) == 64 {
				ids = append(ids, name)
			}
		}
	}
	return ids
}

// groupCPU reads a container's CPU seconds from its cgroup.
func groupCPU(id string) (float64, bool) {
	if b, err := os.ReadFile(filepath.Join(cgroupRoot, id, "cpuacct.usage")); err == nil {
		ns, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		return ns / 1e9, err == nil
	}
	b, err := os.ReadFile(filepath.Join(cgroup2Root, "docker-"+id+".scope", "cpu.stat"))
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "usage_usec "); ok {
			us, err := strconv.ParseFloat(v, 64)
			return us / 1e6, err == nil
		}
	}
	return 0, false
}
