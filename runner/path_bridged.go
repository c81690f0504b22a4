package runner

import (
	"context"
	"io"
	"path/filepath"

	"github.com/ferrysync/ferry/protocol/protobuf"
)

// bridgedPath is bridged mode: the source speaks sockets and the
// destination only stdio. Ferry connects to the source's sockets itself
// (bridge), merges them into one ordered stream and forwards it as in stdio
// mode, while a second pump keeps the books of the source's stdout (logs,
// traces, control; its state copies are ignored, since the socket copies
// are the ones ordered with the records).
//
// Ferry reaches the sockets directly, in a directory it shares with the
// source (Mode.Bridge BridgeDirect), or through the relay container on the
// attempt's socket volume (BridgeRelay), when the source cannot see Ferry's
// directories: Ferry runs in a container itself (see ResolveBridge).
type bridgedPath struct {
	a       *attempt
	m       Mode
	rt      Runtime
	catalog *protobuf.Catalog
	dir     string // direct: the directory the source listens in
	volume  string // relay: the socket volume
	// socketVolume creates the socket volume (the relay's transport).
	socketVolume func(context.Context) (string, func(), error)
}

func (p *bridgedPath) mode() Mode { return p.m }

func (p *bridgedPath) prepare(ctx context.Context) (string, func(), error) {
	if p.m.Bridge == BridgeRelay {
		vol, cleanup, err := p.socketVolume(ctx)
		p.volume = vol
		return vol, cleanup, err
	}
	dir, cleanup, err := bridgeDir()
	p.dir = dir
	return dir, cleanup, err
}

func (p *bridgedPath) forward(ctx context.Context, w *wiring) error {
	var link bridgeLink
	var rl *relayRun
	if p.m.Bridge == BridgeRelay {
		rl = p.startRelay(ctx)
		link = rl.link
	} else {
		paths := SocketPaths(p.m.Sockets)
		for i, sp := range paths {
			paths[i] = filepath.Join(p.dir, filepath.Base(sp))
		}
		link = linkDirect{paths: paths}
	}
	mergedR, mergedW := io.Pipe()
	br := &bridge{a: p.a, format: p.m.Format, link: link, catalog: p.catalog,
		connect: p.a.timeouts.SocketConnect, srcExited: w.srcExited}
	bridgeDone := make(chan struct{})
	go func() {
		defer close(bridgeDone)
		err := br.run(ctx, mergedW) // failures are recorded by the bridge
		if rl != nil {
			rl.finish(p.a, err)
		}
	}()
	// The bridge must be finished before the attempt's findings are read.
	defer func() { <-bridgeDone }()
	booksDone := make(chan error, 1)
	go func() {
		books := &pump{a: p.a, out: sourceCopies}
		booksDone <- w.stopSource(books.run(w.srcOut), w.srcOut)
	}()
	data := &pump{a: p.a, out: sourceData, dst: w.input}
	err := w.stopSource(data.run(watchedReader{r: mergedR, live: p.a.live}), mergedR)
	if berr := <-booksDone; err == nil {
		err = berr
	}
	return err
}

func (p *bridgedPath) destinationEnded(w *wiring, _ ExitStatus, err error) {
	stdinDestinationEnded(p.a, w, err)
}

func (p *bridgedPath) endInput(in *destinationInput, complete bool) error {
	return endRecordInput(p.a, in, complete)
}

func (p *bridgedPath) outputIsProgress() bool { return false }

// speaksSockets: only the source speaks sockets, to Ferry.
func (p *bridgedPath) speaksSockets(role Role) bool { return role == RoleSource }

func (p *bridgedPath) destinationCatalog(files map[string][]byte, _ map[string]string) error {
	return p.a.mappedCatalog(files)
}
