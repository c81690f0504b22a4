package kube

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrysync/ferry/runner"
)

// Sweep deletes the pods and Secrets labelled with instanceID except those
// keep holds on to (daemon.Sweeper). A Ferry replica that restarts sweeps
// its own: the attempts they served were failed as "daemon restarted" and
// are retried from committed state, so a pod is never adopted (its attach
// streams died with the old process, and the records in flight with them).
func (r *Runtime) Sweep(ctx context.Context, instanceID string, keep func(labels map[string]string) bool) (int, error) {
	if instanceID == "" {
		return 0, errors.New("sweep: an instance ID is required")
	}
	sel := metav1.ListOptions{LabelSelector: runner.LabelInstance + "=" + instanceID}
	pods, err := r.core.Pods(r.opts.Namespace).List(ctx, sel)
	if err != nil {
		return 0, fmt.Errorf("sweep: list pods: %w", err)
	}
	zero := int64(0)
	removed := 0
	var errs []error
	for _, p := range pods.Items {
		if keep != nil && keep(p.Labels) {
			continue
		}
		err := r.core.Pods(r.opts.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		switch {
		case err == nil:
			removed++
			r.log.Info("swept pod", "pod", p.Name)
		case !apierrors.IsNotFound(err):
			errs = append(errs, fmt.Errorf("sweep: delete pod %s: %w", p.Name, err))
		}
	}
	secrets, err := r.core.Secrets(r.opts.Namespace).List(ctx, sel)
	if err != nil {
		return removed, errors.Join(append(errs, fmt.Errorf("sweep: list secrets: %w", err))...)
	}
	for _, s := range secrets.Items {
		if keep != nil && keep(s.Labels) {
			continue
		}
		err := r.core.Secrets(r.opts.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{})
		switch {
		case err == nil:
			removed++
			r.log.Info("swept secret", "secret", s.Name)
		case !apierrors.IsNotFound(err):
			errs = append(errs, fmt.Errorf("sweep: delete secret %s: %w", s.Name, err))
		}
	}
	return removed, errors.Join(errs...)
}
