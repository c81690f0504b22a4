package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// Daemon is `ferry serve` without its command line: the store, a runtime,
// the job queue with its workers, the scheduler, crash recovery and
// webhooks. Open prepares it (and recovers from an earlier crash), Run
// serves until its context ends and then shuts down gracefully, Close
// releases the store.
type Daemon struct {
	cfg        Config
	log        *slog.Logger
	db         *store.DB
	rt         runner.Runtime
	sweeper    Sweeper
	instanceID string
	owner      store.Owner
	now        func() time.Time
	hub        *hub
	hooks      *webhooks
	// lock is the data dir's lock, held from Open to Close.
	lock *dataDirLock
	// FirstStart is set when Open found an empty data dir.
	firstStart bool
	// leader is whether this replica held the scheduler's lease at its
	// last tick (for logging changes; scheduler goroutine only).
	leader bool

	// wake asks the dispatcher to look for work now (a trigger, a free
	// worker); capacity 1, so pokes coalesce.
	wake chan struct{}
	// slots is the worker semaphore: one token per running attempt.
	slots chan struct{}

	// mu guards running and draining. It is also held across a claim and
	// the registration of its attempt, and across a cancel's store update
	// and its lookup here, so a cancel can never fall between the two and
	// be lost.
	mu       sync.Mutex
	running  map[int64]*activeRun // by job ID
	draining bool
	attempts sync.WaitGroup
	// attemptsCtx is the parent of every attempt. It is not Run's context:
	// a shutdown first lets attempts finish (Shutdown.Grace) and only then
	// cancels this one with errShutdown.
	attemptsCtx  context.Context
	stopAttempts context.CancelCauseFunc

	// reserve is the data directory's reserved space, freed when the
	// store says the disk is full (reserve.go).
	reserve *spaceReserve

	// probes are test hooks; all nil in production.
	probes probes
	// localUser is the uid:gid that can write the local root, which
	// strict destinations run as (LocalRootUser); "" when unknown.
	localUser string
}

// Options are the parts of a Daemon that tests and cmd/ferry inject.
type Options struct {
	// Logger receives the daemon's structured log; nil discards it.
	Logger *slog.Logger
	// Runtime runs connectors; nil chooses one from Config.Runtime
	// (ChooseRuntime).
	Runtime runner.Runtime
	// Sweeper removes leftover containers and volumes; nil uses the
	// runtime when it implements Sweeper, else nothing is swept.
	Sweeper Sweeper
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// HTTPClient posts webhooks; nil builds one with Webhooks.Timeout.
	HTTPClient *http.Client
	// Bootstrap registers the reference connectors and the demo connection
	// when the data dir is new (`ferry serve` sets it; tests mostly not).
	Bootstrap bool
	// NoDemo leaves the demo connection out of the bootstrap.
	NoDemo bool
	// LeaseNow is the clock of leases and heartbeats; nil is time.Now.
	LeaseNow func() time.Time
}

var (
	// errUserCancel is the cancel cause of an attempt the user stopped.
	errUserCancel = errors.New("cancelled by the user")
	// errShutdown is the cancel cause of attempts still running when the
	// shutdown grace ran out: they are retried at the next start.
	errShutdown = errors.New("the daemon shut down during the attempt")
)

// Open validates cfg, creates the data dir, reads or creates the instance
// ID and the secrets key, opens the store, chooses the runtime, and
// recovers what an earlier process of this instance left behind (G6).
func Open(ctx context.Context, cfg Config, opts Options) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	for _, dir := range []string{cfg.DataDir, cfg.LogDir(), cfg.LocalRoot()} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
	}
	// Lock before anything else: the instance ID, the key and the store's
	// migrations are for one process at a time, and so is recovery.
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	opened := false
	defer func() {
		if !opened {
			lock.release()
		}
	}()
	id, created, err := loadOrCreateInstanceID(cfg.InstanceFile())
	if err != nil {
		return nil, err
	}
	if cfg.Replica.ID != "" {
		id = cfg.Replica.ID
	}
	db, err := openDatabase(ctx, cfg, now, opts.LeaseNow, log)
	if err != nil {
		return nil, err
	}
	d := &Daemon{
		lock:       lock,
		cfg:        cfg,
		log:        log.With("component", "daemon"),
		db:         db,
		instanceID: id,
		owner:      store.Owner{InstanceID: id, PID: os.Getpid(), BootID: newBootID()},
		now:        now,
		hub:        newHub(),
		firstStart: created,
		wake:       make(chan struct{}, 1),
		slots:      make(chan struct{}, cfg.Workers.Count),
		running:    map[int64]*activeRun{},
	}
	if !cfg.Shared() {
		// A shared store's disk is the database server's, not this one.
		d.reserve = newSpaceReserve(cfg.DataDir, log.With("component", "daemon"))
		d.reserve.ensure()
	}
	d.attemptsCtx, d.stopAttempts = context.WithCancelCause(context.Background())
	d.hooks = newWebhooks(cfg.Webhooks, db, opts.HTTPClient, log, now)
	if d.rt = opts.Runtime; d.rt == nil {
		if d.rt, err = ChooseRuntime(ctx, cfg, id, log); err != nil {
			db.Close()
			return nil, err
		}
	}
	if d.rt.Name() == RuntimeDocker {
		d.localUser = LocalRootUser(cfg.LocalRoot(), d.log)
	}
	d.sweeper = opts.Sweeper
	if s, ok := d.rt.(Sweeper); ok && d.sweeper == nil {
		d.sweeper = s
	}
	d.log.Info("daemon opened", "instance", id, "data_dir", cfg.DataDir, "runtime", d.rt.Name(),
		"workers", cfg.Workers.Count, "first_start", created, "database", db.Backend(), "database_location", db.Path())
	if err := d.registerReplica(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := d.recover(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if opts.Bootstrap {
		here, err := d.bootstrapHere(ctx)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("first start: %w", err)
		}
		if !here {
			opts.Bootstrap = false
		}
	}
	if opts.Bootstrap {
		if err := d.bootstrap(ctx, !opts.NoDemo); err != nil {
			db.Close()
			return nil, fmt.Errorf("first start: %w", err)
		}
	}
	opened = true
	return d, nil
}

// Store returns the daemon's store, for the web package.
func (d *Daemon) Store() *store.DB { return d.db }

// Jobs returns the job controller, for the web package.
func (d *Daemon) Jobs() JobController { return d }

// InstanceID returns the ID on this instance's container labels.
func (d *Daemon) InstanceID() string { return d.instanceID }

// Runtime returns the runtime connectors run on.
func (d *Daemon) Runtime() runner.Runtime { return d.rt }

// Config returns the configuration the daemon runs with.
func (d *Daemon) Config() Config { return d.cfg }

// Run serves until ctx ends: the dispatcher claims jobs into the worker
// pool, the scheduler creates scheduled jobs, and old attempt logs are
// pruned. When ctx ends it shuts down gracefully: no new attempt starts,
// running ones get Shutdown.Grace to finish, then they are cancelled (their
// acknowledged state is committed and their jobs are retried at the next
// start), and pending webhooks get a last chance. Run returns nil after a
// clean shutdown.
func (d *Daemon) Run(ctx context.Context) error {
	// The heartbeat outlives ctx: attempts finishing in the shutdown's
	// grace keep their leases until they end.
	beatCtx, stopBeat := context.WithCancel(context.WithoutCancel(ctx))
	beatDone := make(chan struct{})
	go func() { defer close(beatDone); d.heartbeatLoop(beatCtx) }()
	defer func() { stopBeat(); <-beatDone }()
	var loops sync.WaitGroup
	loops.Add(3)
	go func() { defer loops.Done(); d.dispatchLoop(ctx) }()
	go func() { defer loops.Done(); d.scheduleLoop(ctx) }()
	go func() { defer loops.Done(); d.pruneLoop(ctx) }()
	d.log.Info("serving", "runtime", d.rt.Name(), "workers", d.cfg.Workers.Count)
	<-ctx.Done()
	loops.Wait()
	d.shutdown()
	return nil
}

// shutdown waits for running attempts, cancels what is left after the
// grace period, and flushes webhooks.
func (d *Daemon) shutdown() {
	d.mu.Lock()
	d.draining = true
	n := len(d.running)
	d.mu.Unlock()
	if n > 0 {
		d.log.Info("shutting down: waiting for running attempts", "running", n, "grace", d.cfg.Shutdown.Grace)
	}
	done := make(chan struct{})
	go func() { d.attempts.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d.cfg.Shutdown.Grace):
		d.log.Warn("shutdown grace over: cancelling running attempts", "grace", d.cfg.Shutdown.Grace)
		d.stopAttempts(errShutdown)
		select {
		case <-done:
		case <-time.After(d.cfg.Shutdown.CancelWait):
			d.log.Error("attempts did not stop after cancel; the next start recovers them", "wait", d.cfg.Shutdown.CancelWait)
		}
	}
	d.hooks.close(d.cfg.Webhooks.Timeout)
	d.log.Info("shut down")
}

// Close releases the store. Call it after Run returned.
func (d *Daemon) Close() error {
	d.stopAttempts(errShutdown)
	d.leaveReplicas()
	err := d.db.Close()
	d.lock.release()
	return err
}

// poke wakes the dispatcher.
func (d *Daemon) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// openDatabase opens the database the config names with the secrets key, and
// checks that the key is the one the database's secrets were sealed with.
func openDatabase(ctx context.Context, cfg Config, now, leaseNow func() time.Time, log *slog.Logger) (*store.DB, error) {
	var key *store.Key
	var err error
	if cfg.Store.SecretKeyFile != "" {
		key, err = store.LoadKeyFile(cfg.Store.SecretKeyFile)
	} else {
		key, err = store.LoadOrCreateKey(cfg.DataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	target, err := cfg.DatabaseTarget()
	if err != nil {
		return nil, err
	}
	opts := []store.Option{store.WithKey(key), store.WithNow(now), store.WithBusyTimeout(cfg.Store.BusyTimeout),
		store.WithLease(cfg.Replica.Lease)}
	opts = append(opts, failpointStoreOptions()...)
	if leaseNow != nil {
		opts = append(opts, store.WithLeaseClock(leaseNow))
	}
	db, err := store.Open(ctx, target, opts...)
	if err != nil {
		return nil, err
	}
	if err := db.CheckKey(ctx); err != nil {
		if !cfg.Shared() && errors.Is(err, store.ErrKeyMismatch) {
			// One process, its own data dir: a replaced key file shows
			// up as config errors on the affected connections, as before.
			log.Warn("secrets key", "error", err)
			return db, nil
		}
		db.Close()
		return nil, err
	}
	return db, nil
}
