// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * liveupdated: the Live Update Orchestrator in user space.
 *
 * Start-up (fresh, or from a handover after a reboot), signals, the host
 * callbacks the core calls, shut-down.  A foreground process: it logs to
 * stderr and stops cleanly on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "activation.h"
#include "daemon.h"
#include "discard.h"
#include "fdlimit.h"
#include "handlers.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "luo_core.h"
#include "luo_wire.h"
#include "pool.h"
#include "privs.h"
#include "records.h"
#include "transport.h"
#include "vault.h"
#include "worker.h"

/**
 * luod_now_ns() - CLOCK_MONOTONIC in nanoseconds; it runs on across exec
 *
 * Return: the time.
 */
uint64_t luod_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int host_reboot(void *ctx, struct luo_reboot *arg, int exec_fd)
{
	return reboot_run(ctx, arg, exec_fd);
}

static int host_upgrade(void *ctx, struct luo_upgrade *arg, int exec_fd)
{
	return upgrade_run(ctx, arg, exec_fd);
}

static int host_pool_memfd(void *ctx, struct luo_pool_memfd *arg,
			   uint32_t uid, int *out_fd)
{
	struct luod *d = ctx;
	int r;

	if (!d->pool)
		return -EOPNOTSUPP;
	r = pool_new_file(d->pool, arg->flags & LUO_POOL_ALLOW_SEALING, uid,
			  out_fd);
	if (!r)
		log_debug("pool file '%s' for uid %u", arg->name, uid);
	return r;
}

static int host_reboot_kexec(void *ctx, struct luo_reboot_kexec *arg)
{
	return kexec_run(ctx, arg);
}

static void host_status(void *ctx, struct luo_status *st)
{
	struct luod *d = ctx;

	st->flags = 0;
	if (d->tp && transport_device_held(d->tp))
		st->flags |= LUO_STATUS_DEVICE_OPEN;
	if (d->rebooting)
		st->flags |= LUO_STATUS_REBOOTING;
	if (d->opt.handlers == LUO_HANDLERS_KERNEL)
		st->flags |= LUO_STATUS_KERNEL_HANDLERS;
	if (worker_busy())
		st->flags |= LUO_STATUS_WORKING;
	st->pid = (uint32_t)getpid();
	st->last_reboot_ns = d->last_reboot_ns;
	snprintf(st->version, sizeof(st->version), "%s", LUO_VERSION);
	st->failed_reboots = d->failed_reboots;
	st->last_reboot_error = d->last_error;
	snprintf(st->last_reboot_failure, sizeof(st->last_reboot_failure),
		 "%s", d->last_failure);
	st->takeover_ms = d->opt.rb.takeover_ms;
}

static void host_log(void *ctx, int level, const char *msg)
{
	log_msg(level, "%s", msg);
}

static void signal_ready(struct loop_source *src, uint32_t events)
{
	struct luod *d = container_of(src, struct luod, sig);
	struct signalfd_siginfo si;

	if (read(src->fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_notice("%s: shutting down", strsignal((int)si.ssi_signo));
	loop_quit(d->loop);
}

/*
 * SIGTERM and SIGINT through a signalfd.  They stay blocked across a
 * reboot's exec, so one arriving meanwhile is pending for the new image.
 */
static int luod_signals(struct luod *d)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	d->sig.fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sig.fd < 0)
		return -errno;
	d->sig.ready = signal_ready;
	return loop_add(d->loop, &d->sig, EPOLLIN);
}

/*
 * Closes of clients' files, and waits for opens that a lease holds up, go
 * to the worker's threads: the loop never blocks on a file a client chose.
 */
static int luod_worker(struct luod *d)
{
	static const struct luo_handler_host host = {
		.close_fd = worker_close_cb, .open_wait = worker_open_wait,
	};
	int r = worker_start(d->loop);

	if (!r)
		luo_handlers_set_host(&host);
	return r;
}

static int luod_new_core(struct luod *d)
{
	struct luo_core_config cfg = {
		.max_sessions = d->opt.max_sessions,
		.max_files = d->opt.max_files,
		.max_sessions_per_user = d->opt.acc.lim.sessions_per_user,
		.max_files_per_user = d->opt.acc.lim.files_per_user,
		.host = {
			.reboot = host_reboot, .upgrade = host_upgrade,
			.pool_memfd = host_pool_memfd,
			.reboot_kexec = host_reboot_kexec,
			.status = host_status,
			.log = host_log, .close_fd = worker_close_cb, .ctx = d,
		},
	};
	int r = 0;

	d->core = luo_core_new(&cfg);
	if (!d->core)
		return -ENOMEM;
	/* First: memfd-v2 would take the files of a pool on tmpfs. */
	if (d->pool) {
		char kept[PATH_MAX + sizeof(POOL_KEPT_DIR) + 1];

		snprintf(kept, sizeof(kept), "%s/%s", d->pool->path,
			 POOL_KEPT_DIR);
		r = luo_register_file_handler(d->core,
					      luo_pool_handler(d->pool->dev,
							       kept));
	}
	/* Before memfd, which would take the fault files. */
	if (!r && d->opt.fault_injection)
		r = luo_register_fault_handler(d->core, &d->fault);
	if (!r && d->fault)
		log_warn("fault injection on: memfds named luo-fault:* fail on purpose");
	r = r ?: luo_register_handler_set(d->core, d->opt.handlers);
	if (!r)
		log_info("file handlers: %s (--handlers)",
			 luo_handler_set_name(d->opt.handlers));
	return r;
}

/* Each turn of the loop that changed something ends with a commit. */
static void luod_after_batch(void *ctx)
{
	struct luod *d = ctx;

	transport_commit(d->tp);
	records_flush(d->rec);
}

/*
 * The vault died: a new one gets everything, or we serve on without; under
 * a service manager's fd store we end, and the manager restarts the unit.
 */
static void vault_gone(struct loop_source *src)
{
	struct luod *d = container_of(src, struct luod, vault);
	int sock;

	records_vault_dead(d->rec);
	loop_remove(d->loop, src);
	src->fd = -1;
	log_err("the vault is gone; starting a new one");
	sock = vault_respawn(d);
	if (sock < 0) {
		log_err("cannot start a new vault: %s", strerror(-sock));
		records_lost(d->rec);
		return;
	}
	/* Under the number --vault-fd names: it crosses a REBOOT's exec. */
	records_relink(d->rec, -1);
	if (sock != d->opt.vault_fd && dup2(sock, d->opt.vault_fd) >= 0) {
		close(sock);
		sock = d->opt.vault_fd;
	}
	records_relink(d->rec, sock);
	src->fd = sock;
	if (loop_add(d->loop, src, EPOLLRDHUP)) {
		src->fd = -1;
		records_lost(d->rec);
		return;
	}
	/* A full account to the new vault at once. */
	transport_mark_dirty(d->tp);
	transport_commit(d->tp);
	records_flush(d->rec);
}

static void vault_ready(struct loop_source *src, uint32_t events)
{
	struct luod *d = container_of(src, struct luod, vault);

	(void)events;
	/* Late answers to VAULT_SYNC, or EOF. */
	if (!records_vault_read(d->rec))
		return;
	vault_gone(src);
}

/* STATUS's counters go with every commit: a recovery reads them back. */
static void luod_commit(void *ctx)
{
	struct luod *d = ctx;

	reboot_stats_save(d);
	records_commit(d->rec);
}

/* --vault-fd: we are the vault's engine; records before every reply. */
static int luod_records(struct luod *d)
{
	int r;

	if (d->opt.vault_fd < 0)
		return 0;
	if (d->opt.records_fd < 0)
		return -EINVAL;
	r = records_open(&d->rec, d->opt.vault_fd, d->opt.records_fd);
	if (r)
		return r;
	records_attach(d->rec, d->core, d->tp);
	transport_set_records(d->tp, luod_commit, d,
			      records_inflight_word(d->rec));
	loop_set_after(d->loop, luod_after_batch, d);
	d->vault.fd = d->opt.vault_fd;
	d->vault.ready = vault_ready;
	d->vault.hangup = vault_gone;
	return loop_add(d->loop, &d->vault, EPOLLRDHUP);
}

/* The vault holds everything we serve with from now on. */
static void luod_records_serving(struct luod *d)
{
	if (!d->rec)
		return;
	transport_mark_dirty(d->tp);
	transport_commit(d->tp);
	*records_inflight_word(d->rec) = -1;
	records_serving(d->rec);
}

/* --pool: a device is mounted next to the socket, in the runtime dir. */
static int luod_pool(struct luod *d)
{
	char path[PATH_MAX], *slash;
	int r = 0;

	if (!d->opt.pool)
		return 0;
	if (d->opt.socket)
		snprintf(path, sizeof(path), "%s", d->opt.socket);
	else
		r = listen_default_path(path, sizeof(path));
	slash = strrchr(path, '/');
	if (r || !slash || strlen(path) + 8 > sizeof(path))
		snprintf(path, sizeof(path), "/run/liveupdate/pool");
	else
		strcpy(slash, "/pool");
	return pool_open(&d->pool, d->opt.pool, d->opt.pool_format, path,
			 d->opt.max_pool_per_user);
}

static int luod_setup(struct luod *d)
{
	int r;

	d->self_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	if (d->self_fd < 0 || fcntl(d->self_fd, F_SETFD, FD_CLOEXEC) < 0)
		log_warn("cannot open /proc/self/exe: %m; REBOOT needs an executable");
	d->loop = loop_new();
	if (!d->loop)
		return -errno;
	r = luod_signals(d);
	if (!r)
		r = luod_pool(d);
	if (!r)
		r = luod_worker(d);
	if (!r)
		r = luod_new_core(d);
	if (!r && !(d->tp = transport_new(d->core, d->loop)))
		r = -ENOMEM;
	if (!r) {
		access_init(&d->access, &d->opt.acc.lim);
		transport_set_access(d->tp, &d->access, d->opt.acc.max_pending);
		transport_set_conn_limit(d->tp, d->opt.conns_per_user);
		r = luod_records(d);
	}
	if (r)
		log_err("cannot start: %s", strerror(-r));
	return r;
}

/**
 * luod_listen() - the listening socket of a fresh start
 * @d: the daemon, its transport not listening yet
 *
 * The one a service manager passed (socket activation), else a new one at
 * --socket or the default path.  Also what a recovery makes when the
 * records' socket is not back (recover.c).
 *
 * Return: 0 or -errno (logged).
 */
int luod_listen(struct luod *d)
{
	char path[PATH_MAX];
	int r = activation_adopt(d->tp, d->opt.vault_fd >= 0);

	if (r)
		return r < 0 ? r : 0;
	if (d->opt.socket)
		snprintf(path, sizeof(path), "%s", d->opt.socket);
	else
		r = listen_default_path(path, sizeof(path));
	if (r) {
		log_err("no socket path: set --socket, %s or XDG_RUNTIME_DIR",
			LUO_SOCKET_ENV);
		return r;
	}
	return transport_listen(d->tp, path, d->opt.acc.lim.group);
}

static void luod_ready(struct luod *d)
{
	static const char msg[] = "READY=1\n";

	if (d->opt.ready_fd < 0)
		return;
	if (write(d->opt.ready_fd, msg, sizeof(msg) - 1) < 0)
		log_warn("--ready-fd %d: %m", d->opt.ready_fd);
	close(d->opt.ready_fd);
	d->opt.ready_fd = -1;
}

/* What the daemon keeps: more with a pool, more with its quota. */
static int luod_privs_drop(struct luod *d)
{
	return privs_drop(d->pool != NULL, d->pool && d->pool->quota);
}

static int luod_start(struct luod *d)
{
	int r;

	if (d->opt.recover) {
		r = recover_run(d) ?: luod_privs_drop(d);
		if (!r) {
			luod_records_serving(d);
			/* The vault says whether its socket is the manager's. */
			activation_takeover(d->tp);
			/* READY=1 again: a crash may have cut an UPGRADE. */
			notify_serving();
			notify_status_start(d);
		}
		return r;
	}
	if (d->opt.handover_fd >= 0) {
		r = reboot_takeover(d) ?: luod_privs_drop(d);
		if (!r) {
			luod_records_serving(d);
			activation_takeover(d->tp);
			notify_status_start(d);
		}
		return r;
	}
	/* After a kexec: the sessions of the kernel before, from the pool. */
	r = d->pool ? pool_takeover(d->pool, d->core) : 0;
	if (r)
		return r;
	r = luod_listen(d);
	if (!r)
		r = luod_privs_drop(d);
	if (r)
		return r;
	luod_records_serving(d);
	/* First: --ready-fd tells that all is said.  A vault says it itself. */
	if (!d->rec)
		notify_serving();
	notify_status_start(d);
	luod_ready(d);
	log_notice("liveupdated %s serving, update %llu", LUO_VERSION,
		   (unsigned long long)luo_core_update_number(d->core));
	return 0;
}

static void luod_teardown(struct luod *d)
{
	notify_status_stop(d);
	transport_free(d->tp);
	luo_core_free(d->core);
	luo_fault_free(d->fault);
	worker_stop(WORKER_STOP_MS);
	luo_handlers_set_host(NULL);
	if (d->sig.fd >= 0) {
		loop_remove(d->loop, &d->sig);
		close(d->sig.fd);
	}
	loop_free(d->loop);
	if (d->self_fd >= 0)
		close(d->self_fd);
	if (d->opt.ready_fd >= 0)
		close(d->opt.ready_fd);
	if (d->opt.rb.rollback_fd >= 0)
		close(d->opt.rb.rollback_fd);
	if (d->opt.rb.keeper_fd >= 0)
		close(d->opt.rb.keeper_fd);
	records_free(d->rec);
	pool_free(d->pool);
	free(d->inherited);
	free(d->argv);
}

/*
 * SIGTERM or SIGINT under a service manager's fd store: the store holds
 * the last commit, which a restart of the unit recovers (systemctl
 * restart keeps the store; stop lets the manager drop it, and with it
 * everything).  Nothing is discarded and no connection is shut down, as a
 * teardown would: the engine just ends, as at a crash, but with status 0.
 */
static void luod_leave_to_store(void)
{
	log_notice("stopping under the service manager's fd store: the sessions stay there for a restart of the unit");
	_exit(0);
}

/*
 * Are we the vault (the default) rather than one process?  Not an engine
 * (--vault-fd), unless it adopts one; and not an image a REBOOT or an
 * UPGRADE of a daemon without a vault executes (--handover-fd without
 * --vault-fd: an earlier release, or --no-vault), which stays one process.
 */
static bool luod_is_vault(const struct luod_options *o)
{
	if (o->vault_adopt)
		return true;
	return o->vault && o->vault_fd < 0 && o->handover_fd < 0 &&
	       !o->recover;
}

int main(int argc, char **argv)
{
	struct luod d = { .self_fd = -1, .sig.fd = -1, .vault.fd = -1 };
	int r;

	d.argv = calloc((size_t)argc + 1, sizeof(*d.argv));
	if (!d.argv)
		return 1;
	memcpy(d.argv, argv, (size_t)argc * sizeof(*argv));
	r = options_parse(&d.opt, argc, argv);
	if (r) {
		free(d.argv);
		return r > 0 ? 0 : 1;
	}
	log_init(d.opt.log_level);
	if (d.opt.recover &&
	    recover_inherited(&d.inherited, &d.nr_inherited))
		log_warn("recovery: cannot list the fds the vault gave");
	if (luod_is_vault(&d.opt)) {
		r = vault_main(&d.opt, d.argv);
		free(d.argv);
		return r;
	}
	if (d.opt.vault_fd >= 0)
		notify_set_engine();
	fdlimit_clamp(fdlimit_raise(), &d.opt.max_sessions, &d.opt.max_files);
	r = luod_setup(&d);
	if (r && d.opt.handover_fd >= 0)
		reboot_refuse(&d, r, "cannot start");
	if (!r)
		r = luod_start(&d);
	if (!r) {
		r = loop_run(d.loop);
		if (!r && records_in_store(d.rec))
			luod_leave_to_store();
		discard_log(d.core, "stopping");
	}
	luod_teardown(&d);
	return r ? 1 : 0;
}
