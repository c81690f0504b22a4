package runner

import "context"

// ImageInfo describes a connector image without running it.
type ImageInfo struct {
	// ID identifies the image's content: the Docker image ID, or a hash of
	// a local binary. Caches key on it.
	ID string
	// Labels are the image's labels (e.g. io.ferry.ipc-options); a local
	// binary has none.
	Labels map[string]string
}

// ImageInspector is implemented by runtimes that can describe an image
// without running it (both the docker and the local runtime do).
type ImageInspector interface {
	InspectImage(ctx context.Context, image string) (ImageInfo, error)
}
