package kube

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/ferrysync/ferry/runner"
)

var listOne = metav1.ListOptions{Limit: 1}

// watchPod calls check with the pod as it is and with every change until
// check is done, ctx ends or the pod is gone (check gets nil then). It
// watches from the version it read, so no change between is missed.
func (p *podRun) watchPod(ctx context.Context, check func(*corev1.Pod) (bool, error)) error {
	pods := p.r.core.Pods(p.r.opts.Namespace)
	for {
		pod, err := pods.Get(ctx, p.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err := check(nil)
			return err
		}
		if err != nil {
			return err
		}
		if done, err := check(pod); done || err != nil {
			return err
		}
		w, err := pods.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", p.name).String(),
			ResourceVersion: pod.ResourceVersion,
		})
		if err != nil {
			return err
		}
		done, err := p.follow(w, check)
		w.Stop()
		if done || err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		// The watch ended (a timeout of the server's): read again.
	}
}

func (p *podRun) follow(w watch.Interface, check func(*corev1.Pod) (bool, error)) (bool, error) {
	for ev := range w.ResultChan() {
		switch ev.Type {
		case watch.Deleted:
			_, err := check(nil)
			return true, err
		case watch.Added, watch.Modified:
			if pod, ok := ev.Object.(*corev1.Pod); ok {
				if done, err := check(pod); done || err != nil {
					return true, err
				}
			}
		case watch.Error:
			return false, nil // read again from a fresh version
		}
	}
	return false, nil
}

// imageReasons are the waiting reasons of an image that is not there.
var imageReasons = map[string]bool{
	"ErrImageNeverPull": true, "ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true,
}

// createReasons are waiting reasons of a container that cannot be made.
var createReasons = map[string]bool{
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
}

// waitRunning waits until the member's container runs. The pod's init
// container (the shim's install) must succeed first.
func (p *podRun) waitRunning(ctx context.Context, m podMember) error {
	return p.watchPod(ctx, func(pod *corev1.Pod) (bool, error) {
		if pod == nil {
			return true, fmt.Errorf("kubernetes: pod %s was deleted before %s started", p.name, m.container)
		}
		if err := p.initFailure(pod); err != nil {
			return true, err
		}
		cs := containerStatus(pod.Status.ContainerStatuses, m.container)
		if cs != nil {
			switch {
			case cs.State.Running != nil, cs.State.Terminated != nil:
				return true, nil
			case cs.State.Waiting != nil && imageReasons[cs.State.Waiting.Reason]:
				return true, &runner.ImageNotFoundError{Image: m.spec.Image,
					Hint: fmt.Sprintf("the cluster cannot get it (%s: %s)", cs.State.Waiting.Reason, cs.State.Waiting.Message)}
			case cs.State.Waiting != nil && createReasons[cs.State.Waiting.Reason]:
				return true, fmt.Errorf("kubernetes: container %s of pod %s cannot start: %s: %s", m.container, p.name,
					cs.State.Waiting.Reason, cs.State.Waiting.Message)
			}
		}
		if pod.Status.Phase == corev1.PodFailed {
			return true, podLost(pod, "")
		}
		return false, nil
	})
}

// initFailure reports an init container that cannot run or failed.
func (p *podRun) initFailure(pod *corev1.Pod) error {
	for _, cs := range pod.Status.InitContainerStatuses {
		switch {
		case cs.State.Waiting != nil && imageReasons[cs.State.Waiting.Reason]:
			return &runner.ImageNotFoundError{Image: p.r.opts.HelperImage,
				Hint: fmt.Sprintf("Ferry's helper image, which puts the shim into each pod; the cluster cannot get it (%s: %s)",
					cs.State.Waiting.Reason, cs.State.Waiting.Message)}
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
			return fmt.Errorf("kubernetes: the shim's install in pod %s failed: exit code %d %s", p.name,
				cs.State.Terminated.ExitCode, cs.State.Terminated.Message)
		}
	}
	return nil
}

// waitTerminated waits until the member's container has ended and returns
// its exit status. A pod deleted or failed by someone else (kubectl
// delete, eviction, node loss) is an error naming the Kubernetes reason.
func (p *podRun) waitTerminated(ctx context.Context, m podMember) (runner.ExitStatus, error) {
	var status runner.ExitStatus
	var lostErr error
	err := p.watchPod(context.WithoutCancel(ctx), func(pod *corev1.Pod) (bool, error) {
		if pod == nil {
			return true, &PodLostError{Pod: p.name, Reason: deletedReason}
		}
		if pod.DeletionTimestamp != nil && !p.deletedByFerry() && lostErr == nil {
			lostErr = podLost(pod, deletedReason)
		}
		if pod.Status.Phase == corev1.PodFailed && pod.Status.Reason != "" && lostErr == nil {
			lostErr = podLost(pod, "")
		}
		cs := containerStatus(pod.Status.ContainerStatuses, m.container)
		if cs == nil || cs.State.Terminated == nil {
			return false, nil
		}
		t := cs.State.Terminated
		status.Code = int(t.ExitCode)
		status.OOMKilled = t.Reason == "OOMKilled"
		return true, nil
	})
	if lostErr != nil && !status.Success() {
		return status, lostErr
	}
	return status, err
}

// deletedReason is why a pod that someone else deleted was lost.
const deletedReason = "it was deleted (kubectl delete pod, or the node is draining)"

// podLost describes a pod that failed for a reason of Kubernetes' own.
func podLost(pod *corev1.Pod, what string) error {
	var why []string
	if what != "" {
		why = append(why, what)
	}
	if pod.Status.Reason != "" {
		why = append(why, pod.Status.Reason)
	}
	if pod.Status.Message != "" {
		why = append(why, pod.Status.Message)
	}
	if len(why) == 0 {
		why = append(why, "phase "+string(pod.Status.Phase))
	}
	return &PodLostError{Pod: pod.Name, Reason: strings.Join(why, ": ")}
}

// PodLostError is a pod that Kubernetes or someone else ended while its
// connectors ran.
type PodLostError struct {
	Pod    string
	Reason string
}

func (e *PodLostError) Error() string {
	return fmt.Sprintf("kubernetes: pod %s was lost: %s", e.Pod, e.Reason)
}

func (p *podRun) deletedByFerry() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.deleting
}

// waitGone waits until the pod no longer exists.
func (p *podRun) waitGone(ctx context.Context) error {
	return p.watchPod(ctx, func(pod *corev1.Pod) (bool, error) { return pod == nil, nil })
}

// pendingReason says why a pod has not started, for a start timeout.
func (p *podRun) pendingReason(ctx context.Context) string {
	cctx, cancel := detached(ctx, cleanupTimeout)
	defer cancel()
	pod, err := p.r.core.Pods(p.r.opts.Namespace).Get(cctx, p.name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	for _, c := range pod.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Message != "" {
			return fmt.Sprintf(": %s %s: %s", c.Type, c.Reason, c.Message)
		}
	}
	for _, cs := range append(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return fmt.Sprintf(": container %s waiting: %s %s", cs.Name, w.Reason, w.Message)
		}
	}
	return ": phase " + string(pod.Status.Phase)
}

func containerStatus(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}
